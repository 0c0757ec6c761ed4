#!/usr/bin/env bash
# Set up, build and run every test (lit, GoogleTest, end-to-end) with ctest.
#   scripts/test.sh              the normal build in ./build
#   scripts/test.sh --sanitize   the same suite built with AddressSanitizer +
#                                UBSan in ./build-sanitize (docs/Testing.md)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ] && [ "$1" != --sanitize ]; then
  echo "usage: scripts/test.sh [--sanitize]" >&2
  exit 2
fi
bash scripts/setup.sh
if [ $# -eq 0 ]; then
  bash scripts/build.sh
  ctest --test-dir build --output-on-failure -j"${LATHE_JOBS:-2}"
  exit
fi

bash scripts/sanitize-build.sh
# Every report fails its test: UBSan is built without recovery, ASan halts
# by default, LeakSanitizer runs at each exit. Only leaks of memory allocated
# inside libhdf5 (its own, on corrupt files) are suppressed: fuzz/lsan.supp.
export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_init_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ctest --test-dir build-sanitize --output-on-failure -j"${LATHE_JOBS:-2}"
