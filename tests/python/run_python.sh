#!/usr/bin/env bash
# tests/python/run_python.sh: runs tests/python/test_cuda_bindings.py (pytest; a Python program on
# cuda.bindings.driver from PyPI cuda-bindings 13.x, with kernels compiled by NVRTC) twice:
#   emu:    directly on the software GPU (LD_LIBRARY_PATH=$B/lib/bitfusion/emu);
#   remote: through `bitfusion run -n 1 -- python3 -m pytest ...` against a bitfusiond (emu backend)
#           it starts on 127.0.0.1 (a free port) with a throwaway PKI and client bundle.
# One line per pytest case (PASS/FAIL/SKIP, prefixed by the run), then
# `cases: P passed, F failed, S skipped`; exits non-zero when a case failed.
# Needs: python3 with cuda-bindings 13.x, numpy and pytest (scripts/deps.sh installs them), and
# NVRTC 13: the CUDA toolkit's libnvrtc.so.13, found by cuda-pathfinder through the loader's search
# path or CUDA_HOME (set here from nvcc's location when unset).
# Environment: B (build directory, default build), PY_TIMEOUT (seconds per pytest run, default 90),
# BF_PYTHON_REMOTE=0 (report the remote run as skipped), PY_VERBOSE=1 (show pytest's output and
# the server log).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case "$B" in /*) BD=$B ;; *) BD=$ROOT/$B ;; esac
BITFUSIOND=$BD/sbin/bitfusiond
BITFUSION=$BD/bin/bitfusion
EMU_DIR=$BD/lib/bitfusion/emu
CLIENT_LIB=$BD/lib/bitfusion/client/libcuda.so.1
TEST=$ROOT/tests/python/test_cuda_bindings.py
PY=${PYTHON:-python3}
TMO=${PY_TIMEOUT:-90}
# no __pycache__ or .pytest_cache in the source tree
export PYTHONDONTWRITEBYTECODE=1
export PYTHONUNBUFFERED=1

passed=0 failed=0 skipped=0
pass() { echo "PASS  $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1: $2"; failed=$((failed + 1)); }
skip() { echo "SKIP  $1: $2"; skipped=$((skipped + 1)); }
summary() { echo "cases: $passed passed, $failed failed, $skipped skipped"; }

T=$(mktemp -d "${TMPDIR:-/tmp}/bf-python.XXXXXX")
SRV_PID=""
cleanup() {
    if [ -n "$SRV_PID" ]; then kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null; fi
    rm -rf "$T"
}
trap cleanup EXIT

if ! command -v "$PY" >/dev/null 2>&1; then
    fail "python" "$PY not found"; summary; exit 1
fi
if ! err=$("$PY" -c 'import cuda.bindings.driver, cuda.bindings.nvrtc, numpy, pytest' 2>&1); then
    fail "python modules" "$(echo "$err" | tail -n 1); install them with scripts/deps.sh (pip: cuda-bindings 13.x, numpy, pytest)"
    summary; exit 1
fi
if [ ! -f "$EMU_DIR/libcuda.so.1" ]; then
    fail "software GPU" "$EMU_DIR/libcuda.so.1 is missing; build with: make B=$B"; summary; exit 1
fi
# NVRTC: cuda-pathfinder looks in site-packages, the loader's search path, then CUDA_HOME/CUDA_PATH
if [ -z "${CUDA_HOME:-}${CUDA_PATH:-}" ] && command -v nvcc >/dev/null 2>&1; then
    CUDA_HOME=$(cd "$(dirname "$(command -v nvcc)")/.." && pwd)
    export CUDA_HOME
fi
# sanitizer builds (B=build-san): the ASan runtime has to come first in a Python process
if readelf -d "$EMU_DIR/libcuda.so.1" 2>/dev/null | grep -q 'libasan'; then
    PRELOAD_ASAN=$(${CC:-cc} -print-file-name=libasan.so 2>/dev/null)
    export LD_PRELOAD="$PRELOAD_ASAN${LD_PRELOAD:+:$LD_PRELOAD}"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0}:detect_leaks=0:verify_asan_link_order=0"
fi

