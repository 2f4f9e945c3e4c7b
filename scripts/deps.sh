#!/usr/bin/env bash
# Installs what building and testing bitfusion needs on a fresh Debian machine.
# The CUDA toolkit (nvcc 13 on the PATH) is expected to be present already.
set -euo pipefail
pkgs=(build-essential pkg-config libssl-dev libprotobuf-c-dev protobuf-c-compiler
      libelf-dev libzstd-dev libyaml-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# From PyPI: CUDA runtimes the tests run unmodified programs against (CUDA 12 and the newest 13),
# and the Python client tests (cuda-bindings with NVRTC from the toolkit, numpy, pytest).
py_pkgs=(nvidia-cuda-runtime-cu12==12.9.79 nvidia-cuda-runtime==13.5.37
         cuda-bindings==13.0.3 cuda-pathfinder==1.9.1 numpy==2.4.6 pytest==9.2.0)
if ! python3 -m pip show -q nvidia-cuda-runtime-cu12 nvidia-cuda-runtime cuda-bindings cuda-pathfinder \
     numpy pytest >/dev/null 2>&1; then
  python3 -m pip install -q "${py_pkgs[@]}" || { echo "deps: pip install ${py_pkgs[*]} failed" >&2; exit 1; }
fi
if ! command -v nvcc >/dev/null 2>&1; then
  for d in /usr/local/cuda/bin /usr/local/cuda-13*/bin; do
    [ -x "$d/nvcc" ] && { echo "deps: nvcc is not on PATH; add $d to PATH" >&2; exit 1; }
  done
  echo "deps: nvcc (CUDA toolkit 13) not found; install the CUDA toolkit and put nvcc on PATH" >&2
  exit 1
fi
