#!/usr/bin/env bash
# tests/remote/run_remote.sh: runs every emu test binary ($B/tests/emu/) and the remote tests
# ($B/tests/remote/test_*) through the client library (owner: tests/remote/): LD_PRELOAD of
# $B/lib/bitfusion/client/libcuda.so.1 (the binaries' rpath names the emu, the preload wins by
# soname), against servers with the software GPU. The server is $BITFUSION_SERVER with
# $BITFUSION_CONFIG_DIR when both are set (a running bitfusiond; binaries that need a server
# configured otherwise are then skipped), else private bf_test_servers on unix sockets (plain
# frames, test-only) started and stopped here: one per distinct server configuration below.
# Cases that cannot pass remotely are excluded one by one (EXCLUDE, each with its reason): bft
# binaries get the list of their other cases as arguments; self-contained binaries run whole and
# the excluded cases' lines are taken out of their output and count.
# Output: tests/run.sh's (one line per binary, failing output, `N passed, M failed`), then the
# final line `cases: P passed, F failed`, so that tests/run.sh counts it as one of its suites
# (tests/run.sh's list next to tests/e2e/run_e2e.sh, or BF_EXTRA_SUITES=tests/remote/run_remote.sh).
# Exits non-zero when anything failed.
# Environment: B, TEST_FILTER, TEST_TIMEOUT (per binary, default 120), TEST_VERBOSE.
set -u
B=${B:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BABS=$(cd "$B" && pwd)
# TEST_FILTER selects binaries, unless it is what selected this script in tests/run.sh
FILTER=${TEST_FILTER:-}
[[ "run_remote.sh" == *"$FILTER"* ]] && FILTER=""
SHIM="$BABS/lib/bitfusion/client/libcuda.so.1"
EMU="$BABS/lib/bitfusion/emu/libcuda.so.1"
for f in "$SHIM" "$EMU" "$BABS/tests/remote/bf_test_server"; do
    [ -e "$f" ] || { echo "run_remote.sh: $f is missing (build with: make tests B=$B)" >&2; echo "cases: 0 passed, 1 failed"; exit 1; }
done

# What to preload: the client library, after the ASan runtime in sanitizer builds (it must come first).
PRELOAD=$SHIM
asan=$(ldd "$SHIM" 2>/dev/null | awk '/libasan/ { print $3; exit }')
[ -n "$asan" ] && PRELOAD="$asan:$SHIM"

# Whole binaries that are not remote tests.
EXCLUDE_BINS=(
  test_fatbin          # unit test of emu/fatbin.c compiled in; no driver calls
)

# Cases that cannot pass remotely: binary:case, then the reason.
EXCLUDE=(
  "test_api_device:env_configuration   configures the software GPU through BITFUSION_EMU_* set by the client process; a remote GPU's configuration is the server's"
  "test_api_device:env_bad_values      expects the software GPU's warnings about BITFUSION_EMU_* of the client process on its stderr; they belong to the server"
  "test_mem_alloc:managed              dereferences managed memory on the host; the remote GPU's memory is not in the client process"
  "test_mem_copy:linear_directions     dereferences device memory on the host (software GPU only: device memory is host memory there)"
  "test_mem_copy:async_ordering        expects an async copy from page-locked memory to read it when the stream gets there; the client sends it at the call (the remote GPU cannot read the client's memory later)"
  "test_mem_host:alloc_host            mapped host memory (cuMemHostGetDevicePointer): a remote GPU cannot reach the client's memory"
  "test_mem_host:register_host         mapped registered memory (cuMemHostGetDevicePointer): a remote GPU cannot reach the client's memory"
  "test_mem_copy:batches               NOT A LEGITIMATE EXCLUSION, a gap: cuMemcpyBatchAsync / cuMemcpy3DBatchAsync are not remoted yet (host operands need staging on the server); remove when they are"
  "test_mem_kernel:kernels_reach_every_kind   kernels store to mapped host memory and the host reads managed memory directly: neither exists across the network"
)

# Server configuration per binary: what its main() sets for the software GPU in-process (the
# GPU's configuration is the server's, so the binary gets a server configured that way).
server_env() {
    case "$1" in
    test_api_context) echo "BITFUSION_EMU_DEVICES=2" ;;
    test_api_errors)  echo "BITFUSION_EMU_LOG=warn" ;;
    test_mem_alloc)   echo "BITFUSION_EMU_MEMORY_MB=64" ;;
    test_mem_peer)    echo "BITFUSION_EMU_DEVICES=2 BITFUSION_EMU_MEMORY_MB=512" ;;
    test_mem_pool)    echo "BITFUSION_EMU_MEMORY_MB=256" ;;
    *)                echo "" ;;
    esac
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bf-remote.XXXXXX")
srv_pids=()
cleanup() {
    for p in "${srv_pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

external=0
if [ -n "${BITFUSION_SERVER:-}" ] && [ -n "${BITFUSION_CONFIG_DIR:-}" ]; then
    external=1
    echo "run_remote.sh: using the server at $BITFUSION_SERVER"
else
    echo "run_remote.sh: using private test servers in $tmp"
fi

# SOCK= the socket of a private server with configuration $1 (started on first use).
declare -A SOCKS=()
SOCK=
server_for() {
    local envs=$1 key=${1:-default}
    if [ -z "${SOCKS[$key]:-}" ]; then
        local n=${#SOCKS[@]} sock
        sock="$tmp/bf$n.sock"
        # shellcheck disable=SC2086
        env -u BITFUSION_EMU_DEVICES -u BITFUSION_EMU_MEMORY_MB -u BITFUSION_EMU_SMS -u BITFUSION_EMU_NAME \
            -u BITFUSION_EMU_CC -u BITFUSION_EMU_LOG $envs \
            "$BABS/tests/remote/bf_test_server" "$sock" "$EMU" 2>>"$tmp/server.log" &
        srv_pids+=($!)
        for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
        SOCKS[$key]=$sock
    fi
    SOCK=${SOCKS[$key]}
}

excluded_cases() {   # binary -> its excluded case names, one a line
    local e
    for e in "${EXCLUDE[@]}"; do
        e=${e%%[[:space:]]*}
        [ "${e%%:*}" = "$1" ] && echo "${e#*:}"
    done
}

# Stage the binaries: emu tests and remote tests, each as a wrapper in one directory for run.sh.
stage="$tmp/b/tests/emu"
mkdir -p "$stage"
ln -s "$BABS/tests/kernels" "$tmp/b/tests/kernels"
nexcl=0
for bin in "$BABS"/tests/emu/test_* "$BABS"/tests/remote/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=$(basename "$bin")
    case "$name" in *.o|*.d|*.so|*.so.*) continue ;; esac
    if [ -n "$FILTER" ] && [[ "$name" != *"$FILTER"* ]]; then continue; fi
    skip=0
    for x in "${EXCLUDE_BINS[@]}"; do [ "$x" = "$name" ] && skip=1; done
    [ $skip = 1 ] && continue
    envs=$(server_env "$name")
    if [ $external = 1 ]; then
        [ -n "$envs" ] && { echo "skip $name (needs a server with $envs)"; continue; }
        conn=""
    else
        server_for "$envs"
        conn="BITFUSION_TEST_PLAIN_UNIX=$SOCK"
    fi
    mapfile -t excl < <(excluded_cases "$name")
    nexcl=$((nexcl + ${#excl[@]}))
    args="" filter=""
    if [ ${#excl[@]} -gt 0 ]; then
        if "$bin" -l >/dev/null 2>&1 && grep -q bft_main "$ROOT/tests/emu/$name.c" 2>/dev/null; then
            # bft: run the other cases by name (names are substring filters: refuse an ambiguous list)
            for c in $("$bin" -l); do
                keep=1
                for x in "${excl[@]}"; do
                    [ "$c" = "$x" ] && keep=0
                    [ "$c" != "$x" ] && [[ "$x" == *"$c"* ]] && { echo "run_remote.sh: $name: case $c also selects excluded $x" >&2; }
                done
                [ $keep = 1 ] && args="$args $c"
            done
        else
            filter="${excl[*]}"
        fi
    fi
    {
        echo '#!/bin/sh'
        [ -n "$conn" ] && echo "export $conn"
        if [ -n "$filter" ]; then
            # a self-contained binary: drop the excluded cases' lines (and the failure lines before
            # them) and recount
            echo "LD_PRELOAD=\"$PRELOAD\${LD_PRELOAD:+:\$LD_PRELOAD}\" \"$bin\" \"\$@\" > \"\$0.out\" 2>&1"
            echo "rc=\$?"
            cat <<EOF
awk -v ex=" $filter " -v rc="\$rc" '
  /^(ok  |FAIL) [A-Za-z0-9_]+\$/ { if (index(ex, " " \$2 " ")) { buf = ""; next }
                                   if (\$1 == "ok") p++; else f++; printf "%s%s\n", buf, \$0; buf = ""; next }
  /^cases: / { seen = 1; next }
  { buf = buf \$0 "\n" }
  END { if (!seen) f++; printf "%s", buf; printf "cases: %d passed, %d failed, 0 skipped\n", p, f; exit (f || (rc && !p && !f)) ? 1 : 0 }' "\$0.out"
EOF
        else
            echo "exec env LD_PRELOAD=\"$PRELOAD\${LD_PRELOAD:+:\$LD_PRELOAD}\" \"$bin\"$args \"\$@\""
        fi
    } > "$stage/$name"
    chmod +x "$stage/$name"
done
echo "run_remote.sh: $nexcl cases excluded (see EXCLUDE in tests/remote/run_remote.sh)"
export BF_TEST_KERNELS="$BABS/tests/kernels"
export BF_REMOTE_TEST_SERVER="$BABS/tests/remote/bf_test_server" BF_REMOTE_EMU="$EMU"
# (run from $tmp: tests/run.sh's own suites, tests/e2e/run_e2e.sh and this script, are found
# relative to the working directory and must not run again inside)
(cd "$tmp" && B="$tmp/b" BF_EXTRA_SUITES="" TEST_FILTER="" TEST_TIMEOUT="${TEST_TIMEOUT:-120}" "$ROOT/tests/run.sh") | tee "$tmp/run.log"
rc=${PIPESTATUS[0]}
if [ "${TEST_VERBOSE:-0}" = 1 ] && [ -f "$tmp/server.log" ]; then sed 's/^/    server| /' "$tmp/server.log" | tail -50; fi
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/run.log" | tail -n 1)
[ -n "$last" ] || last="0 passed, 1 failed"
# the servers' sanitizer reports (their stderr is not the tests'): each counts as a failure
nsan=$(grep -cE '^==[0-9]+==ERROR: |runtime error: ' "$tmp/server.log" 2>/dev/null)
if [ "${nsan:-0}" -gt 0 ]; then
    echo "---- sanitizer reports of the test servers ----"
    grep -E -A12 '^==[0-9]+==ERROR: |runtime error: ' "$tmp/server.log" | head -200 | sed 's/^/    server| /'
    p=${last%% passed*}; f=${last##*passed, }; f=${f%% failed*}
    last="$p passed, $((f + nsan)) failed"
    rc=1
fi
[ $rc -ne 0 ] && [[ "$last" == *", 0 failed" ]] && last="${last%, 0 failed}, 1 failed"
echo "cases: $last"
exit $rc
