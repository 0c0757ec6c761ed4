#!/usr/bin/env python3
"""Data and model for train-digits.test (sklearn's digits, bundled with
Debian's python3-sklearn).

usage: digits_train.py DIR          train.h5 / test.h5 (x, labels; the 360-
                                    image test split of seed 0), test_x.npy,
                                    mlp.onnx (64-64-10, PyTorch init, seed 0)
       digits_train.py DIR --check  checks DIR/log.jsonl and DIR/logits.npy
"""
import json
import sys

import numpy as np

d = sys.argv[1]
if len(sys.argv) == 2:
    import h5py
    import torch
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    with h5py.File(f"{d}/train.h5", "w") as f:
        f["x"], f["labels"] = x[360:], y[360:]
    with h5py.File(f"{d}/test.h5", "w") as f:
        f["x"], f["labels"] = x[:360], y[:360]
    np.save(f"{d}/test_x.npy", x[:360])
    np.save(f"{d}/test_y.npy", y[:360])
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
                            torch.nn.Linear(64, 10))
    torch.onnx.export(m, torch.zeros(1, 64), f"{d}/mlp.onnx", input_names=["x"],
                      output_names=["logits"], opset_version=13,
                      dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
    sys.exit(0)

log = [json.loads(line) for line in open(f"{d}/log.jsonl")]
steps = [e for e in log if "step" in e]
vals = [e for e in log if "val_loss" in e]
assert len(steps) == 440 and len(vals) == 10, (len(steps), len(vals))
assert steps[0]["loss"] > 2.0 and vals[-1]["val_loss"] < 0.3, (steps[0], vals[-1])
acc = vals[-1]["val_accuracy"]
assert acc >= 0.95, f"test accuracy {acc}"
# The saved weights, run by lathe-run, give the accuracy training reported.
logits = np.load(f"{d}/logits.npy")
y = np.load(f"{d}/test_y.npy")
again = (logits.argmax(1) == y).mean()
assert abs(again - acc) < 1e-9, (again, acc)
print(f"test accuracy {acc:.4f} (lathe-run on the saved weights: {again:.4f})")
