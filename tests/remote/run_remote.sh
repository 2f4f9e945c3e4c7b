#!/usr/bin/env bash
# tests/remote/run_remote.sh: runs every emu test binary ($B/tests/emu/) and the remote tests
# ($B/tests/remote/test_*) remotely (owner: tests/remote/), each as
#   BITFUSION_CONFIG_DIR=<bundle> $B/bin/bitfusion run -n 1 -- <binary> <case args>
# against real `bitfusiond --backend emu` servers (the software GPU) on 127.0.0.1 over TLS: a fresh
# cluster PKI (`bitfusiond pki init`), one bitfusiond per distinct server configuration below (its
# emu: settings in a bitfusiond.yaml written next to the PKI's, reused by every binary that needs
# it), one client bundle per server (`bitfusiond pki client ... --server 127.0.0.1:PORT`).
# `bitfusion run` preloads the client library itself (the binaries' rpath names the emu, the
# preload wins by soname); in sanitizer builds a trampoline puts the ASan runtime back in front of
# LD_PRELOAD. The servers are stopped at the end, and sanitizer reports in their logs count as
# failures.
# Other modes: BITFUSION_SERVER and BITFUSION_CONFIG_DIR both set: a running bitfusiond reached
# through that bundle (binaries that need a server configured otherwise are then skipped);
# REMOTE_MODE=plain (debugging only): LD_PRELOAD of the client library against private
# bf_test_servers on unix sockets (plain frames, test-only hook BITFUSION_TEST_PLAIN_UNIX).
# Cases that cannot pass remotely are excluded one by one (EXCLUDE, each with its reason): bft
# binaries get the list of their other cases as arguments; self-contained binaries run whole and
# the excluded cases' lines are taken out of their output and count.
# Output: tests/run.sh's (one line per binary, failing output, `N passed, M failed`), then the
# final line `cases: P passed, F failed`, so that tests/run.sh counts it as one of its suites
# (tests/run.sh's list next to tests/e2e/run_e2e.sh, or BF_EXTRA_SUITES=tests/remote/run_remote.sh).
# Exits non-zero when anything failed.
# Environment: B, REMOTE_MODE (bitfusiond, the default, or plain), TEST_FILTER, TEST_TIMEOUT (per
# binary, default 120), TEST_VERBOSE (1: also the tail of the server logs).
set -u
B=${B:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BABS=$(cd "$B" && pwd)
# TEST_FILTER selects binaries, unless it is what selected this script in tests/run.sh
FILTER=${TEST_FILTER:-}
[[ "run_remote.sh" == *"$FILTER"* ]] && FILTER=""
MODE=${REMOTE_MODE:-bitfusiond}
case "$MODE" in bitfusiond|plain) ;; *) echo "run_remote.sh: REMOTE_MODE must be bitfusiond or plain, not '$MODE'" >&2
    echo "cases: 0 passed, 1 failed"; exit 1 ;; esac
SHIM="$BABS/lib/bitfusion/client/libcuda.so.1"
EMU="$BABS/lib/bitfusion/emu/libcuda.so.1"
BITFUSIOND="$BABS/sbin/bitfusiond"
BITFUSION="$BABS/bin/bitfusion"
need=("$SHIM" "$EMU")
if [ "$MODE" = plain ]; then need+=("$BABS/tests/remote/bf_test_server"); else need+=("$BITFUSIOND" "$BITFUSION"); fi
for f in "${need[@]}"; do
    [ -e "$f" ] || { echo "run_remote.sh: $f is missing (build with: make all B=$B)" >&2; echo "cases: 0 passed, 1 failed"; exit 1; }
done

# The ASan runtime of sanitizer builds: it must come first in LD_PRELOAD.
asan=$(ldd "$SHIM" 2>/dev/null | awk '/libasan/ { print $3; exit }')
# plain mode: what to preload (the client library, after the ASan runtime in sanitizer builds)
PRELOAD=$SHIM
[ -n "$asan" ] && PRELOAD="$asan:$SHIM"

