#!/usr/bin/env bash
# Set up, build and run every test (lit, GoogleTest, end-to-end) with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"${LATHE_JOBS:-2}"
