#!/usr/bin/env python3
"""Inputs and PyTorch references for optimizers.mlir. usage: DIR [--check]"""
import math
import sys

import numpy as np
import torch

d = sys.argv[1]
if len(sys.argv) == 2:
    rng = np.random.default_rng(0)
    for name in ("p", "g1", "g2", "g3"):
        np.save(f"{d}/{name}.npy", rng.standard_normal((3, 4)).astype(np.float32))
    sys.exit(0)

p0 = np.load(f"{d}/p.npy").astype(np.float64)
gs = [np.load(f"{d}/g{i}.npy").astype(np.float64) for i in (1, 2, 3)]


def run(make):
    p = torch.tensor(p0, requires_grad=True)
    opt = make([p])
    for g in gs:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy()


def close(name, got, ref, tol=1e-5):
    err = np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-6)
    assert err < tol, f"{name}: relative error {err:.3g}\n{got}\n{ref}"
    print(f"{name}: relative error {err:.2e}")


close("adamw", np.load(f"{d}/adamw.npy"),
      run(lambda ps: torch.optim.AdamW(ps, lr=0.05, betas=(0.8, 0.999), eps=1e-8, weight_decay=0.1)))
close("sgd", np.load(f"{d}/sgd.npy"),
      run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01)))
close("nesterov", np.load(f"{d}/nesterov.npy"),
      run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)))

t1, t2 = torch.tensor(gs[0]), torch.tensor(gs[1])
a = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
b = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
a.grad, b.grad = t1.clone(), t2.clone()
norm = torch.nn.utils.clip_grad_norm_([a, b], 1.5)
close("clip g1", np.load(f"{d}/c1.npy"), a.grad.numpy())
close("clip g2", np.load(f"{d}/c2.npy"), b.grad.numpy())
close("norm", np.load(f"{d}/norm.npy"), norm.numpy())


def lr(s, base=0.1, low=0.001, warm=10, total=100):
    if s < warm:
        return base * (s + 1) / warm
    prog = min(1.0, (s - warm) / max(1, total - warm))
    return low + 0.5 * (base - low) * (1 + math.cos(math.pi * prog))


close("warmup_cosine", np.load(f"{d}/lr.npy"), np.array([lr(s) for s in (0, 9, 10, 55, 200)]))
