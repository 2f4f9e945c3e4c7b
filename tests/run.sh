#!/usr/bin/env bash
# tests/run.sh: runs every test binary in $B/tests/emu/ (B defaults to build; `make test` and
# SANITIZE builds pass B=build-san) with a per-binary timeout, the kernel directory in
# BF_TEST_KERNELS, one line per binary (ok/FAIL and time), the output of each failing binary, and
# the final line `N passed, M failed`. N and M count cases: a binary that ends with the line
# `cases: P passed, F failed[, S skipped]` (the tests/common runner) contributes P and F (plus one
# failure if it exited non-zero with F = 0, e.g. a sanitizer report at exit; one that stopped
# early contributes its PASS/FAIL lines plus one failure); any other binary counts as one case.
# Exits non-zero when anything failed.
# Environment: B, TEST_TIMEOUT (seconds per binary, default 300), TEST_FILTER (substring of the
# binary names to run), TEST_VERBOSE=1 (show every binary's output).
set -u
B=${B:-build}
TIMEOUT=${TEST_TIMEOUT:-300}
FILTER=${TEST_FILTER:-}
dir="$B/tests/emu"
export BF_TEST_KERNELS="${BF_TEST_KERNELS:-$(cd "$B" 2>/dev/null && pwd)/tests/kernels}"
# sanitizer builds: report and fail, but let the runner print its cases first
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

if [ ! -d "$dir" ]; then
    echo "run.sh: no test binaries: $dir does not exist (build with: make tests B=$B)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

passed=0
failed=0
skipped=0
nbin=0
failed_bins=()
log=$(mktemp "${TMPDIR:-/tmp}/bf-test.XXXXXX")
trap 'rm -f "$log"' EXIT

# the end-to-end suites (bitfusiond + client library over TLS; the cuda-bindings Python program,
# directly and through bitfusion run) are scripts that print the same
# `cases:` line as the test binaries
export B
suites=()
for s in tests/e2e/run_e2e.sh tests/python/run_python.sh tests/remote/run_remote.sh tests/lease/run_lease.sh ${BF_EXTRA_SUITES:-}; do [ -x "$s" ] && suites+=("$s"); done

for bin in "$dir"/* "${suites[@]}"; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=$(basename "$bin")
    case "$name" in *.o|*.d|*.so|*.so.*) continue ;; esac
    if [ -n "$FILTER" ] && [[ "$name" != *"$FILTER"* ]]; then continue; fi
    nbin=$((nbin + 1))
    t0=$(date +%s.%N)
    # (the braces catch bash's own "Killed" notice for a binary that dies of a signal)
    { timeout --kill-after=10 "$TIMEOUT" "$bin" >"$log" 2>&1 </dev/null; rc=$?; } 2>/dev/null
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    timed_out=$(awk -v a="$t0" -v b="$t1" -v t="$TIMEOUT" -v rc="$rc" \
        'BEGIN { print (rc == 124 || (rc == 137 && b - a >= t)) ? 1 : 0 }')
    summary=$(grep -E '^cases: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$summary" ]; then
        p=$(echo "$summary" | sed -E 's/^cases: ([0-9]+) passed.*/\1/')
        f=$(echo "$summary" | sed -E 's/^cases: [0-9]+ passed, ([0-9]+) failed.*/\1/')
        s=$(echo "$summary" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
        [ -n "$s" ] || s=0
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        detail="$p passed, $f failed${s:+, $s skipped}"
    elif grep -qE '^(PASS|FAIL)  ' "$log"; then
        # a runner that did not finish (timeout, crash): count its cases so far, plus one failure
        p=$(grep -cE '^PASS  ' "$log")
        f=$(( $(grep -cE '^FAIL  ' "$log") + 1 ))
        s=$(grep -cE '^SKIP  ' "$log")
        detail="interrupted: $p passed, $((f - 1)) failed before it stopped"
    else
        if [ "$rc" -eq 0 ]; then p=1; f=0; else p=0; f=1; fi
        s=0
        detail="no case summary"
    fi
    [ "$s" = 0 ] && detail=${detail%, 0 skipped}
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    why=""
    if [ "$timed_out" = 1 ]; then why=", timed out after ${TIMEOUT}s"
    elif [ "$rc" -ge 128 ]; then why=", killed by signal $((rc - 128))"
    elif [ "$rc" -ne 0 ]; then why=", exit $rc"; fi
    if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
        printf '%-4s %-28s %7ss  (%s)\n' ok "$name" "$secs" "$detail"
        if [ "${TEST_VERBOSE:-0}" = 1 ]; then sed 's/^/    | /' "$log"; fi
    else
        printf '%-4s %-28s %7ss  (%s%s)\n' FAIL "$name" "$secs" "$detail" "$why"
        failed_bins+=("$name")
        echo "---- output of $name ----"
        if [ -n "$summary" ] && [ "${TEST_VERBOSE:-0}" != 1 ]; then
            # the failing cases with their messages, plus anything after the summary
            awk '/^(PASS|SKIP)  /{next} {print "    | " $0}' "$log" | tail -n 400
        else
            sed 's/^/    | /' "$log" | tail -n 400
        fi
        echo "---- end of $name ----"
    fi
done

if [ "$nbin" -eq 0 ]; then
    echo "run.sh: no test binaries in $dir" >&2
    failed=$((failed + 1))
fi
[ "$skipped" -gt 0 ] && echo "($skipped skipped)"
[ ${#failed_bins[@]} -gt 0 ] && echo "failing binaries: ${failed_bins[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
