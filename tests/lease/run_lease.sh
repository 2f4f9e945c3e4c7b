#!/usr/bin/env bash
# tests/lease/run_lease.sh: GPU leases and partitions (issue 5; docs/leasing-design.md), end to end:
# bitfusiond on the software GPU (127.0.0.1, a free port, a throwaway PKI made by `bitfusiond pki
# init` and a client bundle by `bitfusiond pki client`), `bitfusion run/request_gpus/client/
# release_gpus/list_gpus/smi/health`, the client library with and without the wrapper, and the
# programs of tests/lease/ (built by tests/lease.mk into $B/tests/lease/):
#   lease_probe  driver-API steps (contexts, totals, allocations of every kind, rendezvous files)
#   lease_fork   forked processes in one lease       lease_nvml  NVML against CUDA
#   lease_rt     a CUDA runtime program (static cudart; lease_rt.shared: -cudart shared)
# Each case starts its own small servers (emu devices of 1024 MiB; starting one takes ~30 ms), so
# the cases do not depend on one another; every wait has a limit and every process a case starts
# is ended when the case ends (and on exit).
# One line per check ("PASS  N what" / "FAIL  N what: why" with the outputs that tell why; N is the
# case number), then `cases: P passed, F failed, S skipped`; exits non-zero when a check failed.
# Environment: B (build directory, default build), LEASE_CASES (the case numbers to run, e.g.
# "1 5 10"; default all), LEASE_VERBOSE=1 (keep the temporary directory and say where it is).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case "$B" in /*) BD=$B ;; *) BD=$ROOT/$B ;; esac
BITFUSIOND=$BD/sbin/bitfusiond
BITFUSION=$BD/bin/bitfusion
CLIENT_LIB=$BD/lib/bitfusion/client/libcuda.so.1
LB=$BD/tests/lease
PROBE=$LB/lease_probe
FORK=$LB/lease_fork
NVML=$LB/lease_nvml
RTPROG=$LB/lease_rt
# sanitizer builds: the client library is preloaded ahead of the ASan runtime
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=0}:verify_asan_link_order=0"
# ... and a program built without it (the nvcc-built runtime programs) gets the runtime put back in
# front of that preload by this trampoline (RTRUN), or the sanitizer starts too late in it
RTRUN=()
SAN_RT=$(ldd "$CLIENT_LIB" 2>/dev/null | awk 'index($1, "libasan.so") == 1 { print $3 }')
# nothing from an outer lease or software-GPU setting may leak in
unset BITFUSION_LEASE BITFUSION_SERVER BITFUSION_NUM_GPUS BITFUSION_PARTIAL BITFUSION_MEMORY \
    BITFUSION_FILTER BITFUSION_SERVER_LIST BITFUSION_TIMEOUT BITFUSION_CONFIG_DIR CUDA_VISIBLE_DEVICES \
    BITFUSION_EMU_DEVICES BITFUSION_EMU_MEMORY_MB BITFUSION_EMU_CTX_RESERVE_MB BITFUSION_EMU_SMS \
    BITFUSION_EMU_NAME BITFUSION_EMU_CC

passed=0 failed=0 skipped=0
pass() { echo "PASS  $1"; passed=$((passed + 1)); }
skip() { echo "SKIP  $1: $2"; skipped=$((skipped + 1)); }
# fail NAME WHY [FILE...]: the last lines of each FILE follow, indented
fail() {
    local name=$1 why=$2 f n
    shift 2
    echo "FAIL  $name: $why"
    for f in "$@"; do
        [ -s "$f" ] || continue
        case $f in *.log) n=12 ;; *) n=20 ;; esac
        tail -n "$n" "$f" | awk -v p="    | $(basename "$f"): " '{ print p $0 }'
    done
    failed=$((failed + 1))
}
summary() { echo "cases: $passed passed, $failed failed, $skipped skipped"; }

for f in "$BITFUSIOND" "$BITFUSION" "$PROBE" "$FORK" "$NVML"; do
    if [ ! -x "$f" ]; then
        echo "run_lease: $f is missing; build with: make B=$B tests" >&2
        echo "FAIL  0 the suite's programs are built: $f is missing"
        failed=1; summary; exit 1
    fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/bf-lease.XXXXXX")
CT=$T                   # the current case's directory
BG_PIDS=()              # process groups started by the current case (setsid)
SRV_PIDS=()             # servers of the current case (each its own process group)
KEEPERS=()              # request_gpus keepers the current case made
ALL_LOGS=()             # every server log, for the sanitizer check at the end

