#!/usr/bin/env bash
# Configures and builds Lathe into ./build (clang-22 + lld + ccache are chosen
# automatically when installed; plain g++ works too).
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
ninja -C build -j"${LATHE_JOBS:-2}"
