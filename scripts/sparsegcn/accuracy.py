#!/usr/bin/python3
"""accuracy.py LOGITS.npy DIR: Lathe's test accuracy from LOGITS on DIR's split/labels (written
by train_gcn.py); fails unless it equals PyTorch's (DIR/ref_accuracy.txt) to within
--max-delta (default 0: the same accuracy)."""
import argparse
import json
import os
import sys

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("logits")
p.add_argument("dir")
p.add_argument("--max-delta", type=float, default=0.0)
a = p.parse_args()
logits = np.load(a.logits)
labels = np.load(os.path.join(a.dir, "labels.npy"))
test = np.array(json.load(open(os.path.join(a.dir, "split.json")))["test"])
acc = float((logits[test].argmax(1) == labels[test]).mean())
ref = float(open(os.path.join(a.dir, "ref_accuracy.txt")).read())
delta = acc - ref
print(f"accuracy: lathe {acc:.6f}, pytorch {ref:.6f}, delta {delta:+.6f}")
sys.exit(0 if abs(delta) <= a.max_delta + 1e-9 else 1)