# alive PID: running (not a zombie)
alive() {
    local st
    st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
# end_group PID: SIGTERM to its process group, up to 2 s, then SIGKILL; reaps it
end_group() {
    local pid=$1 i
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 40); do alive "$pid" || break; sleep 0.05; done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
is_keeper() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q bitfusion; }
cleanup_case() {
    local p
    for p in "${BG_PIDS[@]}"; do end_group "$p"; done
    for p in "${KEEPERS[@]}"; do
        if [ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null && alive "$p" && is_keeper "$p"; then
            kill -TERM "$p" 2>/dev/null; sleep 0.2; alive "$p" && is_keeper "$p" && kill -KILL "$p" 2>/dev/null
        fi
    done
    for p in "${SRV_PIDS[@]}"; do end_group "$p"; done
    BG_PIDS=() SRV_PIDS=() KEEPERS=()
}
trap 'cleanup_case; if [ "${LEASE_VERBOSE:-0}" = 1 ]; then echo "(kept $T)"; else rm -rf "$T"; fi' EXIT
trap 'exit 130' INT TERM HUP
if [ -n "$SAN_RT" ]; then
    RTRUN=("$T/asan-first")
    printf '#!/bin/sh\nexport LD_PRELOAD="%s${LD_PRELOAD:+:$LD_PRELOAD}"\nexec "$@"\n' "$SAN_RT" >"${RTRUN[0]}"
    chmod +x "${RTRUN[0]}"
fi

# wait_file FILE SECS [PID...]: until FILE exists; gives up after SECS, or at once when one of the
# PIDs has ended without FILE
wait_file() {
    local f=$1 secs=$2 i p
    shift 2
    for i in $(seq 1 $((secs * 20))); do
        [ -e "$f" ] && return 0
        for p in "$@"; do alive "$p" || { [ -e "$f" ]; return; }; done
        sleep 0.05
    done
    [ -e "$f" ]
}
# wait_exit PID SECS: its exit status once it ended; 124 when it still runs after SECS (left running)
wait_exit() {
    local pid=$1 secs=$2 i
    for i in $(seq 1 $((secs * 20))); do alive "$pid" || break; sleep 0.05; done
    alive "$pid" && return 124
    wait "$pid"
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
count_lines() { grep -c . "$1" 2>/dev/null || true; }

# ---- servers ----------------------------------------------------------------------------------
# start_srv NAME DEVICES MEMORY_MB [EXTRA-YAML]: bitfusiond --backend emu on 127.0.0.1:0 with the
# suite's PKI, in its own process group; $SRV_ENV (VAR=VALUE ...) goes into its environment. Sets
# PORT (and PORT_NAME) and LOG_NAME; 1 (after a FAIL line by the caller) when it did not start.
start_srv() {
    local name=$1 devs=$2 mem=$3 extra=${4:-} yaml=$CT/$1.yaml log=$CT/$1.log port="" i pid
    mkdir -p "$CT"
    {
        printf 'listen: "127.0.0.1:0"\nbackend: emu\nlog_level: info\nshutdown_grace: 1\n'
        printf 'tls:\n  ca: %s\n  cert: %s\n  key: %s\n' "$PKI/ca.crt" "$PKI/server.crt" "$PKI/server.key"
        printf 'emu: {devices: %s, memory_mb: %s}\n' "$devs" "$mem"
        [ -n "$extra" ] && printf '%s\n' "$extra"
    } >"$yaml"
    # shellcheck disable=SC2086
    env ${SRV_ENV:-} setsid "$BITFUSIOND" --config "$yaml" >"$log" 2>&1 </dev/null &
    pid=$!
    SRV_PIDS+=("$pid")
    ALL_LOGS+=("$log")
    eval "SRVPID_$name=$pid"
    for i in $(seq 1 200); do
        port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
        [ -n "$port" ] && break
        alive "$pid" || break
        sleep 0.05
    done
    eval "LOG_$name=\$log"
    [ -n "$port" ] || return 1
    PORT=$port
    eval "PORT_$name=$port"
    return 0
}
stop_srv() { # NAME
    local pid
    eval "pid=\${SRVPID_$1:-}"
    [ -n "$pid" ] && end_group "$pid"
}

# mk_cfg DIR TIMEOUT ADDR...: a client configuration directory (the suite's bundle's TLS files,
# client.yaml with TIMEOUT seconds, servers.conf listing each ADDR as a server)
mk_cfg() {
    local dir=$1 to=$2 a
    shift 2
    mkdir -p "$dir"
    cp -r "$BUNDLE/tls" "$dir/"
    printf 'tls:\n  ca: tls/ca.crt\n  cert: tls/client.crt\n  key: tls/client.key\ntimeout: %s\n' "$to" >"$dir/client.yaml"
    { echo "servers:"; for a in "$@"; do echo "  - addresses: [$a]"; done; } >"$dir/servers.conf"
}

# bf CFG SECS ARGS...: bitfusion ARGS with BITFUSION_CONFIG_DIR=CFG, killed after SECS
bf() {
    local cfg=$1 secs=$2
    shift 2
    BITFUSION_CONFIG_DIR=$cfg timeout -k 3 "$secs" "$BITFUSION" "$@" </dev/null
}
# bgbf NAME CFG SECS ARGS...: the same in the background, in its own process group, output in
# $CT/NAME.out and $CT/NAME.err; sets BGPID
bgbf() {
    local name=$1 cfg=$2 secs=$3
    shift 3
    BITFUSION_CONFIG_DIR=$cfg setsid timeout -k 3 "$secs" "$BITFUSION" "$@" >"$CT/$name.out" 2>"$CT/$name.err" </dev/null &
    BGPID=$!
    BG_PIDS+=("$BGPID")
}
# lg CFG OUT: bitfusion list_gpus into OUT (stdout and stderr)
lg() { bf "$1" 15 list_gpus >"$2" 2>&1; }
# partition lines ("partition 512 MiB ...") and GPUs with partitions ("..., 1 partition") in a listing
n_parts() { grep -ciE 'partition +[0-9]+ *MiB' "$1" 2>/dev/null || true; }
n_busy_gpus() { grep -cE '(^|[^0-9])[1-9][0-9]* partition' "$1" 2>/dev/null || true; }
# section FILE ADDR: the lines of a listing from the SERVER line naming ADDR to the next SERVER line
section() { awk -v a="$2" 'toupper($1) == "SERVER" { on = index($0, a) > 0 } on' "$1"; }
# no_partitions CFG OUT SECS: list_gpus until it shows no partition (0) or SECS passed (1)
no_partitions() {
    local i
    for i in $(seq 1 $(($3 * 4))); do
        if lg "$1" "$2" && [ "$(n_parts "$2")" = 0 ] && [ "$(n_busy_gpus "$2")" = 0 ] && grep -q 'GPU 0' "$2"; then
            return 0
        fi
        sleep 0.25
    done
    return 1
}
# lease8 FILE: the first 8 hex digits of the lease id a lease_probe `env` step printed
lease8() { sed -n 's/^env BITFUSION_LEASE=\([0-9a-fA-F]\{8\}\).*/\1/p' "$1" | head -n 1; }
# server_of FILE: the HOST:PORT a lease_probe `env` step printed
server_of() { sed -n 's/^server //p' "$1" | head -n 1; }

# ---- the suite's PKI ---------------------------------------------------------------------------
PKI=$T/pki
BUNDLE=$T/bundle
if ! "$BITFUSIOND" pki init "$PKI" >"$T/pki.out" 2>&1 ||
   ! "$BITFUSIOND" pki client lease --pki "$PKI" --out "$BUNDLE" --server 127.0.0.1:1 >>"$T/pki.out" 2>&1; then
    fail "0 pki init and pki client make the suite's PKI and client bundle" "failed" "$T/pki.out"
    summary; exit 1
fi

# ---- cases ---------------------------------------------------------------------------------------
# 0: the test programs themselves, on the software GPU directly (no server): they must work for the
# other cases to mean anything. Also learns the emu's name and its physical GPUs' UUIDs.
EMU_NAME="" UUID0="" UUID1=""
case_0() {
    local out=$CT/direct.out
    if BITFUSION_EMU_DEVICES=2 BITFUSION_EMU_MEMORY_MB=1024 timeout 30 "$PROBE" info ctx total 1024 mark \
        alloc mem 100M ok checkmark alloc async 64M ok checkmark alloc pool 32M ok checkmark alloc vmm 10M ok \
        checkmark alloc mem free ok alloc mem 1 oom freeall checkmark alltotal 1024 >"$out" 2>&1; then
        pass "0 lease_probe works on the software GPU directly (totals, every allocation kind, OUT_OF_MEMORY)"
    else
        fail "0 lease_probe on the software GPU directly" "exit $?" "$out"
    fi
    EMU_NAME=$(sed -n 's/^device 0 name=\(.*\) uuid=.*/\1/p' "$out" | head -n 1)
    UUID0=$(sed -n 's/^device 0 name=.* uuid=\(GPU-[0-9a-f-]*\) .*/\1/p' "$out" | head -n 1)
    UUID1=$(sed -n 's/^device 1 name=.* uuid=\(GPU-[0-9a-f-]*\) .*/\1/p' "$out" | head -n 1)
    if [ ! -x "$RTPROG" ]; then
        skip "0 lease_rt on the software GPU directly" "$RTPROG is not built (nvcc)"
    elif BITFUSION_EMU_MEMORY_MB=256 LD_LIBRARY_PATH=$BD/lib/bitfusion/emu timeout 30 "$RTPROG" 256 >"$CT/rt.out" 2>&1; then
        pass "0 lease_rt works on the software GPU directly"
    else
        fail "0 lease_rt on the software GPU directly" "exit $?" "$CT/rt.out"
    fi
}

# 1: two -p 0.5 programs on one GPU at once, each seeing half
case_1() {
    local n="1 two 'run -p 0.5' programs share one 1024 MiB GPU at once, each seeing 512 MiB"
    start_srv s 1 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    bgbf a "$CT/cfg" 60 run -n 1 -p 0.5 --timeout 20 -- "$PROBE" ctx total 512 meminfo env \
        touch "$CT/a.ready" wait "$CT/b.ready" 20
    local pa=$BGPID
    bgbf b "$CT/cfg" 60 run -n 1 -p 0.5 --timeout 20 -- "$PROBE" ctx total 512 meminfo env \
        touch "$CT/b.ready" wait "$CT/a.ready" 20
    local pb=$BGPID ra rb
    wait_exit "$pa" 50; ra=$?
    wait_exit "$pb" 50; rb=$?
    if [ "$ra" = 0 ] && [ "$rb" = 0 ]; then
        pass "$n (leases $(lease8 "$CT/a.out") and $(lease8 "$CT/b.out"), overlapping)"
    else
        fail "$n" "exit statuses $ra and $rb" "$CT/a.out" "$CT/a.err" "$CT/b.out" "$CT/b.err" "$CT/s.log"
    fi
}

# 2: a third -p 0.5 waits (saying so once) and runs when one of the first two ends
case_2() {
    local n="2 a third 'run -p 0.5' waits while the GPU is full, says so once, and runs when one ends"
    start_srv s 1 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    bgbf a "$CT/cfg" 60 run -n 1 -p 0.5 --timeout 20 -- "$PROBE" ctx touch "$CT/a.ready" wait "$CT/a.go" 40
    local pa=$BGPID
    bgbf b "$CT/cfg" 60 run -n 1 -p 0.5 --timeout 20 -- "$PROBE" ctx touch "$CT/b.ready" wait "$CT/b.go" 40
    local pb=$BGPID
    if ! wait_file "$CT/a.ready" 20 "$pa" || ! wait_file "$CT/b.ready" 20 "$pb"; then
        fail "$n" "the first two did not start" "$CT/a.out" "$CT/a.err" "$CT/b.out" "$CT/b.err" "$CT/s.log"
        return
    fi
    bgbf c "$CT/cfg" 60 run -n 1 -p 0.5 --timeout 30 -- "$PROBE" ctx total 512 touch "$CT/c.started"
    local pc=$BGPID i
    # until it says it waits (or ends), then a little longer: it must not have started
    for i in $(seq 1 200); do grep -qi wait "$CT/c.err" 2>/dev/null && break; alive "$pc" || break; sleep 0.05; done
    sleep 1
    if [ -e "$CT/c.started" ]; then
        fail "$n" "the third started while two halves were leased" "$CT/c.out" "$CT/c.err"; return
    fi
    if ! alive "$pc"; then
        wait "$pc"
        fail "$n" "the third ended (exit $?) instead of waiting" "$CT/c.out" "$CT/c.err"; return
    fi
    touch "$CT/a.go"
    local ra rc_ t0
    wait_exit "$pa" 15; ra=$?
    t0=$(now)
    if [ "$ra" != 0 ]; then
        fail "$n" "the first program failed (exit $ra)" "$CT/a.out" "$CT/a.err"; return
    fi
    if ! wait_file "$CT/c.started" 10 "$pc"; then
        fail "$n" "the third did not start within 10 s of the first's end" "$CT/c.out" "$CT/c.err" "$CT/s.log"
        return
    fi
    local took
    took=$(elapsed "$t0")
    wait_exit "$pc" 20; rc_=$?
    touch "$CT/b.go"
    wait_exit "$pb" 15
    local nwait
    nwait=$(grep -ci 'wait' "$CT/c.err")
    if [ "$rc_" != 0 ]; then
        fail "$n" "the third failed (exit $rc_)" "$CT/c.out" "$CT/c.err"
    elif [ "$nwait" != 1 ]; then
        fail "$n" "the third's stderr has $nwait lines about waiting (want 1)" "$CT/c.err"
    else
        pass "$n (started ${took} s after the first ended; said: '$(grep -i -m1 wait "$CT/c.err" | cut -c1-100)')"
    fi
}

# 3: the partition's boundary is exact, and the neighbour in the other half is unaffected
case_3() {
    local n="3 allocating past the partition gives CUDA_ERROR_OUT_OF_MEMORY at the exact boundary"
    local n2="3 the neighbour in the other half allocates its whole 512 MiB at the same time"
    start_srv s 1 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    bgbf a "$CT/cfg" 60 run -n 1 -p 0.5 --timeout 20 -- "$PROBE" ctx total 512 touch "$CT/a.ready" \
        wait "$CT/b.ready" 20 alloc mem free ok meminfo touch "$CT/a.full" wait "$CT/b.full" 20 \
        alloc mem 1 oom alloc mem 1M oom touch "$CT/a.done" wait "$CT/b.done" 20
    local pa=$BGPID
    bgbf b "$CT/cfg" 60 run -n 1 -p 0.5 --timeout 20 -- "$PROBE" ctx total 512 touch "$CT/b.ready" \
        wait "$CT/a.ready" 20 wait "$CT/a.full" 20 alloc mem free ok meminfo touch "$CT/b.full" \
        alloc mem 1 oom touch "$CT/b.done" wait "$CT/a.done" 20
    local pb=$BGPID ra rb
    wait_exit "$pa" 50; ra=$?
    wait_exit "$pb" 50; rb=$?
    if [ "$ra" = 0 ] && grep -q '^alloc mem 536870912 -> CUDA_SUCCESS' "$CT/a.out" &&
       grep -q '^alloc mem 1 -> CUDA_ERROR_OUT_OF_MEMORY' "$CT/a.out"; then
        pass "$n (512 MiB = cuMemGetInfo's free: CUDA_SUCCESS; 1 byte more: CUDA_ERROR_OUT_OF_MEMORY)"
    else
        fail "$n" "exit $ra" "$CT/a.out" "$CT/a.err" "$CT/s.log"
    fi
    if [ "$rb" = 0 ] && grep -q '^alloc mem 536870912 -> CUDA_SUCCESS' "$CT/b.out"; then
        pass "$n2"
    else
        fail "$n2" "exit $rb" "$CT/b.out" "$CT/b.err"
    fi
}

# 4: -m 256
case_4() {
    local n="4 'run -m 256' gives a 256 MiB partition (totals; its whole free fits, 1 byte more does not)"
    start_srv s 1 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    if bf "$CT/cfg" 60 run -n 1 -m 256 --timeout 20 -- "$PROBE" ctx total 256 alloc mem free ok alloc mem 1 oom \
        >"$CT/out" 2>"$CT/err"; then
        pass "$n"
    else
        fail "$n" "exit $?" "$CT/out" "$CT/err" "$CT/s.log"
    fi
}

# 5: stream-ordered and VMM allocations count against the partition
case_5() {
    start_srv s 1 1024 || { fail "5 stream-ordered and VMM allocations" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    local k what
    for k in async pool vmm; do
        case $k in
        async) what="cuMemAllocAsync" ;;
        pool) what="cuMemAllocFromPoolAsync (cuMemPoolCreate)" ;;
        vmm) what="cuMemCreate (granularity from cuMemGetAllocationGranularity)" ;;
        esac
        local n="5 $what counts against the partition: free drops by it, beyond the partition is OUT_OF_MEMORY, free returns it"
        if bf "$CT/cfg" 60 run -n 1 -p 0.5 --timeout 20 -- "$PROBE" ctx total 512 mark alloc $k 100M ok checkmark \
            alloc $k free+1 oom alloc $k 64M ok checkmark alloc mem free ok alloc $k 1M oom freeall checkmark \
            >"$CT/$k.out" 2>"$CT/$k.err"; then
            pass "$n"
        else
            fail "$n" "exit $?" "$CT/$k.out" "$CT/$k.err"
        fi
    done
}

