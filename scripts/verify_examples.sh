#!/bin/bash
# Check every generated example with upstream MLIR 22 only (no Lathe):
#   - each .mlir except mlp_hdf5.mlir parses and verifies with mlir-opt;
#   - each model, lowered by the scalar upstream CPU pipeline and run by mlir-runner,
#     matches its PyTorch reference (compare_npy.py), and the MLP keeps its test accuracy.
# usage: scripts/verify_examples.sh [EXAMPLES_DIR]   (default: examples/)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(cd "${1:-$HERE/../examples}" && pwd) || exit 2
PY=/usr/bin/python3
OPT=/usr/lib/llvm-22/bin/mlir-opt
fail=0
step() { echo "== $*"; "$@" || { echo "!! FAILED: $*"; fail=1; }; }

for f in "$DIR"/mlp/mlp.mlir "$DIR"/transformer/encoder_b1.mlir \
         "$DIR"/transformer/encoder_b8.mlir "$DIR"/transformer/encoder_b8_alt.mlir; do
  step "$OPT" "$f" -o /dev/null
done
M=$DIR/mlp T=$DIR/transformer
step $PY "$HERE/check_with_upstream.py" "$M/mlp.mlir" "$M/x1.npy" "$M/ref1.npy"
step $PY "$HERE/check_with_upstream.py" "$M/mlp.mlir" "$M/test_x.npy" "$M/ref_logits.npy" --out /tmp/lathe_mlp_logits.npy
step $PY "$HERE/accuracy.py" /tmp/lathe_mlp_logits.npy "$M/test_y.npy" --expect "$M/ref_accuracy.txt"
step $PY "$HERE/check_with_upstream.py" "$M/mlp_hdf5.mlir" "$M/test_x.npy" "$M/ref_logits.npy"
step $PY "$HERE/check_with_upstream.py" "$T/encoder_b1.mlir" "$T/x_b1.npy" "$T/ref_b1.npy"
step $PY "$HERE/check_with_upstream.py" "$T/encoder_b8.mlir" "$T/x_b8.npy" "$T/ref_b8.npy"
step $PY "$HERE/check_with_upstream.py" "$T/encoder_b8_alt.mlir" "$T/x_b8.npy" "$T/ref_b8.npy"
rm -f /tmp/lathe_mlp_logits.npy
[ $fail = 0 ] && echo "verify_examples: all checks passed" || echo "verify_examples: SOME CHECKS FAILED"
exit $fail
