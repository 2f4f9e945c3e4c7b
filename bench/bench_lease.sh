#!/usr/bin/env bash
# bench/bench_lease.sh: what leasing costs a program, against a baseline measured in the same run
# (`make bench-lease`; figures in bench/RESULTS.md). One software-GPU bitfusiond on loopback with a
# throwaway PKI; the program is tests/lease/lease_probe doing cuInit, a context, a 1 MiB cuMemAlloc
# and its cuMemFree. Medians of RUNS (default 15) runs of each:
#   inside    `bitfusion client` in a lease reserved beforehand (request_gpus): no lease taken: the
#             baseline (connection, session, the calls, the session's end);
#   run       `bitfusion run -n 1 -p 0.5`: the pool asked, a lease taken and released around it;
#   preload   plain LD_PRELOAD with BITFUSION_PARTIAL=0.5: the client library leases on its own;
#   alloc     cuMemAlloc+cuMemFree pairs inside a lease (each call a round trip, charged to the
#             partition) against pairs of cuCtxGetDevice (round trips that touch no memory), in
#             the same program: medians over 5 programs of 2,000 pairs each.
set -u
B=${B:-build}
RUNS=${RUNS:-15}
case "$B" in /*) BD=$B ;; *) BD=$(pwd)/$B ;; esac
PROBE=$BD/tests/lease/lease_probe
BITFUSION=$BD/bin/bitfusion
for f in "$PROBE" "$BITFUSION" "$BD/sbin/bitfusiond" "$BD/lib/bitfusion/client/libcuda.so.1"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "bench_lease: $f is missing; run 'make all' first" >&2; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/bf-bench-lease.XXXXXX")
srv=""
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

"$BD/sbin/bitfusiond" pki init "$T/pki" >/dev/null || exit 1
printf 'emu:\n  devices: 1\n  memory_mb: 4096\n' >>"$T/pki/bitfusiond.yaml"
"$BD/sbin/bitfusiond" --config "$T/pki/bitfusiond.yaml" --listen 127.0.0.1:0 --backend emu 2>"$T/server.log" &
srv=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$T/server.log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "bench_lease: bitfusiond did not start: $(tail -n 3 "$T/server.log")" >&2; exit 1; }
"$BD/sbin/bitfusiond" pki client bench --pki "$T/pki" --out "$T/client" --server "127.0.0.1:$port" >/dev/null
export BITFUSION_CONFIG_DIR=$T/client

now_us() { echo $(($(date +%s%N) / 1000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# times CMD... RUNS times; prints the median in ms
timed() {
    local i t0 t1
    for i in $(seq 1 "$RUNS"); do
        t0=$(now_us)
        "$@" >/dev/null 2>"$T/err" || { echo "bench_lease: '$*' failed: $(cat "$T/err")" >&2; exit 1; }
        t1=$(now_us)
        echo $((t1 - t0))
    done | median | awk '{ printf "%.1f", $1 / 1000 }'
}

STEPS=(ctx alloc mem 1M ok freeall)
"$BITFUSION" request_gpus -n 1 -p 0.5 -f "$T/res.conf" >/dev/null || exit 1
inside=$(timed "$BITFUSION" client -f "$T/res.conf" -- "$PROBE" "${STEPS[@]}")
for _ in 1 2 3 4 5; do
    "$BITFUSION" client -f "$T/res.conf" -- "$PROBE" ctx timeloop 2000 || exit 1
done | sed -n 's/^timeloop pairs=[0-9]* alloc_free_us=\([0-9.]*\) getdevice_us=\([0-9.]*\)$/\1 \2/p' >"$T/loops"
alloc_us=$(awk '{ print $1 }' "$T/loops" | median)
plain_us=$(awk '{ print $2 }' "$T/loops" | median)
"$BITFUSION" release_gpus -f "$T/res.conf" >/dev/null || exit 1
run=$(timed "$BITFUSION" run -n 1 -p 0.5 -- "$PROBE" "${STEPS[@]}")
preload=$(timed env BITFUSION_PARTIAL=0.5 LD_PRELOAD="$BD/lib/bitfusion/client/libcuda.so.1" "$PROBE" "${STEPS[@]}")

echo "bench_lease: software-GPU bitfusiond on loopback, medians of $RUNS runs"
echo "inside a reserved lease (bitfusion client): $inside ms per program (baseline)"
awk -v r="$run" -v b="$inside" 'BEGIN { printf "bitfusion run -n 1 -p 0.5 (lease taken and released): %s ms, %.2fx the baseline\n", r, r / b }'
awk -v r="$preload" -v b="$inside" 'BEGIN { printf "plain LD_PRELOAD, BITFUSION_PARTIAL=0.5 (leases on its own): %s ms, %.2fx the baseline\n", r, r / b }'
awk -v a="$alloc_us" -v g="$plain_us" 'BEGIN { printf "cuMemAlloc+cuMemFree in a partition: %.1f us per pair; two cuCtxGetDevice: %.1f us; ratio %.2fx\n", a, g, a / g }'
