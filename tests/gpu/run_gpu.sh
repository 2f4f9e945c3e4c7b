#!/usr/bin/env bash
# tests/gpu/run_gpu.sh: the real-GPU checks, prepared for a session that is lent the device machine
# (an NVIDIA GPU with its driver). Not part of `make test`. Run it from the repository root after
# `make -j"$(nproc)" all` (the build tree travels to the device machine with `carry: ["build"]`;
# remove build/fuzz first to stay under the 64 MiB carry limit).
# It starts bitfusiond --backend nvidia on 127.0.0.1 with a throwaway PKI and, through
# `bitfusion run`:
#   1. the driver-API test corpus (tests/remote/run_remote.sh against that server);
#   2. the CUDA runtime programs, static and shared cudart (tests/rt/run_rt.sh with RT_REAL_DRIVER=1
#      directly on the driver, then each through bitfusion run);
#   3. a PyTorch smoke test (tensor on cuda, matmul, a few training steps of a small CNN) when
#      python3 can import torch there;
#   4. the export-table probe (tests/rt/real_driver_probe.c) directly on the driver, to compare the
#      real tables with emu/export_*.c;
#   5. partitions on the GPU: `-p 0.25` is the device's memory for the driver API (and the boundary
#      is exact), for the CUDA runtime and for NVML (through the real NVML for utilisation); two
#      `-p 0.5` programs at once; the context reservation the server measured (list_gpus.txt).
# Writes everything under ${OUT:-/tmp/bf-gpu} and ends with `cases: P passed, F failed, S skipped`.
set -u
B=${B:-build}
OUTDIR=${OUT:-/tmp/bf-gpu}
mkdir -p "$OUTDIR"
pass=0; fail=0; skip=0
ok()   { echo "PASS  $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL  $1"; fail=$((fail + 1)); }
skp()  { echo "SKIP  $1"; skip=$((skip + 1)); }
cases() { sed -nE 's/^cases: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' "$1" | tail -n 1; }

nvidia-smi >"$OUTDIR/nvidia-smi.txt" 2>&1 || true
T=$(mktemp -d)
srv=""
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$T"' EXIT
"$B/sbin/bitfusiond" pki init "$T/pki" >/dev/null
"$B/sbin/bitfusiond" --config "$T/pki/bitfusiond.yaml" --listen 127.0.0.1:0 --backend nvidia 2>"$OUTDIR/server.log" &
srv=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$OUTDIR/server.log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then bad "bitfusiond --backend nvidia starts"; cat "$OUTDIR/server.log"; echo "cases: $pass passed, $fail failed, $skip skipped"; exit 1; fi
head -n 1 "$OUTDIR/server.log"
"$B/sbin/bitfusiond" pki client gpu --pki "$T/pki" --out "$T/client" --server "127.0.0.1:$port" >/dev/null
export BITFUSION_CONFIG_DIR="$T/client" BITFUSION_SERVER="127.0.0.1:$port"

# 1. driver-API corpus through bitfusion run against the NVIDIA backend
B="$B" timeout 900 tests/remote/run_remote.sh >"$OUTDIR/remote.txt" 2>&1
read -r p f <<<"$(cases "$OUTDIR/remote.txt")"
if [ "${f:-1}" = 0 ]; then ok "driver-API corpus through bitfusion run on the GPU ($p cases)"; else bad "driver-API corpus on the GPU (${p:-0} passed, ${f:-?} failed; see remote.txt)"; fi

