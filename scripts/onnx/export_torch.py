#!/usr/bin/env python3
"""Exports a small PyTorch model to ONNX with an input and PyTorch's output.

usage: export_torch.py {mlp,transformer,transformer_relu,cnn,gelu,gelu_tanh,layernorm,
                         softmax_rows} OUTDIR [--batch N] [--opset N]

Writes OUTDIR/model.onnx, OUTDIR/x.npy and OUTDIR/ref.npy (PyTorch's output
for x). The first dimension of the input is exported as the symbolic "batch".
"""
import argparse
import os
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")


def randomize_(module, gen):
    # Non-trivial biases and norm parameters: defaults (zeros, ones) would hide
    # errors in how they are imported.
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1 + (0.5 if p.dim() == 1 else 0))


class GeluModel(torch.nn.Module):
    def __init__(self, approximate):
        super().__init__()
        self.fc = torch.nn.Linear(16, 32)
        self.approximate = approximate

    def forward(self, x):
        return torch.nn.functional.gelu(self.fc(x), approximate=self.approximate)


class SoftmaxRows(torch.nn.Module):
    """A softmax written out (ReduceMax, Sub, Exp, ReduceSum, Div in ONNX)."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(64, 32)

    def forward(self, x):
        y = self.fc(x)
        e = torch.exp(y - y.amax(-1, keepdim=True))
        return e / e.sum(-1, keepdim=True)


def build(name, batch, gen, xgen):
    if name == "mlp":
        m = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 64), torch.nn.Tanh(),
                                torch.nn.Linear(64, 10), torch.nn.Softmax(dim=-1))
        x = torch.randn(batch, 64, generator=xgen)
    elif name in ("transformer", "transformer_relu"):
        m = torch.nn.TransformerEncoderLayer(d_model=256, nhead=4, dim_feedforward=512,
                                             dropout=0.1, batch_first=True,
                                             activation="gelu" if name == "transformer"
                                             else "relu")
        x = torch.randn(batch, 12, 256, generator=xgen)
    elif name == "cnn":
        m = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3, stride=1, padding=1), torch.nn.ReLU(),
            torch.nn.AvgPool2d(2),
            torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.Sigmoid(),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 10))
        x = torch.randn(batch, 3, 16, 16, generator=xgen)
    elif name in ("gelu", "gelu_tanh"):
        m = GeluModel("none" if name == "gelu" else "tanh")
        x = torch.randn(batch, 16, generator=xgen)
    elif name == "layernorm":
        # LayerNormalization from opset 17 on, decomposed before.
        m = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.GELU(),
                                torch.nn.LayerNorm(256), torch.nn.Linear(256, 10))
        x = torch.randn(batch, 64, generator=xgen)
    elif name == "softmax_rows":
        m = SoftmaxRows()
        x = torch.randn(batch, 64, generator=xgen) * 4
    else:
        raise SystemExit(f"unknown model {name}")
    randomize_(m, gen)
    if name == "cnn":
        with torch.no_grad():
            bn = m[1]
            bn.running_mean.copy_(torch.randn(8, generator=gen) * 0.1)
            bn.running_var.copy_(torch.rand(8, generator=gen) + 0.5)
    m.eval()
    return m, x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("outdir")
    p.add_argument("--batch", type=int, default=3)
    p.add_argument("--opset", type=int, default=14)
    a = p.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    # Weights depend on the seed only; inputs also on the batch size, so the
    # same model can be exported at several batch sizes.
    gen = torch.Generator().manual_seed(0)
    xgen = torch.Generator().manual_seed(1000 + a.batch)
    m, x = build(a.model, a.batch, gen, xgen)
    with torch.no_grad():
        ref = m(x)
    rank = x.dim()
    torch.onnx.export(m, (x,), os.path.join(a.outdir, "model.onnx"),
                      input_names=["x"], output_names=["y"], opset_version=a.opset,
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    np.save(os.path.join(a.outdir, "x.npy"), x.numpy())
    np.save(os.path.join(a.outdir, "ref.npy"), ref.numpy())


if __name__ == "__main__":
    main()