# 6: the context's reservation counts
case_6() {
    local n="6 with BITFUSION_EMU_CTX_RESERVE_MB=16 on the server, a -m 256 partition shows 240 MiB free after context creation"
    SRV_ENV="BITFUSION_EMU_CTX_RESERVE_MB=16" start_srv s 1 1024 ||
        { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    if bf "$CT/cfg" 60 run -n 1 -m 256 --timeout 20 -- "$PROBE" ctx total 256 free 240 alloc mem free ok \
        alloc mem 1 oom >"$CT/out" 2>"$CT/err"; then
        pass "$n"
    else
        fail "$n" "exit $?" "$CT/out" "$CT/err" "$CT/s.log"
    fi
}

# 7: forked workers share their parent's lease
case_7() {
    local n1="7 two forked children each allocating 60% of the partition: exactly one gets OUT_OF_MEMORY"
    local n2="7 a forked child allocates 40% while its parent holds 40%; each process's cuMemGetInfo counts both"
    start_srv s 1 1024 || { fail "$n1" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    if bf "$CT/cfg" 60 run -n 1 -p 0.5 --timeout 20 -- "$FORK" split >"$CT/split.out" 2>"$CT/split.err"; then
        pass "$n1"
    else
        fail "$n1" "exit $?" "$CT/split.out" "$CT/split.err" "$CT/s.log"
    fi
    if bf "$CT/cfg" 60 run -n 1 -p 0.5 --timeout 20 -- "$FORK" share >"$CT/share.out" 2>"$CT/share.err"; then
        pass "$n2"
    else
        fail "$n2" "exit $?" "$CT/share.out" "$CT/share.err" "$CT/s.log"
    fi
}

# 8: request_gpus / client / list_gpus / release_gpus
case_8() {
    local n="8 request_gpus / client / list_gpus / release_gpus"
    start_srv s 1 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    local cfg=$CT/cfg r=$CT/res.conf
    mk_cfg "$cfg" 5 "127.0.0.1:$PORT"
    bf "$cfg" 30 request_gpus -n 1 -p 0.5 -f "$r" >"$CT/req.out" 2>&1
    local rc=$? id keeper
    id=$(sed -n 's/^lease: *"\{0,1\}\([0-9a-fA-F]\{32\}\)"\{0,1\} *$/\1/p' "$r" 2>/dev/null | head -n 1)
    keeper=$(sed -n 's/^keeper_pid: *\([0-9][0-9]*\) *$/\1/p' "$r" 2>/dev/null | head -n 1)
    [ -n "$keeper" ] && KEEPERS+=("$keeper")
    if [ "$rc" = 0 ] && [ -n "$id" ] && [ -n "$keeper" ] && grep -q "127.0.0.1:$PORT" "$r" &&
       grep -qE '^num_gpus: *1 *$' "$r" && grep -qE '^partition_mib: *512 *$' "$r" && grep -q "res.conf" "$CT/req.out"; then
        pass "8 request_gpus -n 1 -p 0.5 -f FILE writes the reservation (server, lease, 512 MiB, keeper) and prints its path"
    else
        fail "8 request_gpus -n 1 -p 0.5 -f FILE" "exit $rc" "$CT/req.out" "$r" "$CT/s.log"
        return
    fi
    if [ -n "$keeper" ] && alive "$keeper"; then
        pass "8 the keeper process ($keeper) holds the reservation"
    else
        fail "8 the keeper process holds the reservation" "keeper_pid $keeper is not running" "$r"
    fi
    if bf "$cfg" 60 client -f "$r" -- "$PROBE" ctx total 512 env >"$CT/client.out" 2>"$CT/client.err" &&
       grep -q "^env BITFUSION_LEASE=$id@" "$CT/client.out"; then
        pass "8 'client -f FILE -- prog' runs in the reservation's lease and sees 512 MiB"
    else
        fail "8 client -f FILE -- prog" "exit $? (lease in the file: $id)" "$CT/client.out" "$CT/client.err"
    fi
    lg "$cfg" "$CT/lg1.out"
    local id8=${id:0:8}
    if grep -iE 'partition +512 *MiB' "$CT/lg1.out" | grep -qi "$id8" && [ "$(n_parts "$CT/lg1.out")" = 1 ] &&
       grep -E 'GPU 0:' "$CT/lg1.out" | grep -qE '(^|[^0-9])512 MiB free'; then
        pass "8 list_gpus shows the reserved 512 MiB partition (lease $id8) and 512 MiB free"
    else
        fail "8 list_gpus shows the reserved partition" "no 'partition 512 MiB ... lease $id8' line" "$CT/lg1.out"
    fi
    if bf "$cfg" 30 release_gpus -f "$r" >"$CT/rel.out" 2>&1; then
        local i gone=0
        for i in $(seq 1 100); do alive "$keeper" || { gone=1; break; }; sleep 0.05; done
        if ! no_partitions "$cfg" "$CT/lg2.out" 5; then
            fail "8 release_gpus frees the GPU" "list_gpus still shows a partition" "$CT/lg2.out" "$CT/rel.out"
        elif ! grep -E 'GPU 0:' "$CT/lg2.out" | grep -qE '(^|[^0-9])1024 MiB free'; then
            fail "8 release_gpus frees the GPU" "GPU 0 does not show 1024 MiB free" "$CT/lg2.out"
        elif [ "$gone" != 1 ]; then
            fail "8 release_gpus ends the keeper" "keeper $keeper still runs 5 s later" "$CT/rel.out"
        else
            pass "8 release_gpus -f FILE: list_gpus shows the GPU free again, the keeper is gone"
        fi
    else
        fail "8 release_gpus -f FILE" "exit $?" "$CT/rel.out"
    fi
}

# 9: a SIGKILLed client's lease is reclaimed
case_9() {
    local n="9 a SIGKILLed 'bitfusion run' and its program: lease reclaimed"
    start_srv s 1 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    local cfg=$CT/cfg to=3
    mk_cfg "$cfg" "$to" "127.0.0.1:$PORT"
    bgbf h "$cfg" 60 run -n 1 -p 0.5 -- "$PROBE" ctx alloc mem 256M ok pid "$CT/prog.pid" touch "$CT/h.ready" sleep 50
    local ph=$BGPID
    if ! wait_file "$CT/h.ready" 20 "$ph"; then
        fail "$n" "the program did not start" "$CT/h.out" "$CT/h.err" "$CT/s.log"; return
    fi
    local prog
    prog=$(cat "$CT/prog.pid")
    kill -KILL -- "-$ph"        # timeout, bitfusion and the program: one process group
    kill -KILL "$prog" 2>/dev/null
    wait_exit "$ph" 5 >/dev/null
    local t0 i
    t0=$(now)
    for i in $(seq 1 40); do alive "$prog" || break; sleep 0.05; done
    local limit=$((to + 5))
    if no_partitions "$cfg" "$CT/lg.out" "$limit"; then
        pass "9 list_gpus shows no partition $(elapsed "$t0") s after the kill (client timeout $to s)"
    else
        fail "9 list_gpus shows no partition within $limit s of the kill" "it still does" "$CT/lg.out" "$CT/s.log"
    fi
    local left
    left=$(awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN { x = int(l - (b - a)); print x < 1 ? 1 : x }')
    if bf "$cfg" 60 run -n 1 -p 1.0 --timeout "$left" -- "$PROBE" ctx total 1024 alloc mem free ok \
        >"$CT/whole.out" 2>"$CT/whole.err"; then
        pass "9 a whole-GPU ('-p 1.0') run gets all 1024 MiB $(elapsed "$t0") s after the kill"
    else
        fail "9 a whole-GPU run gets all 1024 MiB within $limit s of the kill" "exit $?" "$CT/whole.out" \
            "$CT/whole.err" "$CT/s.log"
    fi
}

# 10: two servers: placement by free memory, -l, filters
case_10() {
    start_srv s1 2 1024 || { fail "10 two servers" "bitfusiond s1 did not start" "$CT/s1.log"; return; }
    start_srv s2 1 1024 || { fail "10 two servers" "bitfusiond s2 did not start" "$CT/s2.log"; return; }
    local a1=127.0.0.1:$PORT_s1 a2=127.0.0.1:$PORT_s2 cfg=$CT/cfg got
    mk_cfg "$cfg" 5 "$a1" "$a2"
    # half of s2's only GPU, held
    bgbf h "$cfg" 60 run -n 1 -p 0.5 -l "$a2" --timeout 20 -- "$PROBE" ctx env touch "$CT/h.ready" wait "$CT/h.go" 40
    local ph=$BGPID
    if ! wait_file "$CT/h.ready" 20 "$ph"; then
        fail "10 -l HOST:PORT picks that server" "the program did not start" "$CT/h.out" "$CT/h.err" "$CT/s2.log"
        return
    fi
    got=$(server_of "$CT/h.out")
    [ "$got" = "$a2" ] && pass "10 -l $a2 leases on that server" ||
        fail "10 -l $a2 leases on that server" "the program's lease is at '$got'" "$CT/h.out"
    # placement: s1 has 1024 MiB free on a GPU, s2 512
    if bf "$cfg" 60 run -n 1 -p 0.25 --timeout 20 -- "$PROBE" ctx env >"$CT/p.out" 2>"$CT/p.err" &&
       [ "$(server_of "$CT/p.out")" = "$a1" ]; then
        pass "10 placement by free memory: with half of s2 leased, the next lease goes to s1"
    else
        fail "10 placement by free memory" "want $a1, got '$(server_of "$CT/p.out")'" "$CT/p.out" "$CT/p.err"
    fi
    if bf "$cfg" 60 run -n 1 -p 0.25 -l "$a2" --timeout 20 -- "$PROBE" ctx env >"$CT/l.out" 2>"$CT/l.err" &&
       [ "$(server_of "$CT/l.out")" = "$a2" ]; then
        pass "10 -l restricts to one server even when another has more free memory"
    else
        fail "10 -l restricts to one server" "want $a2, got '$(server_of "$CT/l.out")'" "$CT/l.out" "$CT/l.err"
    fi
    if bf "$cfg" 60 run -n 1 -p 0.25 --filter "server.addr=$a2" --timeout 20 -- "$PROBE" ctx env \
        >"$CT/f.out" 2>"$CT/f.err" && [ "$(server_of "$CT/f.out")" = "$a2" ]; then
        pass "10 --filter server.addr=$a2 picks that server"
    else
        fail "10 --filter server.addr=..." "want $a2, got '$(server_of "$CT/f.out")'" "$CT/f.out" "$CT/f.err"
    fi
    # device.id=1: only s1 has a GPU 1; the program must see physical GPU 1 (its UUID), and list_gpus
    # must show the partition on GPU 1
    bgbf d "$cfg" 60 run -n 1 -p 0.25 --filter "device.id=1" --timeout 20 -- "$PROBE" ctx info env \
        touch "$CT/d.ready" wait "$CT/d.go" 40
    local pd=$BGPID
    if wait_file "$CT/d.ready" 20 "$pd"; then
        lg "$cfg" "$CT/lg.out"
        touch "$CT/d.go"
        wait_exit "$pd" 20
        local rc=$? uuid g1
        uuid=$(sed -n 's/^device 0 name=.* uuid=\(GPU-[0-9a-f-]*\) .*/\1/p' "$CT/d.out" | head -n 1)
        g1=$(section "$CT/lg.out" "$a1" | grep -E 'GPU 1:')
        if [ "$rc" != 0 ] || [ "$(server_of "$CT/d.out")" != "$a1" ] || [ -z "$UUID1" ] || [ "$uuid" != "$UUID1" ]; then
            fail "10 --filter device.id=1 leases GPU 1" "exit $rc, server '$(server_of "$CT/d.out")' (want $a1), UUID $uuid (GPU 1's: $UUID1)" \
                "$CT/d.out" "$CT/d.err"
        elif ! echo "$g1" | grep -qE '(^|[^0-9])1 partition'; then
            fail "10 --filter device.id=1: list_gpus shows the partition on GPU 1" "GPU 1 line: '$g1'" "$CT/lg.out"
        else
            pass "10 --filter device.id=1 leases s1's GPU 1 (the program sees its UUID; list_gpus shows it there)"
        fi
    else
        fail "10 --filter device.id=1" "the program did not start" "$CT/d.out" "$CT/d.err"
    fi
    # no GPU has 999999 MiB: one line, non-zero, the program never runs
    local t0
    t0=$(now)
    bf "$cfg" 30 run -n 1 -p 0.25 --filter "device.phy-memory>=999999" --timeout 2 -- "$PROBE" touch "$CT/nomatch.ran" \
        >"$CT/nm.out" 2>"$CT/nm.err"
    local rc=$? nl ok=0
    # one line; or a waiting line and then the one line
    nl=$(count_lines "$CT/nm.err")
    if [ "$nl" = 1 ] || { [ "$nl" = 2 ] && grep -m1 . "$CT/nm.err" | grep -qi wait; }; then ok=1; fi
    if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ ! -e "$CT/nomatch.ran" ] && [ "$ok" = 1 ] && [ ! -s "$CT/nm.out" ]; then
        pass "10 --filter device.phy-memory>=999999 fails in one line ($(elapsed "$t0") s): $(grep . "$CT/nm.err" | tail -n 1 | cut -c1-110)"
    else
        fail "10 --filter device.phy-memory>=999999 fails in one line" "exit $rc, $nl lines on stderr" "$CT/nm.out" "$CT/nm.err"
    fi
    touch "$CT/h.go"
    wait_exit "$ph" 20 >/dev/null
}

# 11: list_gpus and smi
case_11() {
    start_srv s 2 1024 || { fail "11 list_gpus and smi" "bitfusiond did not start" "$CT/s.log"; return; }
    local cfg=$CT/cfg a=127.0.0.1:$PORT
    mk_cfg "$cfg" 5 "$a"
    bgbf h "$cfg" 60 run -n 1 -p 0.5 --timeout 20 -- "$PROBE" ctx alloc mem 100M ok env pid "$CT/prog.pid" \
        touch "$CT/h.ready" wait "$CT/h.go" 40
    local ph=$BGPID
    if ! wait_file "$CT/h.ready" 20 "$ph"; then
        fail "11 list_gpus and smi" "the holding program did not start" "$CT/h.out" "$CT/h.err" "$CT/s.log"; return
    fi
    local id8 prog bfpid
    id8=$(lease8 "$CT/h.out")
    id8=${id8:-no-lease-id}
    prog=$(cat "$CT/prog.pid")
    bfpid=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$prog/status" 2>/dev/null)
    lg "$cfg" "$CT/lg.out"
    local rc=$?
    bf "$cfg" 15 smi >"$CT/smi.out" 2>&1
    local src=$?
    touch "$CT/h.go"
    wait_exit "$ph" 20 >/dev/null
    local o=$CT/lg.out busy idle part why=""
    busy=$(grep -E 'GPU [01]:' "$o" | grep -E '(^|[^0-9])1024 MiB' | grep -E '(^|[^0-9])512 MiB free' |
        grep -cE '(^|[^0-9])1 partition')
    idle=$(grep -E 'GPU [01]:' "$o" | grep -E '(^|[^0-9])1024 MiB free' | grep -cE '(^|[^0-9])0 partition')
    part=$(grep -iE 'partition +512 *MiB' "$o")
    [ "$rc" = 0 ] || why="exit $rc"
    grep -iE '^ *server' "$o" | grep -F "$a" | grep -qE '(^|[^0-9])2 GPU' || why="$why; no 'SERVER $a ...: 2 GPUs' line"
    [ "$(grep -cE 'GPU [01]:' "$o")" = 2 ] || why="$why; not two 'GPU i:' lines"
    [ -n "$EMU_NAME" ] && { [ "$(grep -E 'GPU [01]:' "$o" | grep -cF "$EMU_NAME")" = 2 ] || why="$why; GPU lines lack the name '$EMU_NAME'"; }
    [ "$busy" = 1 ] || why="$why; no GPU line with '1024 MiB', '512 MiB free', '1 partition'"
    [ "$idle" = 1 ] || why="$why; no GPU line with '1024 MiB free', '0 partitions'"
    [ "$(n_parts "$o")" = 1 ] || why="$why; not exactly one partition line"
    echo "$part" | grep -qE '(^|[^0-9])used +100 *MiB' || why="$why; the partition line lacks 'used 100 MiB'"
    [ -n "$id8" ] && echo "$part" | grep -qi "lease *$id8" || why="$why; the partition line lacks 'lease $id8'"
    echo "$part" | grep -qE "lease_probe|pid $bfpid([^0-9]|$)|pid $prog([^0-9]|$)" ||
        why="$why; the partition line names no holder (pid $bfpid or lease_probe)"
    if [ -z "$why" ]; then
        pass "11 list_gpus: server line, GPU lines (name, 1024 MiB, free, partitions), partition line (512 MiB, used 100 MiB, lease $id8, holder)"
    else
        fail "11 list_gpus output" "${why#; }" "$o"
    fi
    why=""
    [ "$src" = 0 ] || why="exit $src"
    [ -z "$EMU_NAME" ] || grep -qF "$EMU_NAME" "$CT/smi.out" || why="$why; no GPU name"
    grep -q '1024' "$CT/smi.out" || why="$why; no 1024 (MiB)"
    grep -q '512' "$CT/smi.out" || why="$why; no 512 (MiB partition)"
    grep -qiE "$id8|(^|[^0-9])$prog([^0-9]|$)" "$CT/smi.out" || why="$why; neither the lease ($id8) nor the program's pid ($prog)"
    if [ -z "$why" ]; then
        pass "11 smi shows the GPUs (name, 1024 MiB), the 512 MiB partition and its lease or process"
    else
        fail "11 smi output" "${why#; }" "$CT/smi.out"
    fi
}

# 12: NVML
case_12() {
    local n="12 NVML (libnvidia-ml.so.1 from the client library) agrees with CUDA in a 512 MiB partition"
    start_srv s 1 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    if bf "$CT/cfg" 60 run -n 1 -p 0.5 --timeout 20 -- "$NVML" 512 >"$CT/out" 2>"$CT/err" &&
       grep -q '^lease_nvml: passed' "$CT/out"; then
        pass "$n (count, name, UUID, memory total/used, own pid among the processes, utilization)"
    else
        fail "$n" "exit $?" "$CT/out" "$CT/err"
    fi
}

# 13: malformed files: one line naming the file and line, non-zero, no hang
case_13() {
    start_srv s 1 1024 || { fail "13 malformed files" "bitfusiond did not start" "$CT/s.log"; return; }
    local good=$CT/good
    mk_cfg "$good" 3 "127.0.0.1:$PORT"
    # bad_file NAME EXPECT(regex) CMD...: non-zero (not a timeout), one line matching EXPECT
    bad_file() {
        local name=$1 expect=$2 out=$CT/bad.$RANDOM
        shift 2
        "$@" >"$out" 2>&1 </dev/null
        local rc=$?
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
            fail "$name" "it hung (killed after its limit)" "$out"
        elif [ "$rc" = 0 ]; then
            fail "$name" "it succeeded" "$out"
        elif [ "$(count_lines "$out")" != 1 ] || ! grep -qE "$expect" "$out"; then
            fail "$name" "exit $rc; want one line matching '$expect'" "$out"
        else
            pass "$name: $(cut -c1-120 "$out")"
        fi
    }
    local c=$CT/c1
    mk_cfg "$c" 3 "127.0.0.1:$PORT"
    printf 'tls:\n  ca: [tls/ca.crt\n  cert: tls/client.crt\ntimeout: 3\n' >"$c/client.yaml"
    bad_file "13 client.yaml with a syntax error (list_gpus)" "client\.yaml:[0-9]+:" bf "$c" 15 list_gpus
    bad_file "13 client.yaml with a syntax error (run -p 0.5)" "client\.yaml:[0-9]+:" bf "$c" 15 run -n 1 -p 0.5 -- true
    c=$CT/c2
    mk_cfg "$c" 3 "127.0.0.1:$PORT"
    printf 'servers: 56001\n' >"$c/servers.conf"
    bad_file "13 servers.conf with a wrong type (list_gpus)" "servers\.conf:1:" bf "$c" 15 list_gpus
    printf 'servers:\n  - addresses: {host: 127.0.0.1}\n' >"$c/servers.conf"
    bad_file "13 servers.conf with a wrong type (request_gpus)" "servers\.conf:2:" \
        bf "$c" 15 request_gpus -n 1 -p 0.5 -f "$CT/never.conf"
    mkdir -p "$CT/srvbad"
    sed '/^emu:/a lease_idel_limit: 5' "$CT/s.yaml" >"$CT/srvbad/bitfusiond.yaml"
    local line
    line=$(grep -n lease_idel_limit "$CT/srvbad/bitfusiond.yaml" | cut -d: -f1)
    bad_file "13 bitfusiond.yaml with an unknown key" "bitfusiond\.yaml:$line:.*lease_idel_limit" \
        timeout -k 3 15 "$BITFUSIOND" --config "$CT/srvbad/bitfusiond.yaml"
    sed '/^emu:/a lease_idle_limit: soon' "$CT/s.yaml" >"$CT/srvbad/bitfusiond.yaml"
    bad_file "13 bitfusiond.yaml with a bad lease_idle_limit" "bitfusiond\.yaml:$line:.*lease_idle_limit.*(must|soon)" \
        timeout -k 3 15 "$BITFUSIOND" --config "$CT/srvbad/bitfusiond.yaml"
    printf '# bitfusion reservation\nserver: [127.0.0.1:%s\nlease: zz\n' "$PORT" >"$CT/garbage.conf"
    bad_file "13 a reservation file that is not YAML (release_gpus)" "garbage\.conf:[0-9]+:" \
        bf "$good" 15 release_gpus -f "$CT/garbage.conf"
    bad_file "13 a reservation file that is not YAML (client)" "garbage\.conf:[0-9]+:" \
        bf "$good" 15 client -f "$CT/garbage.conf" -- true
    printf '# bitfusion reservation\nserver: 127.0.0.1:%s\nlease: 0123456789abcdef0123456789abcdef\nnum_gpus: lots\npartition_mib: 512\n' \
        "$PORT" >"$CT/badval.conf"
    bad_file "13 a reservation file with a bad value (release_gpus)" "badval\.conf:4:" \
        bf "$good" 15 release_gpus -f "$CT/badval.conf"
    printf 'just some text\n' >"$CT/text.conf"
    bad_file "13 a reservation file of plain text (client)" "text\.conf(:[0-9]+)?:" \
        bf "$good" 15 client -f "$CT/text.conf" -- true
    bad_file "13 a missing reservation file (release_gpus)" "nothere\.conf" \
        bf "$good" 15 release_gpus -f "$CT/nothere.conf"
}

# 14: the client library preloaded on its own leases at cuInit and releases at exit
case_14() {
    local n="14 plain LD_PRELOAD with BITFUSION_PARTIAL=0.5 leases on its own (the program sees 512 MiB; list_gpus shows the partition)"
    start_srv s 1 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    local cfg=$CT/cfg
    mk_cfg "$cfg" 5 "127.0.0.1:$PORT"
    setsid timeout -k 3 60 env BITFUSION_CONFIG_DIR="$cfg" BITFUSION_PARTIAL=0.5 BITFUSION_TIMEOUT=20 \
        LD_PRELOAD="$CLIENT_LIB" "$PROBE" ctx total 512 env touch "$CT/p.ready" wait "$CT/p.go" 40 \
        >"$CT/p.out" 2>"$CT/p.err" </dev/null &
    local pp=$!
    BG_PIDS+=("$pp")
    if ! wait_file "$CT/p.ready" 20 "$pp"; then
        fail "$n" "the program did not get to its checks" "$CT/p.out" "$CT/p.err" "$CT/s.log"; return
    fi
    lg "$cfg" "$CT/lg1.out"
    touch "$CT/p.go"
    wait_exit "$pp" 20
    local rc=$?
    if [ "$rc" = 0 ] && [ "$(n_parts "$CT/lg1.out")" = 1 ] && grep -qiE 'partition +512 *MiB' "$CT/lg1.out"; then
        pass "$n"
    else
        fail "$n" "exit $rc" "$CT/p.out" "$CT/p.err" "$CT/lg1.out"
    fi
    if no_partitions "$cfg" "$CT/lg2.out" 5; then
        pass "14 ... and releases the lease at exit (list_gpus shows no partition)"
    else
        fail "14 plain LD_PRELOAD releases the lease at exit" "list_gpus still shows a partition 5 s later" "$CT/lg2.out"
    fi
    if timeout -k 3 60 env BITFUSION_CONFIG_DIR="$cfg" BITFUSION_MEMORY=256 BITFUSION_TIMEOUT=20 LD_PRELOAD="$CLIENT_LIB" \
        "$PROBE" ctx total 256 >"$CT/m.out" 2>"$CT/m.err" </dev/null; then
        pass "14 plain LD_PRELOAD with BITFUSION_MEMORY=256 sees 256 MiB"
    else
        fail "14 plain LD_PRELOAD with BITFUSION_MEMORY=256" "exit $?" "$CT/m.out" "$CT/m.err"
    fi
}

# 15: -n 2
case_15() {
    local n="15 'run -n 2 -p 0.5' on a 2-GPU server: devices 0 and 1, distinct UUIDs, 512 MiB each"
    start_srv s 2 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    if bf "$CT/cfg" 60 run -n 2 -p 0.5 --timeout 20 -- "$PROBE" count 2 alltotal 512 info >"$CT/out" 2>"$CT/err"; then
        local u0 u1
        u0=$(sed -n 's/^device 0 name=.* uuid=\(GPU-[0-9a-f-]*\) .*/\1/p' "$CT/out")
        u1=$(sed -n 's/^device 1 name=.* uuid=\(GPU-[0-9a-f-]*\) .*/\1/p' "$CT/out")
        if { [ "$u0" = "$UUID0" ] && [ "$u1" = "$UUID1" ]; } || { [ "$u0" = "$UUID1" ] && [ "$u1" = "$UUID0" ]; }; then
            pass "$n"
        else
            fail "$n" "the UUIDs ($u0, $u1) are not the server's two GPUs' ($UUID0, $UUID1)" "$CT/out"
        fi
    else
        fail "$n" "exit $?" "$CT/out" "$CT/err"
    fi
}

# 16: a CUDA runtime program
case_16() {
    local n="16 a CUDA runtime program (static cudart) in 'run -p 0.25': cudaMemGetInfo and totalGlobalMem are 256 MiB"
    [ -x "$RTPROG" ] || { skip "$n" "$RTPROG is not built (nvcc)"; return; }
    start_srv s 1 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    if bf "$CT/cfg" 60 run -n 1 -p 0.25 --timeout 20 -- "${RTRUN[@]}" "$RTPROG" 256 >"$CT/out" 2>"$CT/err" &&
       grep -q '^lease_rt: passed' "$CT/out"; then
        pass "$n"
    else
        fail "$n" "exit $?" "$CT/out" "$CT/err"
    fi
    n="16 the same with -cudart shared"
    if [ ! -x "$RTPROG.shared" ]; then
        skip "$n" "$RTPROG.shared is not built"
    elif bf "$CT/cfg" 60 run -n 1 -p 0.25 --timeout 20 -- "${RTRUN[@]}" "$RTPROG.shared" 256 >"$CT/sh.out" 2>"$CT/sh.err" &&
       grep -q '^lease_rt: passed' "$CT/sh.out"; then
        pass "$n"
    else
        fail "$n" "exit $?" "$CT/sh.out" "$CT/sh.err"
    fi
}

# 17: health
case_17() {
    start_srv s1 1 1024 || { fail "17 health" "bitfusiond s1 did not start" "$CT/s1.log"; return; }
    start_srv s2 1 1024 || { fail "17 health" "bitfusiond s2 did not start" "$CT/s2.log"; return; }
    local a1=127.0.0.1:$PORT_s1 a2=127.0.0.1:$PORT_s2 cfg=$CT/cfg
    mk_cfg "$cfg" 3 "$a1" "$a2"
    bf "$cfg" 20 health >"$CT/good.out" 2>&1
    local rc=$?
    if [ "$rc" = 0 ] && grep -qw 'OK' "$CT/good.out"; then
        pass "17 health with two good servers exits 0 and prints OK lines"
    else
        fail "17 health with two good servers exits 0 and prints OK lines" "exit $rc" "$CT/good.out"
    fi
    stop_srv s2
    local t0
    t0=$(now)
    bf "$cfg" 20 health >"$CT/down.out" 2>&1
    rc=$?
    if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -qF "$a2" "$CT/down.out"; then
        pass "17 health with one server down exits $rc and names it ($(elapsed "$t0") s)"
    else
        fail "17 health with one server down exits non-zero and names $a2" "exit $rc" "$CT/down.out"
    fi
}

# 18: lease_idle_limit ends a reservation no program uses
case_18() {
    local n="18 lease_idle_limit: 2 ends an unused reservation (keeper gone, GPU free) within a few seconds"
    start_srv s 1 1024 "lease_idle_limit: 2" ||
        { fail "$n" "bitfusiond did not start with lease_idle_limit: 2" "$CT/s.log"; return; }
    local cfg=$CT/cfg r=$CT/res.conf keeper
    mk_cfg "$cfg" 3 "127.0.0.1:$PORT"
    if ! bf "$cfg" 30 request_gpus -n 1 -p 0.5 -f "$r" >"$CT/req.out" 2>&1; then
        fail "$n" "request_gpus failed" "$CT/req.out"; return
    fi
    keeper=$(sed -n 's/^keeper_pid: *\([0-9][0-9]*\) *$/\1/p' "$r" 2>/dev/null | head -n 1)
    [ -n "$keeper" ] && KEEPERS+=("$keeper")
    local t0 i
    t0=$(now)
    for i in $(seq 1 160); do [ -n "$keeper" ] && alive "$keeper" || break; sleep 0.05; done
    if [ -n "$keeper" ] && alive "$keeper"; then
        fail "$n" "the keeper ($keeper) still runs $(elapsed "$t0") s later" "$CT/s.log"
    elif ! no_partitions "$cfg" "$CT/lg.out" 3; then
        fail "$n" "list_gpus still shows a partition" "$CT/lg.out"
    else
        pass "$n"
    fi
}

# 19: bitfusiond.yaml `devices: [1]` offers only the software GPU's second device
case_19() {
    local n="19 'devices: [1]' in bitfusiond.yaml: the server offers one GPU, the emu's device 1"
    start_srv s 2 1024 "devices: [1]" || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    lg "$CT/cfg" "$CT/lg.out"
    if ! grep -qE '1 GPUs?\b' "$CT/lg.out" || grep -q 'GPU 1:' "$CT/lg.out"; then
        fail "$n" "list_gpus does not show exactly one GPU" "$CT/lg.out"
    elif ! bf "$CT/cfg" 60 run -n 1 --timeout 10 -- "$PROBE" count 1 info >"$CT/out" 2>"$CT/err"; then
        fail "$n" "run failed" "$CT/out" "$CT/err"
    elif ! grep -q "uuid=$UUID1 " "$CT/out"; then
        fail "$n" "the program's device is not the emu's device 1 ($UUID1)" "$CT/out"
    else
        pass "$n"
    fi
}

# 20: a holder's command line with control characters reaches list_gpus as one printable line
case_20() {
    local n="20 list_gpus shows a holder's command with control characters as printable text"
    start_srv s 1 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/cfg" 5 "127.0.0.1:$PORT"
    bgbf run "$CT/cfg" 30 run -n 1 -p 0.5 -- env "BF_T=$(printf 'r\033[31md\nx')" sh -c "touch $CT/up; sleep 5"
    wait_file "$CT/up" 20 "$BGPID" || { fail "$n" "the program did not start" "$CT/run.err"; return; }
    lg "$CT/cfg" "$CT/lg.out"
    if ! grep -qF 'BF_T=r?[31md?x' "$CT/lg.out"; then
        fail "$n" "the holder is not shown with ? for the control characters" "$CT/lg.out"
    elif LC_ALL=C grep -q "$(printf '\033')" "$CT/lg.out"; then
        fail "$n" "an escape character reached the output" "$CT/lg.out"
    else
        pass "$n"
    fi
}

# 21: another tenant (another certificate name) can neither run in a lease it learnt the id of nor
# release it
case_21() {
    local n="21 a lease belongs to its certificate's name: another tenant cannot run in it or release it"
    start_srv s 1 1024 || { fail "$n" "bitfusiond did not start" "$CT/s.log"; return; }
    mk_cfg "$CT/alice" 5 "127.0.0.1:$PORT"
    mk_cfg "$CT/mallory" 5 "127.0.0.1:$PORT"
    if ! "$BITFUSIOND" pki client mallory --pki "$PKI" --out "$CT/mb" --server "127.0.0.1:$PORT" >"$CT/pki.out" 2>&1; then
        fail "$n" "pki client mallory failed" "$CT/pki.out"; return
    fi
    cp -r "$CT/mb/tls" "$CT/mallory/"
    if ! bf "$CT/alice" 30 request_gpus -n 1 -p 0.5 -f "$CT/res.conf" >"$CT/req.out" 2>&1; then
        fail "$n" "alice's request_gpus failed" "$CT/req.out"; return
    fi
    local keeper lease
    keeper=$(sed -n 's/^keeper_pid: *\([0-9][0-9]*\) *$/\1/p' "$CT/res.conf" | head -n 1)
    [ -n "$keeper" ] && KEEPERS+=("$keeper")
    lease=$(sed -n 's/^lease: *\([0-9a-f]*\) *$/\1/p' "$CT/res.conf" | head -n 1)
    cp "$CT/res.conf" "$CT/res.keep"
    BITFUSION_CONFIG_DIR=$CT/mallory BITFUSION_LEASE="$lease@127.0.0.1:$PORT" LD_PRELOAD=$CLIENT_LIB \
        timeout 30 "$PROBE" ctx total 512 \
        >"$CT/attach.out" 2>"$CT/attach.err" </dev/null
    local rc_attach=$?
    bf "$CT/mallory" 30 release_gpus -f "$CT/res.conf" >"$CT/rel.out" 2>&1
    lg "$CT/alice" "$CT/lg.out"
    if [ "$rc_attach" = 0 ]; then
        fail "$n" "mallory's program ran in alice's lease" "$CT/attach.out" "$CT/attach.err"
    elif ! grep -q "no such lease" "$CT/attach.err"; then
        fail "$n" "mallory's program was not told 'no such lease'" "$CT/attach.err"
    elif [ "$(n_parts "$CT/lg.out")" != 1 ] || ! grep -q "lease ${lease:0:8}" "$CT/lg.out"; then
        fail "$n" "alice's lease is gone after mallory's release_gpus" "$CT/lg.out" "$CT/rel.out"
    elif ! bf "$CT/alice" 30 client -f "$CT/res.keep" -- "$PROBE" ctx total 512 >"$CT/alice.out" 2>&1; then
        fail "$n" "alice cannot run in her lease any more" "$CT/alice.out"
    else
        pass "$n"
    fi
    bf "$CT/alice" 30 release_gpus -f "$CT/res.keep" >/dev/null 2>&1
}

CASES=${LEASE_CASES:-0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21}
case " $CASES " in *" 0 "*) ;; *) CASES="0 $CASES" ;; esac   # case 0 learns the GPUs' name and UUIDs
for c in $CASES; do
    if ! declare -F "case_$c" >/dev/null; then
        fail "$c" "no such case"; continue
    fi
    CT=$T/case$c
    mkdir -p "$CT"
    BG_PIDS=() SRV_PIDS=() KEEPERS=()
    "case_$c"
    cleanup_case
done

# sanitizer reports in any server's log (its workers run the software GPU)
bad_logs=()
for l in "${ALL_LOGS[@]}"; do
    grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$l" 2>/dev/null && bad_logs+=("$l")
done
[ ${#bad_logs[@]} -eq 0 ] || fail "no sanitizer reports in the bitfusiond logs" "${#bad_logs[@]} logs have some" "${bad_logs[@]}"
summary
[ "$failed" -eq 0 ]
