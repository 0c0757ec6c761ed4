"""Inputs and a float64 numpy reference for attention-heads.test.

q, k, v: [16, 32] = [batch 2 * seq 8, heads 4 * dim 8]; the output is the
per-head softmax(q k^T / sqrt(8)) v merged back to [16, 32].
"""
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(11)
q, k, v = (rng.standard_normal((16, 32)).astype(np.float32) for _ in range(3))
for name, x in (("q", q), ("k", k), ("v", v)):
    np.save(f"{out}/{name}.npy", x)


def heads(x):  # [B*S, H*D] -> [B, H, S, D]
    return x.astype(np.float64).reshape(2, 8, 4, 8).transpose(0, 2, 1, 3)


s = heads(q) @ heads(k).transpose(0, 1, 3, 2) * np.float64(np.float32(0.353553385))
p = np.exp(s - s.max(-1, keepdims=True))
p /= p.sum(-1, keepdims=True)
ctx = (p @ heads(v)).transpose(0, 2, 1, 3).reshape(16, 32)
np.save(f"{out}/ref.npy", ctx.astype(np.float32))
