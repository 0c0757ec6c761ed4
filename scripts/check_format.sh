#!/usr/bin/env bash
# Fails when a tracked C/C++ file is not formatted as .clang-format says
# (clang-format-22, installed by scripts/setup.sh). With no argument every
# file is checked (the tree is kept formatted); with a git revision, only the
# files changed since it. Fix: clang-format-22 -i FILE...
set -euo pipefail
cd "$(dirname "$0")/.."
FORMAT=clang-format-22
if ! command -v "$FORMAT" >/dev/null; then
  echo "check_format: $FORMAT is required (bash scripts/setup.sh)" >&2
  exit 2
fi
if [ $# -gt 0 ]; then
  mapfile -t files < <(git diff --name-only --diff-filter=d "$1" -- '*.cpp' '*.h' '*.c')
else
  mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.c')
fi
# Test inputs (lit files, fuzz seeds) are data, not code.
mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -v '^test/' | grep -v '^$' || true)
if [ ${#files[@]} -eq 0 ]; then
  echo "check_format: no C/C++ files to check"
  exit 0
fi
if ! "$FORMAT" --dry-run -Werror "${files[@]}" 2>/tmp/check_format.$$; then
  grep -oE '^[^: ]+:[0-9]+:[0-9]+: (warning|error)' /tmp/check_format.$$ | cut -d: -f1 | sort -u | sed 's/^/check_format: not formatted: /' >&2
  rm -f /tmp/check_format.$$
  echo "check_format: run '$FORMAT -i' on the files above" >&2
  exit 1
fi
rm -f /tmp/check_format.$$
echo "check_format: ${#files[@]} files formatted"
