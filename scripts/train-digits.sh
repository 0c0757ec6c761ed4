#!/usr/bin/env bash
# Trains a digits MLP and a digits CNN from PyTorch's initialisation with
# lathe-train (ONNX export -> lathe-import-onnx -> lathe-train) and prints
# their accuracy on the 360-image test split. Run after the build:
#   bash scripts/train-digits.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/train-digits}"
mkdir -p "$out"
bin=build/bin
/usr/bin/python3 scripts/train/make_digits.py "$out"
for model in mlp cnn; do
  data=train.h5 test=test.h5
  if [ "$model" = cnn ]; then data=train_img.h5 test=test_img.h5; fi
  "$bin/lathe-import-onnx" "$out/$model.onnx" --weights="$out/$model.h5" \
    --all-float-weights -o "$out/$model.mlir"
  echo "== $model"
  "$bin/lathe-train" "$out/$model.mlir" --loss=cross-entropy \
    --data="$out/$data" --val-data="$out/$test" --batch=32 --epochs=20 \
    --lr=0.01 --schedule=cosine --warmup-steps=20 --seed=1 \
    --log="$out/$model.jsonl" --save="$out/${model}_trained.h5" | tail -3
done
