"""Writes the models and inputs of test/e2e/attention-masked-edges.test.

usage: masked_attention_edges.py OUTDIR

Attention on q, k, v [B, H, S, D] in the form torch-mlir writes it: kᵀ by a
transposing generic, batch_matmul on [B·H, ...] collapses, the 1/sqrt(D)
scale as a divide generic, masked_fill as an arith.select generic on an i1
constant, the softmax decomposed (max, subtract + exp, sum, divide), P·V by a
second batch_matmul. References: PyTorch (float64) on the same float32
inputs, rounded to float32.

  pad.mlir     B 5, H 2, S 24, D 8; key padding mask [B, S] (true = masked,
               select(mask, -inf, x)) with valid lengths 24, 9, 0, 13, 1:
               batch 2 has every key masked, so every row is NaN as in
               PyTorch; batch 1 has NaN and +Inf in k at masked keys (the
               select discards those scores: finite output); batch 3 has
               +Inf in v at a masked key (0 · Inf: NaN rows, as in PyTorch);
               batch 4 has NaN in q at one query row (that row is NaN).
  causal.mlir  B 2, H 3, S 20, D 16; causal mask [S, S] that keeps where
               true (select(mask, x, -1e4)), query row 0 masked entirely
               (the finite fill makes that row the mean of v).
Inputs pad_{q,k,v}.npy, causal_{q,k,v}.npy; references pad_ref.npy,
causal_ref.npy.
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "scripts"))
from mlir_emit import Emitter, Val  # noqa: E402


def attention_mlir(shape, mask, mask_map, masked_when_true, fill):
    """mask: bool ndarray; mask_map: its affine results over (b, h, i, j)."""
    em = Emitter()
    q, k, v = (Val(f"%{n}", shape) for n in "qkv")
    out = em.masked_attention(q, k, v, mask, mask_map, masked_when_true, fill)
    return em.function("main", [q, k, v], out)


def reference(q, k, v, full_mask, fill):
    """full_mask: bool [B, H, S, S] broadcastable, True = masked."""
    t = [torch.from_numpy(a).double() for a in (q, k, v)]
    s = t[0] @ t[1].transpose(-2, -1) / math.sqrt(q.shape[-1])
    s = s.masked_fill(torch.from_numpy(full_mask), fill)
    return (torch.softmax(s, dim=-1) @ t[2]).float().numpy()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rs = np.random.RandomState(7)

    # Padding mask.
    B, H, S, D = 5, 2, 24, 8
    q, k, v = (rs.randn(B, H, S, D).astype(np.float32) for _ in range(3))
    valid = [24, 9, 0, 13, 1]
    mask = np.zeros((B, S), bool)
    for b, n in enumerate(valid):
        mask[b, n:] = True
    k[1, 0, 15, 3] = np.nan
    k[1, 1, 20, 0] = np.inf
    v[3, 1, 17, 2] = np.inf
    q[4, 0, 5, 1] = np.nan
    with open(os.path.join(out, "pad.mlir"), "w") as f:
        f.write(attention_mlir((B, H, S, D), mask, "d0, d3", True, -np.inf))
    for n, a in zip("qkv", (q, k, v)):
        np.save(os.path.join(out, f"pad_{n}.npy"), a)
    ref = reference(q, k, v, mask[:, None, None, :], float("-inf"))
    assert np.isnan(ref[2]).all() and np.isfinite(ref[1]).all()
    assert np.isnan(ref[3, 1]).any() and np.isfinite(ref[3, 0]).all()
    assert np.isnan(ref[4, 0, 5]).all() and np.isfinite(ref[4, 0, :5]).all()
    np.save(os.path.join(out, "pad_ref.npy"), ref)

    # Causal mask kept where true, a finite fill, row 0 fully masked.
    B, H, S, D = 2, 3, 20, 16
    q, k, v = (rs.randn(B, H, S, D).astype(np.float32) for _ in range(3))
    keep = np.tril(np.ones((S, S), bool))
    keep[0, :] = False
    with open(os.path.join(out, "causal.mlir"), "w") as f:
        f.write(attention_mlir((B, H, S, D), keep, "d2, d3", False, -1e4))
    for n, a in zip("qkv", (q, k, v)):
        np.save(os.path.join(out, f"causal_{n}.npy"), a)
    ref = reference(q, k, v, ~keep[None, None], -1e4)
    assert np.allclose(ref[:, :, 0], v.astype(np.float64).mean(axis=2), atol=1e-5)
    np.save(os.path.join(out, "causal_ref.npy"), ref)


if __name__ == "__main__":
    main()
