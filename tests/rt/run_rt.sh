#!/usr/bin/env bash
# tests/rt/run_rt.sh: runs the CUDA runtime programs of tests/rt/ on the software GPU (installed as
# $B/tests/emu/rt_runtime by emu/rt_tests.mk, so tests/run.sh runs it with the other test binaries).
# Every program in $B/tests/rt/ (NAME.static, NAME.shared, and with CUDA 12: NAME.static12,
# NAME.shared12) runs with LD_LIBRARY_PATH at $B/lib/bitfusion/emu (plus the CUDA 12 runtime for
# .shared12); each .shared program runs again on the newest CUDA 13 runtime wheel when one is
# installed (rt.env names it). Among them are the corpus programs, rt_corpus_*: the kernels of
# tests/kernels/ (all but faults.cu, which rt_faults covers) as ordinary runtime programs, each
# verifying its results against C references (tests/rt/rt_corpus.h). Remote mode: the same runs
# once more each through the client library, as
# `BITFUSION_CONFIG_DIR=<bundle> $B/bin/bitfusion run -n 1 -- PROG` against one private
# `bitfusiond --backend emu` (127.0.0.1, a free port, a throwaway cluster PKI and client bundle, as
# tests/demo/demo.sh makes them), started before the first and stopped at the end; sanitizer reports
# in its log count as a failure. One case per run: "PASS  name" / "FAIL  name" with the output of a
# failure, then "cases: P passed, F failed, S skipped". Environment: RT_TIMEOUT (seconds, 120),
# RT_FILTER (substring of the names, "remote" included for the remote runs), RT_REMOTE=0 (leave the
# remote runs out), RT_REAL_DRIVER=1 (leave the software GPU and the remote runs out: run the same
# programs on the machine's NVIDIA driver, to check the expectations against CUDA itself), B (the
# build tree, for running this file from the source tree).
set -u
# The build tree: $B when set (running tests/rt/run_rt.sh from the source tree), else the one this
# script is installed in ($B/tests/emu/rt_runtime).
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${B:-}" ]; then B=$(cd "$B" && pwd) || exit 1; else B=$(cd "$here/../.." && pwd); fi
rt="$B/tests/rt"
emu="$B/lib/bitfusion/emu"
remote=${RT_REMOTE:-1}
if [ "${RT_REAL_DRIVER:-0}" = 1 ]; then emu=${LD_LIBRARY_PATH:-/nonexistent}; remote=0; fi
CUDART12_DIR=""
CUDART13_DIR=""
[ -f "$rt/rt.env" ] && . "$rt/rt.env"
timeout_s=${RT_TIMEOUT:-120}
# A sanitizer build of the software GPU: its runtime must be loaded first, and the CUDA runtime's
# own allocations at exit are not ours to report.
preload=""
for lib in libasan.so libubsan.so; do
    p=$(ldd "${emu%%:*}/libcuda.so.1" 2>/dev/null | awk -v l="$lib" 'index($1, l) == 1 { print $3 }')
    [ -n "$p" ] && preload="${preload:+$preload:}$p"
done
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

passed=0 failed=0 skipped=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bf-rt.XXXXXX")
log="$tmp/log"
srv=""
stop_server() {   # SIGTERM, then wait: its sanitizer reports are in its log once it exited
    [ -n "$srv" ] || return 0
    kill "$srv" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$srv" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
    srv=""
}
trap 'stop_server; rm -rf "$tmp"' EXIT

# ---- remote mode: one bitfusiond on the software GPU, a client bundle for it ----------------------
bundle=""
tramp=""
start_server() {
    local d="$B/sbin/bitfusiond" port="" i
    if [ ! -x "$d" ] || [ ! -x "$B/bin/bitfusion" ]; then
        echo "SKIP  remote runs: $d or $B/bin/bitfusion is not built"
        skipped=$((skipped + 1)); return 1
    fi
    if ! "$d" pki init "$tmp/pki" >"$tmp/pki.log" 2>&1; then
        echo "FAIL  remote runs: bitfusiond pki init failed"; sed 's/^/    | /' "$tmp/pki.log"
        failed=$((failed + 1)); return 1
    fi
    "$d" --config "$tmp/pki/bitfusiond.yaml" --listen 127.0.0.1:0 --backend emu 2>"$tmp/server.log" &
    srv=$!
    for i in $(seq 1 100); do
        port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$tmp/server.log" | head -n 1)
        [ -n "$port" ] && break
        kill -0 "$srv" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "FAIL  remote runs: bitfusiond did not start listening"; sed 's/^/    | /' "$tmp/server.log"
        failed=$((failed + 1)); stop_server; return 1
    fi
    if ! "$d" pki client rt --pki "$tmp/pki" --out "$tmp/client" --server "127.0.0.1:$port" >"$tmp/pki.log" 2>&1; then
        echo "FAIL  remote runs: bitfusiond pki client failed"; sed 's/^/    | /' "$tmp/pki.log"
        failed=$((failed + 1)); stop_server; return 1
    fi
    bundle="$tmp/client"
    # `bitfusion run` puts the client library first in LD_PRELOAD; a sanitizer build's runtime must
    # precede it in the program, so this trampoline (run with that preload, hence
    # verify_asan_link_order=0) puts it back in front before it execs the program.
    if [ -n "$preload" ]; then
        tramp="$tmp/sanitizer-first"
        printf '#!/bin/sh\nexport LD_PRELOAD="%s${LD_PRELOAD:+:$LD_PRELOAD}"\nexec "$@"\n' "$preload" >"$tramp"
        chmod +x "$tramp"
    fi
    return 0
}