# 2. runtime programs: directly on the driver, then through bitfusion run
B="$B" RT_REAL_DRIVER=1 timeout 600 tests/rt/run_rt.sh >"$OUTDIR/rt-direct.txt" 2>&1
read -r p f <<<"$(cases "$OUTDIR/rt-direct.txt")"
if [ "${f:-1}" = 0 ]; then ok "runtime programs directly on the driver ($p cases)"; else bad "runtime programs on the driver (see rt-direct.txt)"; fi
rtfail=0; rtn=0
for prog in "$B"/tests/rt/*.static "$B"/tests/rt/*.shared; do
    [ -x "$prog" ] || continue
    rtn=$((rtn + 1))
    timeout 300 "$B/bin/bitfusion" run -n 1 -- "$prog" >>"$OUTDIR/rt-remote.txt" 2>&1 || { rtfail=$((rtfail + 1)); echo "failed: $prog" >>"$OUTDIR/rt-remote.txt"; }
done
if [ "$rtn" -gt 0 ] && [ "$rtfail" = 0 ]; then ok "runtime programs through bitfusion run on the GPU ($rtn)"; else bad "runtime programs through bitfusion run ($rtfail of $rtn failed; see rt-remote.txt)"; fi

# 3. PyTorch smoke test
if python3 -c 'import torch' 2>/dev/null; then
    cat >"$T/torch_smoke.py" <<'PY'
import torch, torch.nn as nn
assert torch.cuda.is_available(), "torch sees no CUDA device"
d = torch.device("cuda")
a = torch.randn(256, 256, device=d); b = torch.randn(256, 256, device=d)
assert torch.allclose((a @ b).cpu(), a.cpu() @ b.cpu(), atol=1e-3), "matmul differs from the CPU"
net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 26 * 26, 10)).to(d)
opt = torch.optim.SGD(net.parameters(), lr=0.05)
x = torch.randn(64, 1, 28, 28, device=d); y = torch.randint(0, 10, (64,), device=d)
losses = []
for _ in range(5):
    opt.zero_grad(); loss = nn.functional.cross_entropy(net(x), y); loss.backward(); opt.step()
    losses.append(loss.item())
assert losses[-1] < losses[0], f"loss did not fall: {losses}"
print("torch smoke OK", torch.cuda.get_device_name(0), losses)
PY
    if timeout 600 "$B/bin/bitfusion" run -n 1 -- python3 "$T/torch_smoke.py" >"$OUTDIR/torch.txt" 2>&1; then
        ok "PyTorch smoke test through bitfusion run"
    else
        bad "PyTorch smoke test (see torch.txt)"
    fi
else
    skp "PyTorch smoke test: torch is not importable on this machine"
fi

# 4. export-table probe on the real driver
CUDA=${CUDA_HOME:-/usr/local/cuda}
if gcc -Iemu -I"$CUDA/include" -o "$T/probe" tests/rt/real_driver_probe.c emu/export_tables.c \
       emu/export_integrity.c emu/export_cls.c emu/export_cudart.c -L"$CUDA/lib64/stubs" -lcuda -lpthread \
       >"$OUTDIR/probe-build.txt" 2>&1 && timeout 120 "$T/probe" >"$OUTDIR/probe.txt" 2>&1; then
    ok "export-table probe ran (compare probe.txt with emu/export_*.c)"
else
    bad "export-table probe (see probe-build.txt / probe.txt)"
fi

# 5. partitions on the GPU
LB="$B/tests/lease"
"$B/bin/bitfusion" list_gpus >"$OUTDIR/list_gpus.txt" 2>&1
tot=$(sed -n 's/^  GPU 0: .*, \([0-9][0-9]*\) MiB, [0-9]* MiB free.*/\1/p' "$OUTDIR/list_gpus.txt" | head -n 1)
if [ -z "$tot" ]; then
    bad "list_gpus shows GPU 0 (see list_gpus.txt)"
else
    q=$((tot / 4)) h=$((tot / 2))
    if timeout 300 "$B/bin/bitfusion" run -n 1 -p 0.25 -- "$LB/lease_probe" ctx total "$q" meminfo \
           alloc mem free ok alloc mem 1 oom freeall >"$OUTDIR/partition.txt" 2>&1; then
        ok "-p 0.25 of $tot MiB: the driver API sees $q MiB and stops at its exact boundary"
    else
        bad "-p 0.25 partition on the GPU (see partition.txt)"
    fi
    # whether the driver reserves the heap when it is set (then it is charged, and one larger than
    # the partition is refused) or only at a launch: recorded in partition-heap.txt for the note
    if timeout 300 "$B/bin/bitfusion" run -n 1 -p 0.25 -- "$LB/lease_probe" ctx meminfo heap 64M ok meminfo \
           heap "$((q + 64))M" any meminfo >"$OUTDIR/partition-heap.txt" 2>&1; then
        ok "-p 0.25: setting the device malloc heap works in a partition (what it charged: partition-heap.txt)"
    else
        bad "-p 0.25: the device malloc heap (see partition-heap.txt)"
    fi
    for rt in "$LB/lease_rt" "$LB/lease_rt.shared"; do
        [ -x "$rt" ] || continue
        if timeout 300 "$B/bin/bitfusion" run -n 1 -p 0.25 -- "$rt" "$q" >>"$OUTDIR/partition-rt.txt" 2>&1; then
            ok "-p 0.25: $(basename "$rt") (cudaMemGetInfo, totalGlobalMem) sees $q MiB"
        else
            bad "-p 0.25: $(basename "$rt") (see partition-rt.txt)"
        fi
    done
    if timeout 300 "$B/bin/bitfusion" run -n 1 -p 0.25 -- "$LB/lease_nvml" "$q" >"$OUTDIR/partition-nvml.txt" 2>&1; then
        ok "-p 0.25: NVML agrees with CUDA (utilisation from the driver's NVML)"
    else
        bad "-p 0.25: NVML (see partition-nvml.txt)"
    fi
    "$B/bin/bitfusion" run -n 1 -p 0.5 -- "$LB/lease_probe" ctx total "$h" alloc mem pct:80 ok touch "$T/a" \
        wait "$T/b" 60 >"$OUTDIR/half-a.txt" 2>&1 &
    pa=$!
    timeout 120 "$B/bin/bitfusion" run -n 1 -p 0.5 --timeout 60 -- "$LB/lease_probe" ctx total "$h" \
        wait "$T/a" 60 alloc mem pct:80 ok touch "$T/b" >"$OUTDIR/half-b.txt" 2>&1
    rb=$?
    wait "$pa"; ra=$?
    if [ "$ra" = 0 ] && [ "$rb" = 0 ]; then
        ok "two -p 0.5 programs on the GPU at once, each with 80% of its half allocated"
    else
        bad "two -p 0.5 programs at once (see half-a.txt, half-b.txt)"
    fi
fi

kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=""
cp "$OUTDIR/server.log" "$OUTDIR/server.final.log" 2>/dev/null
echo "cases: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
