#!/usr/bin/env bash
# Trains Kipf & Welling's 2-layer GCN on Cora with lathe-train (full batch,
# sparse aggregation through sparsegcn, AdamW, 200 epochs), then runs the
# trained model with lathe-run and prints its accuracy on the 1000 test nodes
# and the median step time. Run after the build:
#   bash scripts/sparsegcn/train_cora.sh [OUT_DIR] [CORA_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-build/train-cora}"
cora="${2:-../shared/data/cora}"
bin=build/bin
/usr/bin/python3 scripts/sparsegcn/gcn_train.py make --graph cora --data "$cora" --out "$out"
cp "$out/weights.h5" "$out/init_weights.h5"
# The features and the adjacency's values are lathe.weight data, not
# parameters: --freeze keeps them constant.
"$bin/lathe-train" "$out/gcn.mlir" --loss=cross-entropy \
  --freeze=/features,/adj/values --data="$out/train.h5" --val-data="$out/val.h5" \
  --batch=140 --epochs=200 --lr=0.01 --weight-decay=5e-4 --seed=0 \
  --log="$out/log.jsonl" --save="$out/trained.h5" | tail -3
# gcn.mlir reads its parameters from weights.h5: run it on the trained ones.
cp "$out/trained.h5" "$out/weights.h5"
"$bin/lathe-run" "$out/gcn.mlir" --input="$out/test.h5:/idx" --output="$out/logits.npy" >/dev/null
/usr/bin/python3 scripts/sparsegcn/gcn_train.py accuracy "$out" "$out/logits.npy"
/usr/bin/python3 -c "
import json, statistics, sys
steps = [e['ms'] for e in map(json.loads, open(sys.argv[1])) if 'ms' in e]
print(f'median step {statistics.median(steps):.2f} ms over {len(steps)} steps')" "$out/log.jsonl"
