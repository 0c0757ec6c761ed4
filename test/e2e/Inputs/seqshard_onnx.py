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
import math
import os
import sys

import numpy as np
import torch

V, D, H, T, L, B = 48, 32, 4, 16, 2, 2


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = torch.nn.LayerNorm(D), torch.nn.LayerNorm(D)
        self.qkv, self.proj = torch.nn.Linear(D, 3 * D), torch.nn.Linear(D, D)
        self.fc, self.out = torch.nn.Linear(D, 4 * D), torch.nn.Linear(4 * D, D)
        self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), 1))

    def forward(self, x):
        hd = D // H
        q, k, v = self.qkv(self.ln1(x)).split(D, 2)
        q, k, v = (t.reshape(B, T, H, hd).transpose(1, 2) for t in (q, k, v))
        a = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(hd) + self.mask, -1) @ v
        x = x + self.proj(a.transpose(1, 2).reshape(B, T, D))
        return x + self.out(torch.nn.functional.gelu(self.fc(self.ln2(x))))


class GPT(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = torch.nn.Embedding(V, D)
        self.pos = torch.nn.Parameter(torch.randn(T, D) * 0.02)
        self.blocks = torch.nn.Sequential(*[Block() for _ in range(L)])
        self.ln = torch.nn.LayerNorm(D)
        self.head = torch.nn.Linear(D, V)

    def forward(self, idx):
        return self.head(self.ln(self.blocks(self.tok(idx) + self.pos)))


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
export(GPT(), rng.integers(0, V, (B, T)).astype(np.int64), "gpt")
export(MHA(False), rng.standard_normal((T, B, D)).astype(np.float32), "mha_sf")
export(MHA(True), rng.standard_normal((B, T, D)).astype(np.float32), "mha_bf")
