#!/usr/bin/env bash
# tests/rt/run_rt.sh: runs the CUDA runtime programs of tests/rt/ on the software GPU (installed as
# $B/tests/emu/rt_runtime by emu/rt_tests.mk, so tests/run.sh runs it with the other test binaries).
# Every program in $B/tests/rt/ (NAME.static, NAME.shared, and with CUDA 12: NAME.static12,
# NAME.shared12) runs with LD_LIBRARY_PATH at $B/lib/bitfusion/emu (plus the CUDA 12 runtime for
# .shared12); each .shared program runs again on the newest CUDA 13 runtime wheel when one is
# installed (rt.env names it). One case per run: "PASS  name" / "FAIL  name" with the output of a
# failure, then "cases: P passed, F failed, S skipped". Environment: RT_TIMEOUT (seconds, 120),
# RT_FILTER (substring of the names), RT_REAL_DRIVER=1 (leave the software GPU out: run the same
# programs on the machine's NVIDIA driver, to check the expectations against CUDA itself).
set -u
here=$(cd "$(dirname "$0")" && pwd)
rt="$here/../rt"
emu=$(cd "$here/../../lib/bitfusion/emu" && pwd)
if [ "${RT_REAL_DRIVER:-0}" = 1 ]; then emu=${LD_LIBRARY_PATH:-/nonexistent}; fi
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
log=$(mktemp "${TMPDIR:-/tmp}/bf-rt.XXXXXX")
trap 'rm -f "$log"' EXIT

run_one() {   # name, library path, program
    local name=$1 libs=$2 prog=$3
    if [ -n "${RT_FILTER:-}" ] && [[ "$name" != *"$RT_FILTER"* ]]; then return; fi
    LD_PRELOAD="$preload" LD_LIBRARY_PATH="$libs" timeout --kill-after=5 "$timeout_s" "$prog" >"$log" 2>&1 </dev/null
    local rc=$?
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
    *.shared12) run_one "$name (cudart 12)" "$emu:$CUDART12_DIR" "$prog" ;;
    *.static12) run_one "$name (cudart 12 static)" "$emu" "$prog" ;;
    *.shared)
        run_one "$name (cudart 13, toolkit)" "$emu" "$prog"
        if [ -n "$CUDART13_DIR" ] && [ -f "$CUDART13_DIR/libcudart.so.13" ]; then
            run_one "$name (cudart 13, wheel)" "$emu:$CUDART13_DIR" "$prog"
        else
            echo "SKIP  $name (cudart 13 wheel): nvidia-cuda-runtime is not installed"
            skipped=$((skipped + 1))
        fi ;;
    *) run_one "$name (cudart 13 static)" "$emu" "$prog" ;;
    esac
done
if [ -z "$CUDART12_DIR" ]; then
    echo "SKIP  CUDA 12 runtime programs: nvidia-cuda-runtime-cu12 is not installed"
    skipped=$((skipped + 1))
fi
[ "$found" = 1 ] || { echo "FAIL  no programs in $rt"; failed=$((failed + 1)); }
echo "cases: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