# Whole binaries that are not remote tests.
EXCLUDE_BINS=(
  test_fatbin          # unit test of emu/fatbin.c compiled in; no driver calls
  test_lease_parse     # unit tests of the client's lease code (proto/): no driver calls
  test_lease_client
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
  "test_mem_kernel:kernels_reach_every_kind   kernels store to mapped host memory and the host reads managed memory directly: neither exists across the network"
  "test_emu_config:visible_devices_select_and_order   sets CUDA_VISIBLE_DEVICES and BITFUSION_EMU_DEVICES for the software GPU in the client process; a remote GPU's configuration is the server's"
  "test_emu_config:visible_devices_stop_at_invalid    as above: CUDA_VISIBLE_DEVICES of the client process configures no remote GPU"
  "test_emu_config:visible_devices_by_uuid            as above: CUDA_VISIBLE_DEVICES of the client process configures no remote GPU"
  "test_emu_config:ctx_reserve_charged                sets BITFUSION_EMU_CTX_RESERVE_MB / _MEMORY_MB in the client process; a remote GPU's configuration is the server's"
  "test_emu_config:ctx_reserve_out_of_memory          as above: BITFUSION_EMU_CTX_RESERVE_MB of the client process configures no remote GPU"
  "test_emu_config:ctx_reserve_default_zero           as above: expects the 64 MiB device it configures in the client process"
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
    test_vmm)         echo "BITFUSION_EMU_MEMORY_MB=64" ;;
    *)                echo "" ;;
    esac
}

