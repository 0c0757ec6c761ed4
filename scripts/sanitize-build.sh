#!/usr/bin/env bash
# Configures and builds the sanitizer build in ./build-sanitize: clang-22,
# AddressSanitizer + UBSan and libFuzzer coverage on every Lathe translation
# unit (-DLATHE_FUZZ=ON, which implies -DLATHE_SANITIZE=ON), -O1. One folder
# serves both `scripts/test.sh --sanitize` (everything) and `scripts/fuzz.sh`
# (the fuzz targets only), so the cold build is paid once.
#   scripts/sanitize-build.sh [NINJA-TARGET...]   (no target: everything)
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD"
if ! command -v clang++-22 >/dev/null; then
  echo "sanitize-build: clang++-22 is required (bash scripts/setup.sh)" >&2
  exit 1
fi
# The sanitizer and libFuzzer runtimes are not part of clang-22 itself.
if ! dpkg-query -W -f='${Status}' libclang-rt-22-dev 2>/dev/null |
    grep -q "install ok installed"; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  echo "sanitize-build: installing libclang-rt-22-dev (sanitizer runtimes)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends libclang-rt-22-dev
fi
BUILD=build-sanitize
mkdir -p "$BUILD"
# Two scripts may build here at once (a fuzz run and the test suite).
exec 9>"$BUILD/.build-lock"
flock 9
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_FLAGS_RELEASE="-O1 -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
    -DLATHE_FUZZ=ON >"$BUILD/configure.log" 2>&1 ||
    { cat "$BUILD/configure.log" >&2; exit 1; }
fi
ninja -C "$BUILD" -j"${LATHE_JOBS:-2}" "$@"
