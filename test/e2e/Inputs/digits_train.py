#!/usr/bin/env python3
"""Checks for train-digits.test (data and model: scripts/train/make_digits.py).

usage: digits_train.py DIR   checks DIR/log.jsonl (10 epochs of 1437 images in
                             batches of 32) and DIR/logits.npy (lathe-run of
                             the model on the saved weights) against
                             DIR/test.h5's labels
"""
import json
import sys

import h5py
import numpy as np

d = sys.argv[1]
log = [json.loads(line) for line in open(f"{d}/log.jsonl")]
steps = [e for e in log if "step" in e]
vals = [e for e in log if "val_loss" in e]
assert len(steps) == 440 and len(vals) == 10, (len(steps), len(vals))
assert steps[0]["loss"] > 2.0 and vals[-1]["val_loss"] < 0.3, (steps[0], vals[-1])
acc = vals[-1]["val_accuracy"]
assert acc >= 0.95, f"test accuracy {acc}"
# The saved weights, run by lathe-run, give the accuracy training reported.
logits = np.load(f"{d}/logits.npy")
with h5py.File(f"{d}/test.h5") as f:
    y = np.asarray(f["labels"])
again = (logits.argmax(1) == y).mean()
assert abs(again - acc) < 1e-9, (again, acc)
print(f"test accuracy {acc:.4f} (lathe-run on the saved weights: {again:.4f})")
