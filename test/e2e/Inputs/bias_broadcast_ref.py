"""Inputs (`gen DIR`) and the torch.autograd check (`check DIR`) of
grad-bias-broadcast.mlir: loss = sum(r * (x + b)^2), b of shape [4, 1, 1]."""
import sys

import numpy as np
import torch

mode, d = sys.argv[1], sys.argv[2]
if mode == "gen":
    rng = np.random.default_rng(5)
    np.save(f"{d}/x.npy", rng.standard_normal((2, 4, 3, 5)).astype(np.float32))
    np.save(f"{d}/b.npy", rng.standard_normal((4, 1, 1)).astype(np.float32))
    np.save(f"{d}/r.npy", rng.standard_normal((2, 4, 3, 5)).astype(np.float32))
    sys.exit(0)
x, b = (torch.from_numpy(np.load(f"{d}/{n}.npy").astype(np.float64)).requires_grad_()
        for n in ("x", "b"))
r = torch.from_numpy(np.load(f"{d}/r.npy").astype(np.float64))
loss = (r * (x + b) ** 2).sum()
loss.backward()
assert abs(float(np.load(f"{d}/loss.npy")) - loss.item()) <= 1e-4 * max(1, abs(loss.item()))
for name, t in (("x", x), ("b", b)):
    got = np.load(f"{d}/d{name}.npy").astype(np.float64)
    ref = t.grad.numpy()
    assert got.shape == ref.shape, (name, got.shape, ref.shape)
    err = np.abs(got - ref).max() / np.abs(ref).max()
    assert err <= 1e-5, (name, err)
    print(f"d{name}: max error {err:.1e} of the largest element")
