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
rss_mb=${FUZZ_RSS_MB:-2048}
flags=(-timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="$rss_mb")
if [ "$target" = hdf5 ]; then
  # libhdf5 mallocs sizes read from the file before checking them
  # (test/fuzz/known/README.md). glibc returns null for impossible sizes and
  # libhdf5 reports an error; ASan would abort instead. So for this target
  # ASan returns null too and one malloc has no limit of its own; memory that
  # is used is still capped by -rss_limit_mb.
  flags+=(-malloc_limit_mb=1048576)
  export ASAN_OPTIONS="allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
fi
bin="$BUILD/bin/lathe-fuzz-$target"
stamp="$tmp/.start"
touch "$stamp"
# One fuzzing process in a child (-fork=1) that is restarted after each
# finding, so a run keeps going past crashes in libraries; every finding is
# saved and triaged below.
rc=0
TMPDIR="$tmp" "$bin" -fork=1 -ignore_crashes=1 -ignore_ooms=1 \
  -ignore_timeouts=1 -max_total_time="$seconds" "${flags[@]}" \
  -artifact_prefix="$findings/" "$corpus" "test/fuzz/$target" \
  >"$log" 2>&1 || rc=$?
execs=$(grep -o '^#[0-9]*: cov' "$log" | tail -1 | tr -dc 0-9 || true)
took=$(grep -o 'time: [0-9]*s' "$log" | tail -1 | tr -dc 0-9 || true)
# In fork mode libFuzzer exits with the status of the last child, which may
# be a finding; findings are judged below. Anything else is a failure.
if [ "$rc" -ne 0 ] && ! grep -q '^INFO: exiting: ' "$log"; then
  tail -n 40 "$log"
  echo "fuzz.sh: $target: libFuzzer failed (exit $rc)"
  exit "$rc"
fi

# Triage: replay each new input; a finding whose report matches a line of
# test/fuzz/known/signatures.txt is a known finding inside a library (see
# test/fuzz/known/README.md) and is moved to $findings/known/.
# True when the crash happened inside library $2 (its first frame outside
# libc and the sanitizer interceptors is there) on memory that library
# allocated (or no heap memory): a bug of the library reached through
# Lathe's calls, not memory Lathe handed it.
library_crash() {
  local skip='in (mem(cpy|move|set|cmp)|str[a-z]*|malloc|calloc|realloc|free|__[a-z_0-9]*) |/libc\.so|sysdeps/'
  local first alloc
  first=$(grep -E '^ +#[0-9]+ ' <<<"$1" | grep -vE "$skip" | head -1)
  alloc=$(sed -n '/allocated by thread/,/^$/p' <<<"$1" |
    grep -E '^ +#[0-9]+ ' | grep -vE "$skip" | head -1)
  grep -qF -- "$2" <<<"$first" && { [ -z "$alloc" ] || grep -qF -- "$2" <<<"$alloc"; }
}
new=0
known=0
mkdir -p "$findings/known"
# An out-of-memory input can stay under -rss_limit_mb when replayed alone
# (in the run, its process also held the corpus and ASan's quarantine;
# libFuzzer samples the RSS once a second). Such an input is replayed once
# more with half the limit for the RSS and for one malloc (which the hdf5
# target lifts), so that libFuzzer stops at the large allocation and prints
# its stack; an OOM that still does not reproduce is a finding, never dropped.
low_mb=$((rss_mb / 2))
while IFS= read -r -d '' input; do
  report=$(TMPDIR="$tmp" "$bin" "${flags[@]}" "$input" 2>&1 || true)
  unreproduced=""
  if [[ "$(basename "$input")" == oom-* ]] &&
      ! grep -q 'ERROR: ' <<<"$report"; then
    echo "fuzz.sh: $input: no error on replay with -rss_limit_mb=$rss_mb;" \
      "replaying with -rss_limit_mb=$low_mb -malloc_limit_mb=$low_mb"
    report=$(TMPDIR="$tmp" "$bin" "${flags[@]}" -rss_limit_mb="$low_mb" \
      -malloc_limit_mb="$low_mb" "$input" 2>&1 || true)
    grep -q 'ERROR: ' <<<"$report" || unreproduced=1
  fi
  match=""
  while [ -z "$unreproduced" ] && read -r t name patterns; do
    [ "$t" = "$target" ] || continue
    ok=1
    if [[ "$patterns" == library:* ]]; then
      library_crash "$report" "${patterns#library:}" || ok=0
      patterns=""
    fi
    for p in $patterns; do
      grep -qF -- "${p//+/ }" <<<"$report" || { ok=0; break; }
    done
    if [ "$ok" = 1 ]; then match=$name; break; fi
  done < <(grep -v '^#' test/fuzz/known/signatures.txt | grep .)
  if [ -n "$match" ]; then
    known=$((known + 1))
    echo "fuzz.sh: known library finding ($match): $input"
    mv "$input" "$findings/known/"
  else
    new=$((new + 1))
    echo "fuzz.sh: FINDING: $input"
    if [ -n "$unreproduced" ]; then
      echo "fuzz.sh: OOM not reproduced on replay (not even with" \
        "-rss_limit_mb=$low_mb -malloc_limit_mb=$low_mb)"
    fi
    grep -E 'ERROR|SUMMARY|^ *#[0-9]+ ' <<<"$report" | head -n 30
  fi
done < <(find "$findings" -maxdepth 1 -type f -newer "$stamp" -print0)
summary="$target: ${execs:-?} inputs in ${took:-$seconds} s, corpus $(ls "$corpus" | wc -l) files"
if [ "$new" -gt 0 ]; then
  echo "fuzz.sh: $summary; $new FINDING(S) in $findings/" \
    "(reproduce: $bin FILE)"
  exit 1
fi
if [ "$known" -gt 0 ]; then summary+=", $known known library findings"; fi
echo "fuzz.sh: $summary; no finding"
