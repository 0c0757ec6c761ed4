#!/usr/bin/env bash
# The main job: set up, build, generate the bundled example models and run
# them end to end with lathe-run (results checked against PyTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
/usr/bin/python3 scripts/gen_examples.py build/examples
E=build/examples
echo "== digits MLP (64-256-256-10), 360 test images =="
build/bin/lathe-run $E/mlp/mlp.mlir --input=$E/mlp/test_x.npy --output=build/mlp_logits.npy \
  --repeat=20 --report=build/mlp_report.json
/usr/bin/python3 scripts/accuracy.py build/mlp_logits.npy $E/mlp/test_y.npy --expect $E/mlp/ref_accuracy.txt
echo "== transformer encoder layer (d256, 4 heads, FFN 1024, seq 128), batch 8 =="
build/bin/lathe-run $E/transformer/encoder_b8.mlir --input=$E/transformer/x_b8.npy \
  --output=build/encoder_b8.npy --repeat=20 --report=build/encoder_b8_report.json
/usr/bin/python3 scripts/compare_npy.py build/encoder_b8.npy $E/transformer/ref_b8.npy
echo "== report (build/encoder_b8_report.json) =="
cat build/encoder_b8_report.json