# Sanitizer reports in the server's log (its workers run the software GPU) fail the remote runs.
check_server_log() {
    [ -f "$tmp/server.log" ] || return 0
    if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$tmp/server.log"; then
        echo "FAIL  remote runs: sanitizer reports in the bitfusiond log"
        grep -E -A20 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$tmp/server.log" | sed 's/^/    | /' | head -n 60
        failed=$((failed + 1))
    fi
}

run_one() {   # name, library path, program
    local name=$1 libs=$2 prog=$3
    if [ -n "${RT_FILTER:-}" ] && [[ "$name" != *"$RT_FILTER"* ]]; then return; fi
    LD_PRELOAD="$preload" LD_LIBRARY_PATH="$libs" timeout --kill-after=5 "$timeout_s" "$prog" >"$log" 2>&1 </dev/null
    report "$name" $?
}

run_remote() {   # name, library path (the CUDA runtime's, or empty), program
    local name="${1%)}, remote)" libs=$2 prog=$3
    [ "$remote" = 1 ] || return 0
    if [ -n "${RT_FILTER:-}" ] && [[ "$name" != *"$RT_FILTER"* ]]; then return; fi
    if [ -z "$bundle" ] && ! start_server; then remote=0; return 0; fi
    BITFUSION_CONFIG_DIR="$bundle" LD_LIBRARY_PATH="$libs" ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
        timeout --kill-after=5 "$timeout_s" "$B/bin/bitfusion" run -n 1 -- ${tramp:+"$tramp"} "$prog" >"$log" 2>&1 </dev/null
    report "$name" $?
}

report() {   # name, exit status
    local name=$1 rc=$2
    if [ "$rc" -eq 0 ]; then
        echo "PASS  $name"
        passed=$((passed + 1))
    else
        echo "FAIL  $name (exit $rc)"
        sed 's/^/    | /' "$log" | tail -n 60
        failed=$((failed + 1))
    fi
}

found=0
for prog in "$rt"/*.static "$rt"/*.shared "$rt"/*.static12 "$rt"/*.shared12; do
    [ -x "$prog" ] || continue
    found=1
    name=$(basename "$prog")
    case "$name" in
    *.shared12)
        run_one "$name (cudart 12)" "$emu:$CUDART12_DIR" "$prog"
        run_remote "$name (cudart 12)" "$CUDART12_DIR" "$prog" ;;
    *.static12)
        run_one "$name (cudart 12 static)" "$emu" "$prog"
        run_remote "$name (cudart 12 static)" "" "$prog" ;;
    *.shared)
        run_one "$name (cudart 13, toolkit)" "$emu" "$prog"
        run_remote "$name (cudart 13, toolkit)" "" "$prog"
        if [ -n "$CUDART13_DIR" ] && [ -f "$CUDART13_DIR/libcudart.so.13" ]; then
            run_one "$name (cudart 13, wheel)" "$emu:$CUDART13_DIR" "$prog"
            run_remote "$name (cudart 13, wheel)" "$CUDART13_DIR" "$prog"
        else
            echo "SKIP  $name (cudart 13 wheel): nvidia-cuda-runtime is not installed"
            skipped=$((skipped + 1))
        fi ;;
    *)
        run_one "$name (cudart 13 static)" "$emu" "$prog"
        run_remote "$name (cudart 13 static)" "" "$prog" ;;
    esac
done
stop_server
check_server_log
if [ -z "$CUDART12_DIR" ]; then
    echo "SKIP  CUDA 12 runtime programs: nvidia-cuda-runtime-cu12 is not installed"
    skipped=$((skipped + 1))
fi
[ "$found" = 1 ] || { echo "FAIL  no programs in $rt"; failed=$((failed + 1)); }
echo "cases: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