# report RUN XML LOG RC: one line per case from pytest's junit XML; a run that did not finish
# (timeout, crash, no XML) is one failure with the tail of its output
report() {
    local run=$1 xml=$2 log=$3 rc=$4 lines
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        fail "$run: pytest" "timed out after ${TMO}s: $(tail -n 3 "$log" | tr '\n' ' ')"
        return
    fi
    if [ ! -s "$xml" ]; then
        fail "$run: pytest" "exit $rc without results: $(tail -n 3 "$log" | tr '\n' ' ')"
        return
    fi
    lines=$("$PY" - "$xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
for tc in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    name = tc.get("name")
    bad = tc.find("failure")
    if bad is None:
        bad = tc.find("error")
    sk = tc.find("skipped")
    if bad is not None:
        msg = (bad.get("message") or bad.text or "").strip().splitlines()
        print(f"F\t{name}\t{(msg[0] if msg else 'failed')[:300]}")
    elif sk is not None:
        print(f"S\t{name}\t{(sk.get('message') or 'skipped')[:300]}")
    else:
        print(f"P\t{name}\t")
EOF
    ) || { fail "$run: pytest" "cannot read $xml"; return; }
    if [ -z "$lines" ]; then
        fail "$run: pytest" "no test cases ran (exit $rc): $(tail -n 3 "$log" | tr '\n' ' ')"
        return
    fi
    local n0=$failed
    while IFS=$'\t' read -r st name msg; do
        case "$st" in
            P) pass "$run: $name" ;;
            S) skip "$run: $name" "$msg" ;;
            *) fail "$run: $name" "$msg" ;;
        esac
    done <<<"$lines"
    # pytest failed without a failing case (e.g. an error at collection or teardown)
    if [ "$rc" -ne 0 ] && [ "$failed" = "$n0" ]; then
        fail "$run: pytest" "exit $rc: $(tail -n 3 "$log" | tr '\n' ' ')"
    fi
    if [ "$failed" != "$n0" ] || [ "${PY_VERBOSE:-0}" = 1 ]; then
        echo "---- pytest output ($run) ----"; tail -n 150 "$log" | sed 's/^/    | /'
    fi
}

pytest_args=(-m pytest -q -rA --tb=short -p no:cacheprovider --rootdir "$ROOT/tests/python" "$TEST")

# ---- (a) directly on the software GPU ------------------------------------------------------------
LD_LIBRARY_PATH="$EMU_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    timeout --kill-after=5 "$TMO" "$PY" "${pytest_args[@]}" --junitxml="$T/emu.xml" >"$T/emu.log" 2>&1 </dev/null
report emu "$T/emu.xml" "$T/emu.log" $?

# ---- (b) through bitfusion run against a local bitfusiond -----------------------------------------
remote_skip=""
if [ "${BF_PYTHON_REMOTE:-1}" = 0 ]; then
    remote_skip="BF_PYTHON_REMOTE=0"
elif [ ! -x "$BITFUSIOND" ] || [ ! -x "$BITFUSION" ]; then
    remote_skip="$BITFUSIOND or $BITFUSION is not built"
elif [ ! -f "$CLIENT_LIB" ]; then
    remote_skip="the client library ($CLIENT_LIB) is not built"
fi
if [ -n "$remote_skip" ]; then
    skip "remote: test_cuda_bindings.py through bitfusion run" "$remote_skip"
    summary; [ "$failed" -eq 0 ]; exit
fi

LOG=$T/server.log
if ! "$BITFUSIOND" pki init "$T/pki" >"$T/pki.out" 2>&1; then
    fail "remote: bitfusiond pki init" "$(tail -n 1 "$T/pki.out")"; summary; exit 1
fi
"$BITFUSIOND" --config "$T/pki/bitfusiond.yaml" --listen 127.0.0.1:0 --backend emu >"$LOG" 2>&1 </dev/null &
SRV_PID=$!
PORT=""
for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$LOG" | head -n 1)
    [ -n "$PORT" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$PORT" ]; then
    fail "remote: bitfusiond starts" "$(tail -n 2 "$LOG" | tr '\n' ' ')"; summary; exit 1
fi
if grep -q "no session layer" "$LOG"; then
    skip "remote: test_cuda_bindings.py through bitfusion run" "this bitfusiond has no session layer linked"
    summary; [ "$failed" -eq 0 ]; exit
fi
if ! "$BITFUSIOND" pki client pytest --pki "$T/pki" --out "$T/client" --server "127.0.0.1:$PORT" >"$T/bundle.out" 2>&1; then
    fail "remote: bitfusiond pki client" "$(tail -n 1 "$T/bundle.out")"; summary; exit 1
fi

BITFUSION_CONFIG_DIR=$T/client \
    timeout --kill-after=5 "$TMO" "$BITFUSION" run -n 1 -- \
    "$PY" "${pytest_args[@]}" --junitxml="$T/remote.xml" >"$T/remote.log" 2>&1 </dev/null
rc=$?
report remote "$T/remote.xml" "$T/remote.log" $rc
# the sessions (pytest's and the out-of-bounds child's) must have ended on the server
for _ in $(seq 1 30); do grep -q "session end" "$LOG" && break; sleep 0.1; done
if grep -q "session start: client=pytest" "$LOG" && grep -q "session end: client=pytest" "$LOG"; then
    pass "remote: the server logged the Python program's session (start and end)"
else
    fail "remote: server session lines" "$(tail -n 3 "$LOG" | tr '\n' ' ')"
fi
if [ "$rc" -ne 0 ] || [ "${PY_VERBOSE:-0}" = 1 ]; then
    echo "---- server log ----"; tail -n 60 "$LOG" | sed 's/^/    | /'
fi
summary
[ "$failed" -eq 0 ]
