#!/usr/bin/env python3
"""Data and models for training on sklearn's digits with lathe-train.

usage: make_digits.py DIR
Writes (DIR is created when missing) DIR/train.h5 and DIR/test.h5 (datasets x [N, 64] f32 in [0, 1] and
labels [N] i64; the 360-image test split of scripts/training.py's
digits_split, seed 0), the same images as [N, 1, 8, 8] in DIR/train_img.h5 and
DIR/test_img.h5, and two PyTorch models exported to ONNX with PyTorch's
initialisation (seed 0): DIR/mlp.onnx (64-64-10, ReLU) and DIR/cnn.onnx
(conv 16 + ReLU + max-pool, conv 32 + ReLU + max-pool, linear 10).
"""
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from training import digits_split  # noqa: E402

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
x_tr, x_te, y_tr, y_te = digits_split()
for name, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
    with h5py.File(f"{d}/{name}.h5", "w") as f:
        f["x"], f["labels"] = x, y
    with h5py.File(f"{d}/{name}_img.h5", "w") as f:
        f["x"], f["labels"] = x.reshape(-1, 1, 8, 8), y
torch.manual_seed(0)
mlp = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
                          torch.nn.Linear(64, 10))
torch.onnx.export(mlp, torch.zeros(1, 64), f"{d}/mlp.onnx", input_names=["x"],
                  output_names=["logits"], opset_version=13,
                  dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
torch.manual_seed(0)
cnn = torch.nn.Sequential(
    torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Flatten(), torch.nn.Linear(32 * 2 * 2, 10))
torch.onnx.export(cnn, torch.zeros(1, 1, 8, 8), f"{d}/cnn.onnx", input_names=["x"],
                  output_names=["logits"], opset_version=13,
                  dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
print(f"wrote {len(x_tr)} training and {len(x_te)} test images and two models to {d}")