# How many GPUs the binary leases: every device its server has.
ngpus() {
    local n
    n=$(echo "$1" | sed -n 's/.*BITFUSION_EMU_DEVICES=\([0-9][0-9]*\).*/\1/p')
    echo "${n:-1}"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bf-remote.XXXXXX")
srv_pids=()
stop_servers() {   # SIGTERM, then wait: a server's sanitizer reports are in its log once it exited
    local p
    for p in "${srv_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${srv_pids[@]}"; do wait "$p" 2>/dev/null; done
    srv_pids=()
}
cleanup() {
    stop_servers
    rm -rf "$tmp"
}
trap cleanup EXIT

external=0
if [ "$MODE" = plain ]; then
    echo "run_remote.sh: REMOTE_MODE=plain: private test servers (bf_test_server, plain frames on unix sockets) in $tmp"
elif [ -n "${BITFUSION_SERVER:-}" ] && [ -n "${BITFUSION_CONFIG_DIR:-}" ]; then
    external=1
    echo "run_remote.sh: using the server at $BITFUSION_SERVER through bitfusion run (bundle $BITFUSION_CONFIG_DIR)"
else
    echo "run_remote.sh: private bitfusiond servers (--backend emu, TLS, 127.0.0.1) in $tmp, programs run through bitfusion run"
fi

# The server with configuration $1 (started on first use, then reused): SERVER= its unix socket
# (plain mode) or the client bundle made for it (bitfusiond mode), or "" when it did not start
# (its log then tells why).
declare -A SERVERS=() SRVLOGS=()
SERVER=
SRVLOG=
EMU_UNSET=(-u BITFUSION_EMU_DEVICES -u BITFUSION_EMU_MEMORY_MB -u BITFUSION_EMU_SMS -u BITFUSION_EMU_NAME
           -u BITFUSION_EMU_CC -u BITFUSION_EMU_LOG)
server_for() {
    local envs=$1 key=${1:-default}
    if [ -z "${SERVERS[$key]+x}" ]; then
        local n=${#SERVERS[@]}
        SRVLOGS[$key]="$tmp/server$n.log"
        if [ "$MODE" = plain ]; then
            local sock="$tmp/bf$n.sock"
            # shellcheck disable=SC2086
            env "${EMU_UNSET[@]}" $envs "$BABS/tests/remote/bf_test_server" "$sock" "$EMU" 2>>"${SRVLOGS[$key]}" &
            srv_pids+=("$!")
            for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
            SERVERS[$key]=$sock
        else
            start_bitfusiond "$n" "$envs"
        fi
    fi
    SERVER=${SERVERS[$key]}
    SRVLOG=${SRVLOGS[$key]}
}

# start_bitfusiond N ENVS: bitfusiond number N configured by ENVS (BITFUSION_EMU_DEVICES,
# _MEMORY_MB, _SMS and _CC become its bitfusiond.yaml's emu: settings; other variables, such as
# BITFUSION_EMU_LOG, which has no configuration key, go to its environment), on 127.0.0.1 and a
# port it picks, and a client bundle for it. Sets SERVERS[$key].
PKI="$tmp/pki"
start_bitfusiond() {
    local n=$1 envs=$2 kv var val emu="" denv=() port="" pid
    local conf="$PKI/bitfusiond-$n.yaml" log="$tmp/server$n.log"
    SERVERS[$key]=""
    if [ ! -f "$PKI/ca.crt" ] && ! "$BITFUSIOND" pki init "$PKI" >"$log" 2>&1; then
        echo "run_remote.sh: bitfusiond pki init failed: $(cat "$log")" >&2; return
    fi
    for kv in $envs; do
        var=${kv%%=*} val=${kv#*=}
        case "$var" in
        BITFUSION_EMU_DEVICES)   emu="$emu  devices: $val"$'\n' ;;
        BITFUSION_EMU_MEMORY_MB) emu="$emu  memory_mb: $val"$'\n' ;;
        BITFUSION_EMU_SMS)       emu="$emu  sms: $val"$'\n' ;;
        BITFUSION_EMU_CC)        emu="$emu  cc: \"$val\""$'\n' ;;
        *)                       denv+=("$kv") ;;
        esac
    done
    {
        echo "# run_remote.sh's server $n (${envs:-default configuration})"
        echo 'listen: "127.0.0.1:0"'
        echo 'backend: emu'
        echo 'log_level: info'
        printf 'tls:\n  ca: ca.crt\n  cert: server.crt\n  key: server.key\n'
        [ -n "$emu" ] && printf 'emu:\n%s' "$emu"
    } >"$conf"
    env "${EMU_UNSET[@]}" "${denv[@]}" "$BITFUSIOND" --config "$conf" --backend emu >"$log" 2>&1 &
    pid=$!
    srv_pids+=("$pid")
    for _ in $(seq 1 300); do
        port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "run_remote.sh: bitfusiond $n (${envs:-default}) did not start listening: $(tail -n 5 "$log")" >&2; return
    fi
    if ! "$BITFUSIOND" pki client "remote$n" --pki "$PKI" --out "$tmp/client$n" --server "127.0.0.1:$port" \
            >"$tmp/client$n.log" 2>&1; then
        echo "run_remote.sh: bitfusiond pki client failed: $(cat "$tmp/client$n.log")" >&2; return
    fi
    SERVERS[$key]="$tmp/client$n"
}

# Sanitizer builds, bitfusiond mode: `bitfusion run` puts the client library first in LD_PRELOAD;
# this trampoline (which runs with that preload, hence verify_asan_link_order=0 for it alone) puts
# the ASan runtime back in front and restores the test's ASAN_OPTIONS before it execs the binary.
TRAMP=""
if [ "$MODE" = bitfusiond ] && [ -n "$asan" ]; then
    TRAMP="$tmp/asan-first"
    cat >"$TRAMP" <<EOF
#!/bin/sh
export LD_PRELOAD="$asan\${LD_PRELOAD:+:\$LD_PRELOAD}"
if [ -n "\${BF_ASAN_OPTIONS+x}" ]; then export ASAN_OPTIONS="\$BF_ASAN_OPTIONS"; else unset ASAN_OPTIONS; fi
unset BF_ASAN_OPTIONS
exec "\$@"
EOF
    chmod +x "$TRAMP"
