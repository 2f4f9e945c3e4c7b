#!/usr/bin/env bash
# tests/demo.sh: the main job of the README: a CUDA program run on the software GPU.
set -euo pipefail
B=${B:-build}
export LD_LIBRARY_PATH="$B/lib/bitfusion/emu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$B/demo/demo" "$B/demo/demo_kernels.fatbin"
