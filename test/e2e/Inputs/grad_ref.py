#!/usr/bin/env python3
"""Inputs and PyTorch-autograd gradients for the lathe-differentiate tests.

usage: grad_ref.py MODEL DIR   writes DIR/in{0..}.npy and DIR/ref{0..}.npy
       grad_ref.py --check DIR N   compares DIR/out{i}.npy with DIR/ref{i}.npy
MODEL: mlp (grad-mlp.mlir) | attn (grad-attn.mlir) | conv (grad-conv.mlir) | pooltie
(grad-pooltie.mlir). The reference is computed
in float64 from the same float32 inputs; result 0 is the loss, then one
gradient per parameter.
"""
import sys

import numpy as np
import torch


def check(d, n):
    """Asserts that DIR/out{i}.npy matches DIR/ref{i}.npy within 1e-4 of the reference's largest
    magnitude (a float32 forward and backward against a float64 reference), for i < n."""
    for i in range(n):
        got = np.load(f"{d}/out{i}.npy").astype(np.float64)
        ref = np.load(f"{d}/ref{i}.npy")
        assert got.shape == ref.shape, (i, got.shape, ref.shape)
        scale = max(np.abs(ref).max(), 1e-3)
        err = np.abs(got - ref).max() / scale
        assert err < 1e-4, f"result {i}: max error {err:.3g} (relative to max |ref| {scale:.3g})"
        print(f"result {i}: shape {ref.shape} max rel error {err:.2e}")


def mlp(rng):
    w1 = rng.standard_normal((64, 32)) * 0.2
    b1 = rng.standard_normal(32) * 0.1
    w2 = rng.standard_normal((32, 10)) * 0.2
    b2 = rng.standard_normal(10) * 0.1
    x = rng.standard_normal((16, 64))
    y = np.eye(10)[rng.integers(0, 10, 16)]
    params, batch = [w1, b1, w2, b2], [x, y]

    def loss(w1, b1, w2, b2, x, y):
        a = torch.relu(x @ w1 + b1)
        l = a @ w2 + b2
        return (torch.logsumexp(l, 1) - (l * y).sum(1)).mean()
    return params, batch, loss


def attn(rng):
    wq = rng.standard_normal((8, 8)) * 0.3
    wk = rng.standard_normal((8, 8)) * 0.3
    wv = rng.standard_normal((8, 8)) * 0.3
    g = 1.0 + rng.standard_normal(8) * 0.1
    x = rng.standard_normal((2, 6, 8))
    params, batch = [wq, wk, wv, g], [x]

    def loss(wq, wk, wv, g, x):
        q, k, v = x @ wq, x @ wk, x @ wv
        s = torch.softmax(q @ k.transpose(1, 2) * 0.5, dim=2)
        o = (s @ v).reshape(12, 8) * g
        return (torch.tanh(o) ** 2).sum() + (o.exp() / (1 + o * o)).mean()
    return params, batch, loss


def conv(rng):
    w = rng.standard_normal((4, 1, 3, 3)) * 0.5
    b = rng.standard_normal(4) * 0.1
    e = rng.standard_normal((10, 4))
    x = rng.standard_normal((2, 1, 8, 8))
    t = rng.standard_normal((2, 4, 3, 3))
    tok = np.array([[1, 7, 1], [3, 9, 0]], np.int64)  # a repeated row
    params, batch = [w, b, e, x], [t, tok]

    def loss(w, b, e, x, t, tok):
        a = torch.relu(torch.nn.functional.conv2d(x, w, b))
        p = torch.nn.functional.max_pool2d(a, 2, 2)
        return (p * t).sum() + (e[tok.long()] ** 2).sum()
    return params, batch, loss


def pooltie(rng):
    p = np.ones((1, 2, 4, 4))
    p[0, 1, 2:, 2:] = [[0.5, 2.0], [2.0, 0.5]]  # a tie that is not all-equal
    t = rng.standard_normal((1, 2, 2, 2))
    return [p], [t], lambda p, t: (torch.nn.functional.max_pool2d(p, 2, 2) * t).sum()


def main():
    if sys.argv[1] == "--check":
        check(sys.argv[2], int(sys.argv[3]))
        return
    model, d = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    params, batch, loss = {"mlp": mlp, "attn": attn, "conv": conv, "pooltie": pooltie}[model](rng)
    arrays = [a if a.dtype == np.int64 else np.asarray(a, np.float32)
              for a in params + batch]
    for i, a in enumerate(arrays):
        np.save(f"{d}/in{i}.npy", a)
    ts = [torch.tensor(a if a.dtype == np.int64 else a.astype(np.float64),
                       requires_grad=i < len(params))
          for i, a in enumerate(arrays)]
    value = loss(*ts)
    value.backward()
    np.save(f"{d}/ref0.npy", np.array(value.item()))
    for i, t in enumerate(ts[:len(params)]):
        np.save(f"{d}/ref{i + 1}.npy", t.grad.numpy())


if __name__ == "__main__":
    main()
