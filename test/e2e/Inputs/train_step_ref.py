#!/usr/bin/env python3
"""Three training steps of grad-mlp.mlir's MLP, by PyTorch, for
train-step.test: AdamW (weight decay 0.01), gradients clipped to global norm
1.0, learning rate warm-up (1 step) + cosine from 0.01 to 0.001 over 3 steps.

usage: train_step_ref.py DIR          writes zero optimizer state, steps
       train_step_ref.py DIR --check  compares DIR/p{0..3}.npy after 3 steps
(grad_ref.py mlp DIR writes the weights and the batch: in0..in5.npy)
"""
import math
import sys

import numpy as np
import torch

d = sys.argv[1]
params = [np.load(f"{d}/in{i}.npy") for i in range(4)]
if len(sys.argv) == 2:
    for i, p in enumerate(params):
        np.save(f"{d}/m{i}.npy", np.zeros_like(p))
        np.save(f"{d}/v{i}.npy", np.zeros_like(p))
        np.save(f"{d}/p{i}.npy", p)
    for s in range(3):
        np.save(f"{d}/step{s}.npy", np.array(s, np.float32))
    sys.exit(0)

x, y = (torch.tensor(np.load(f"{d}/in{i}.npy").astype(np.float64)) for i in (4, 5))
ps = [torch.tensor(p.astype(np.float64), requires_grad=True) for p in params]
opt = torch.optim.AdamW(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)


def lr(s, base=0.01, low=0.001, warm=1, total=3):
    if s < warm:
        return base * (s + 1) / warm
    prog = min(1.0, (s - warm) / max(1, total - warm))
    return low + 0.5 * (base - low) * (1 + math.cos(math.pi * prog))


losses = []
for s in range(3):
    opt.zero_grad()
    w1, b1, w2, b2 = ps
    logits = torch.relu(x @ w1 + b1) @ w2 + b2
    loss = (torch.logsumexp(logits, 1) - (logits * y).sum(1)).mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(ps, 1.0)
    for g in opt.param_groups:
        g["lr"] = lr(s)
    opt.step()
    losses.append(loss.item())

for s in range(3):
    got = float(np.load(f"{d}/loss{s}.npy"))
    assert abs(got - losses[s]) < 1e-5 * abs(losses[s]), (s, got, losses[s])
for i, p in enumerate(ps):
    got = np.load(f"{d}/p{i}.npy").astype(np.float64)
    ref = p.detach().numpy()
    moved = np.abs(ref - params[i]).max()
    err = np.abs(got - ref).max()
    # The update must be reproduced to well within its own size.
    assert err < 1e-3 * moved + 1e-7, f"param {i}: error {err:.3g}, step size {moved:.3g}"
    print(f"param {i}: max error {err:.2e} (moved {moved:.2e})")
print("losses", losses)