fi

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
    # setup: the wrapper's lines before the run; launch: what runs the binary
    setup=""
    if [ "$MODE" = plain ]; then
        server_for "$envs"
        setup="export BITFUSION_TEST_PLAIN_UNIX=\"$SERVER\""
        launch="env LD_PRELOAD=\"$PRELOAD\${LD_PRELOAD:+:\$LD_PRELOAD}\""
    else
        if [ $external = 1 ]; then
            [ -n "$envs" ] && { echo "skip $name (needs a server with $envs)"; continue; }
            setup="export BITFUSION_CONFIG_DIR=\"$BITFUSION_CONFIG_DIR\""
            launch="\"$BITFUSION\" run -n $(ngpus "$envs") -l \"$BITFUSION_SERVER\" --"
        else
            server_for "$envs"
            if [ -z "$SERVER" ]; then
                setup="echo \"run_remote.sh: no server with ${envs:-the default configuration} for $name:\"; cat \"$SRVLOG\"; exit 1"
            else
                setup="export BITFUSION_CONFIG_DIR=\"$SERVER\""
            fi
            launch="\"$BITFUSION\" run -n $(ngpus "$envs") --"
        fi
        if [ -n "$TRAMP" ]; then
            setup="$setup
export BF_ASAN_OPTIONS=\"\${ASAN_OPTIONS:-}\" ASAN_OPTIONS=\"\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0\""
            launch="$launch \"$TRAMP\""
        fi
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
        echo "$setup"
        if [ -n "$filter" ]; then
            # a self-contained binary: drop the excluded cases' lines (and the failure lines before
            # them) and recount
            echo "$launch \"$bin\" \"\$@\" > \"\$0.out\" 2>&1"
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
            echo "exec $launch \"$bin\"$args \"\$@\""
        fi
    } > "$stage/$name"
    chmod +x "$stage/$name"
done
echo "run_remote.sh: $nexcl cases excluded (see EXCLUDE in tests/remote/run_remote.sh)"
export BF_TEST_KERNELS="$BABS/tests/kernels"
[ "$MODE" = plain ] && export BF_REMOTE_TEST_SERVER="$BABS/tests/remote/bf_test_server" BF_REMOTE_EMU="$EMU"
# (run from $tmp: tests/run.sh's own suites, tests/e2e/run_e2e.sh and this script, are found
# relative to the working directory and must not run again inside)
(cd "$tmp" && B="$tmp/b" BF_EXTRA_SUITES="" TEST_FILTER="" TEST_TIMEOUT="${TEST_TIMEOUT:-120}" "$ROOT/tests/run.sh") | tee "$tmp/run.log"
rc=${PIPESTATUS[0]}
stop_servers
logs=()
for l in "$tmp"/server*.log; do [ -f "$l" ] && logs+=("$l"); done
if [ "${TEST_VERBOSE:-0}" = 1 ]; then
    for l in "${logs[@]}"; do echo "---- $(basename "$l") ----"; tail -n 50 "$l" | sed 's/^/    server| /'; done
fi
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/run.log" | tail -n 1)
[ -n "$last" ] || last="0 passed, 1 failed"
# the servers' sanitizer reports (their stderr is not the tests'): each counts as a failure
nsan=0
[ ${#logs[@]} -gt 0 ] && nsan=$(cat "${logs[@]}" | grep -cE '^==[0-9]+==ERROR: |runtime error: ')
if [ "${nsan:-0}" -gt 0 ]; then
    echo "---- sanitizer reports of the servers ----"
    grep -E -A12 '^==[0-9]+==ERROR: |runtime error: ' "${logs[@]}" | head -200 | sed 's/^/    server| /'
    p=${last%% passed*}; f=${last##*passed, }; f=${f%% failed*}
    last="$p passed, $((f + nsan)) failed"
    rc=1
fi
[ $rc -ne 0 ] && [[ "$last" == *", 0 failed" ]] && last="${last%, 0 failed}, 1 failed"
echo "cases: $last"
exit $rc
