#!/usr/bin/env python3
"""Attention models exported by PyTorch 1.13 to ONNX with batch 2, for
seqshard-onnx.test: what lathe-import-onnx makes of them is what
seqshard-ulysses must follow.

usage: seqshard_onnx.py DIR   writes DIR/{gpt,mha_sf,mha_bf}.onnx, their
                              inputs DIR/<name>_x.npy and PyTorch's
                              outputs DIR/<name>_ref.npy (float32)
  gpt     a 2-layer causal GPT with hand-written attention (as
          gpt_grad.py, batch 2): token ids [B, T] -> logits [B, T, V]
  mha_sf  torch.nn.MultiheadAttention (sequence first, [T, B, E]) between
          layer norms, self-attention with a causal mask
  mha_bf  the same with batch_first=True ([B, T, E])
"""
import sys

import numpy as np
import torch

from gpt_grad import GPT, D, H, T, V

B = 2


class MHA(torch.nn.Module):
    def __init__(self, batch_first):
        super().__init__()
        self.ln1, self.ln2 = torch.nn.LayerNorm(D), torch.nn.LayerNorm(D)
        self.attn = torch.nn.MultiheadAttention(D, H, batch_first=batch_first)
        self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), 1))

    def forward(self, x):
        h = self.ln1(x)
        a, _ = self.attn(h, h, h, attn_mask=self.mask, need_weights=False)
        return self.ln2(x + a)


def export(model, x, name):
    model.eval()
    torch.onnx.export(model, torch.from_numpy(x), f"{d}/{name}.onnx", input_names=["x"],
                      output_names=["y"], opset_version=14)
    np.save(f"{d}/{name}_x.npy", x)
    with torch.no_grad():
        np.save(f"{d}/{name}_ref.npy", model(torch.from_numpy(x)).numpy())


d = sys.argv[1]
torch.manual_seed(0)
rng = np.random.default_rng(0)
export(GPT(batch=B), rng.integers(0, V, (B, T)).astype(np.int64), "gpt")
export(MHA(False), rng.standard_normal((T, B, D)).astype(np.float32), "mha_sf")
export(MHA(True), rng.standard_normal((B, T, D)).astype(np.float32), "mha_bf")
