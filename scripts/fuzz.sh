#!/usr/bin/env bash
# libFuzzer targets of Lathe (docs/Testing.md, "Fuzzing and sanitizers").
#   scripts/fuzz.sh                  lists the targets
#   scripts/fuzz.sh TARGET SECONDS   builds TARGET in build-sanitize/ and
#                                    fuzzes it for SECONDS
# Exits non-zero on a finding (crash, sanitizer report, leak, an input taking
# longer than FUZZ_TIMEOUT seconds, or more than FUZZ_RSS_MB of memory); the
# input is saved under build-sanitize/fuzz-findings/TARGET/. The corpus
# grows in build-sanitize/fuzz-corpus/TARGET/ across runs, starting from the
# seeds in test/fuzz/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A WHAT=(
  [npy]="the .npy reader (runtime/lib/Npy.cpp) on file bytes"
  [hdf5]="the HDF5 weight reader (runtime/lib/Hdf5.cpp) on file bytes"
  [onnx]="the ONNX importer (lib/Import/ONNX) on .onnx bytes, then verify"
  [mlir]="MLIR parse + verify + the CPU pipeline up to 'bufferize'"
)
ORDER=(npy hdf5 onnx mlir)

usage() {
  echo "usage: scripts/fuzz.sh TARGET SECONDS"
  echo "targets:"
  for t in "${ORDER[@]}"; do printf '  %-5s %s\n' "$t" "${WHAT[$t]}"; done
}
if [ $# -eq 0 ]; then
  usage
  exit 0
fi
if [ $# -ne 2 ] || [ -z "${WHAT[$1]+x}" ] || ! [[ "$2" =~ ^[0-9]+$ ]] ||
    [ "$2" -eq 0 ]; then
  usage >&2
  exit 2
fi
target=$1
seconds=$2
BUILD=build-sanitize
bash scripts/sanitize-build.sh "lathe-fuzz-$target"

corpus="$BUILD/fuzz-corpus/$target"
findings="$BUILD/fuzz-findings/$target"
tmp="$BUILD/fuzz-tmp/$target"
mkdir -p "$corpus" "$findings" "$BUILD/fuzz-logs" "$tmp"
trap 'rm -rf "$tmp"' EXIT
log="$BUILD/fuzz-logs/$target-$(date +%Y%m%d-%H%M%S).log"
echo "fuzz.sh: $target for ${seconds}s (log: $log)"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# Leaks inside libhdf5 on corrupt files are libhdf5's (see the file).
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# libhdf5 mallocs sizes read from the file before checking them against the
# file's size (test/fuzz/known/README.md); actual use is still capped by
# -rss_limit_mb.
extra=()
if [ "$target" = hdf5 ]; then extra+=(-malloc_limit_mb=16384); fi
rc=0
TMPDIR="$tmp" "$BUILD/bin/lathe-fuzz-$target" \
  -max_total_time="$seconds" \
  -timeout="${FUZZ_TIMEOUT:-10}" \
  -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
  -print_final_stats=1 "${extra[@]}" \
  -artifact_prefix="$findings/" \
  "$corpus" "test/fuzz/$target" >"$log" 2>&1 || rc=$?
execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" |
  awk '{print $2}' | tail -1 || true)
took=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 |
  awk '{print $5}' || true)
if [ "$rc" -ne 0 ]; then
  tail -n 60 "$log"
  echo "fuzz.sh: FINDING in $target (exit $rc); input saved in $findings/" \
    "(reproduce: $BUILD/bin/lathe-fuzz-$target FILE)"
  exit "$rc"
fi
echo "fuzz.sh: $target: ${execs:-?} inputs in ${took:-$seconds} s, no finding" \
  "(corpus: $(ls "$corpus" | wc -l) files)"
