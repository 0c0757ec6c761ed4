#!/usr/bin/env bash
# Installs everything Lathe needs on a fresh Debian 12 machine (as root or
# with sudo). Idempotent: packages already present are skipped by apt.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
PACKAGES=(
  cmake ninja-build ccache git python3
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22 libomp-22-dev
  clang-format-22
  libdnnl-dev ocl-icd-opencl-dev libhdf5-dev
  libopenmpi-dev openmpi-bin
  liblapacke-dev libopenblas-dev libeigen3-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-numpy python3-scipy python3-torch python3-h5py python3-onnx python3-sklearn
  python3-venv python3-dev pybind11-dev python3-pytest python3-matplotlib pkgconf fortunes
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
