#!/usr/bin/env python3
"""Evoformer-shaped attention loss for attention-grad.test: the module, its
inputs and PyTorch-autograd gradients (float64).

usage: attention_grad_ref.py DIR [--l L --d D]
           writes DIR/attn.mlir (@loss: q, k, v, pair bias trained; key mask
           and weights w not), DIR/in{0..5}.npy and DIR/ref{0..4}.npy
           (the loss, then dq, dk, dv, dpair)
       attention_grad_ref.py --long L DIR
           writes DIR/long.mlir: the same loss for one head of length L
           (q, k, v [1, L, 64], no biases), for the peak-memory check
       attention_grad_ref.py --check DIR N
           compares DIR/out{i}.npy with DIR/ref{i}.npy (1e-4 of each
           tensor's largest magnitude)

loss = sum(attention(q, k, v; mask, pair) * w), with q [B, N, H, L, D],
mask [B, N, 1, 1, L] (0 or -inf; every key of (b=1, n=0) masked: those
rows' output is 0, as Lathe's kernel defines it) and pair bias
[B, 1, H, L, L].
"""
import sys

import numpy as np
import torch

from grad_ref import check  # this folder: the lathe-differentiate tests' comparison

B, N, H = 2, 3, 2


def module(shape, mask_shape, pair_shape, scale):
    t = lambda s: "tensor<" + "x".join(map(str, s)) + "xf32>"
    q = t(shape)
    if mask_shape is None:
        params = f"%q: {q} {{lathe.param}}, %k: {q} {{lathe.param}}, %v: {q} {{lathe.param}}, %w: {q}"
        biases = ""
    else:
        m, p = t(mask_shape), t(pair_shape)
        params = (f"%q: {q} {{lathe.param}}, %k: {q} {{lathe.param}},\n"
                  f"                %v: {q} {{lathe.param}}, %pair: {p} {{lathe.param}},\n"
                  f"                %mask: {m}, %w: {q}")
        biases = f"biases(%mask, %pair : {m}, {p})"
    dims = ", ".join(f"d{i}" for i in range(len(shape)))
    red = ", ".join(['"reduction"'] * len(shape))
    return f"""#id = affine_map<({dims}) -> ({dims})>
#s = affine_map<({dims}) -> ()>
func.func @loss({params}) -> tensor<f32> {{
  %e = tensor.empty() : {q}
  %o = memred.attention ins(%q, %k, %v : {q}, {q}, {q})
         {biases}
         outs(%e : {q}) scale({scale!r}) -> {q}
  %z = arith.constant 0.0 : f32
  %a = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%a : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {{indexing_maps = [#id, #id, #s], iterator_types = [{red}]}}
      ins(%o, %w : {q}, {q}) outs(%i : tensor<f32>) {{
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %pr = arith.mulf %x, %y : f32
    %sum = arith.addf %acc, %pr : f32
    linalg.yield %sum : f32
  }} -> tensor<f32>
  return %l : tensor<f32>
}}
"""


def reference(q, k, v, pair, mask, w, scale):
    s = scale * q @ k.transpose(-1, -2) + mask + pair
    dead = torch.isinf(s.amax(-1, keepdim=True))  # every key masked
    p = torch.softmax(s.masked_fill(dead, 0.0), -1).masked_fill(dead, 0.0)
    return ((p @ v) * w).sum()


def main():
    if sys.argv[1] == "--check":
        check(sys.argv[2], int(sys.argv[3]))
        return
    if sys.argv[1] == "--long":
        L, d = int(sys.argv[2]), sys.argv[3]
        open(f"{d}/long.mlir", "w").write(
            module([1, L, 64], None, None, float(np.float32(0.125))))
        return
    d = sys.argv[1]
    L = int(sys.argv[sys.argv.index("--l") + 1]) if "--l" in sys.argv else 24
    D = int(sys.argv[sys.argv.index("--d") + 1]) if "--d" in sys.argv else 8
    scale = float(np.float32(1 / np.sqrt(D)))
    shape, mshape, pshape = [B, N, H, L, D], [B, N, 1, 1, L], [B, 1, H, L, L]
    open(f"{d}/attn.mlir", "w").write(module(shape, mshape, pshape, scale))
    rng = np.random.default_rng(0)
    q, k, v, w = (rng.standard_normal(shape) for _ in range(4))
    pair = rng.standard_normal(pshape)
    mask = np.where(rng.random(mshape) < 0.2, -np.inf, 0.0)
    mask[1, 0] = -np.inf
    arrays = [np.asarray(a, np.float32) for a in (q, k, v, pair, mask, w)]
    for i, a in enumerate(arrays):
        np.save(f"{d}/in{i}.npy", a)
    ts = [torch.tensor(a.astype(np.float64), requires_grad=i < 4)
          for i, a in enumerate(arrays)]
    loss = reference(*ts, scale)
    loss.backward()
    np.save(f"{d}/ref0.npy", loss.detach().numpy())
    for i in range(4):
        np.save(f"{d}/ref{i + 1}.npy", ts[i].grad.numpy())


if __name__ == "__main__":
    main()
