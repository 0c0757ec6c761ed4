"""A GPT-2-style causal self-attention (masked_fill(-inf) on a tril buffer,
then softmax and the value product), exported to ONNX, with an input and
PyTorch's output in float64.

usage: causal_attention.py OUT_DIR   (writes model.onnx, x.npy, ref.npy)
"""
import os
import sys

import numpy as np
import torch

L, D, H = 16, 32, 4


class CausalAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(D, 3 * D)
        self.register_buffer("bias", torch.tril(torch.ones(L, L)).view(1, 1, L, L))

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)
        q = q.view(b, t, H, D // H).transpose(1, 2)
        k = k.view(b, t, H, D // H).transpose(1, 2)
        v = v.view(b, t, H, D // H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / (D // H) ** 0.5)
        att = att.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
        att = torch.softmax(att, dim=-1)
        return (att @ v).transpose(1, 2).reshape(b, t, D)


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    model = CausalAttention().eval()
    x = torch.randn(2, L, D)
    torch.onnx.export(model, (x,), os.path.join(out, "model.onnx"),
                      input_names=["x"], output_names=["y"], opset_version=13)
    with torch.no_grad():
        ref = model.double()(x.double()).numpy()
    np.save(os.path.join(out, "x.npy"), x.numpy())
    np.save(os.path.join(out, "ref.npy"), ref)


if __name__ == "__main__":
    main()
