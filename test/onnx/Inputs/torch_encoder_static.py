#!/usr/bin/env python3
"""Exports a small post-LN torch.nn.TransformerEncoderLayer to ONNX with static shapes.

usage: torch_encoder_static.py OUTDIR --batch N [--seq-first]

The export follows bench/peers_lib/models.py (opset 17, static shapes, grad mode on so
that PyTorch 1.13 stays off the fused inference path the exporter cannot translate),
so the graph has PyTorch's sequence-first attention layout: a transpose of the input,
one fused q/k/v projection split by Slice, [S, B*H, Dh] reshapes and rank-3 transposes.
Writes OUTDIR/model.onnx, OUTDIR/x.npy and OUTDIR/ref.npy (PyTorch's output in float64,
cast to float32).
"""
import argparse
import os
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")

D, HEADS, FF, SEQ = 32, 4, 64, 16


def main():
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--seq-first", action="store_true")
    a = p.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=D, nhead=HEADS, dim_feedforward=FF,
                                             dropout=0.0, activation="relu",
                                             batch_first=not a.seq_first)
    with torch.no_grad():  # non-trivial biases and LayerNorm parameters
        for name, prm in layer.named_parameters():
            if name.startswith("norm") and name.endswith("weight"):
                prm.copy_(1.0 + 0.1 * torch.randn_like(prm))
            elif name.endswith("bias"):
                prm.copy_(0.1 * torch.randn_like(prm))
    layer.eval()
    shape = (SEQ, a.batch, D) if a.seq_first else (a.batch, SEQ, D)
    x = torch.from_numpy(np.random.RandomState(a.batch).randn(*shape).astype(np.float32))
    with torch.no_grad():
        ref = layer.double()(x.double()).numpy().astype(np.float32)
    layer.float()
    with torch.enable_grad():
        torch.onnx.export(layer, (x,), os.path.join(a.outdir, "model.onnx"), opset_version=17,
                          input_names=["x"], output_names=["y"], do_constant_folding=True)
    np.save(os.path.join(a.outdir, "x.npy"), x.numpy())
    np.save(os.path.join(a.outdir, "ref.npy"), ref)


if __name__ == "__main__":
    main()
