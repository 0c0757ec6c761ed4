#!/usr/bin/env python3
"""References for append-loss.test. usage: DIR ce|mse"""
import sys

import h5py
import numpy as np
import torch

d, kind = sys.argv[1], sys.argv[2]
with h5py.File(f"{d}/w.h5") as f:
    w = np.asarray(f["fc|w"], np.float64)
b = np.linspace(-1, 1, 8)  # the model's bias (make_model.py weights)
x = np.load(f"{d}/x.npy").astype(np.float64)
if kind == "ce":
    wt = torch.tensor(w, requires_grad=True)
    logits = torch.tensor(x) @ wt + torch.tensor(b)
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(np.load(f"{d}/labels.npy")))
    loss.backward()
    got, gw = float(np.load(f"{d}/loss.npy")), np.load(f"{d}/dw.npy")
    assert abs(got - loss.item()) < 1e-5 * loss.item(), (got, loss.item())
    err = np.abs(gw - wt.grad.numpy()).max() / np.abs(wt.grad.numpy()).max()
    assert err < 1e-5, err
    print(f"cross-entropy {got:.6f} (torch {loss.item():.6f}), gradient error {err:.2e}")
else:
    y = x @ w + b
    ref = ((y - np.load(f"{d}/t.npy")) ** 2).mean()
    got = float(np.load(f"{d}/mse.npy"))
    assert abs(got - ref) < 1e-5 * ref, (got, ref)
    print(f"mse {got:.6f} (numpy {ref:.6f})")
