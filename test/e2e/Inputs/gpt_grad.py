#!/usr/bin/env python3
"""A small causal transformer language model (GPT-style: token + position
embeddings, pre-LN blocks with causal attention written as matmul + mask +
softmax, GELU MLP, LM head), exported by PyTorch 1.13 to ONNX, for
gpt-grad.test.

usage: gpt_grad.py DIR            gpt.onnx (exported in training mode, so
                                  parameters keep their names and equal
                                  initializers are not merged), x.npy, y.npy
       gpt_grad.py DIR --run RUN  runs @loss_grad of DIR/grad.mlir with lathe-run
                                  (path RUN): the parameters from DIR/w.h5
       gpt_grad.py DIR --check    compares the loss and the gradients with
                                  PyTorch's autograd (float64)

Importable: GPT(batch) is the model at another batch size (seqshard_onnx.py).
"""
import re
import subprocess
import math
import sys

import numpy as np
import torch

V, D, H, T, L, B = 48, 32, 4, 16, 2, 3


class Block(torch.nn.Module):
    def __init__(self, batch=B):
        super().__init__()
        self.batch = batch
        self.ln1, self.ln2 = torch.nn.LayerNorm(D), torch.nn.LayerNorm(D)
        self.qkv, self.proj = torch.nn.Linear(D, 3 * D), torch.nn.Linear(D, D)
        self.fc, self.out = torch.nn.Linear(D, 4 * D), torch.nn.Linear(4 * D, D)
        self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), 1))

    def forward(self, x):
        hd = D // H
        q, k, v = self.qkv(self.ln1(x)).split(D, 2)
        b = self.batch
        q, k, v = (t.reshape(b, T, H, hd).transpose(1, 2) for t in (q, k, v))
        a = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(hd) + self.mask, -1) @ v
        x = x + self.proj(a.transpose(1, 2).reshape(b, T, D))
        return x + self.out(torch.nn.functional.gelu(self.fc(self.ln2(x))))


class GPT(torch.nn.Module):
    def __init__(self, batch=B):
        super().__init__()
        self.tok = torch.nn.Embedding(V, D)
        self.pos = torch.nn.Parameter(torch.randn(T, D) * 0.02)
        self.blocks = torch.nn.Sequential(*[Block(batch) for _ in range(L)])
        self.ln = torch.nn.LayerNorm(D)
        self.head = torch.nn.Linear(D, V)

    def forward(self, idx):
        return self.head(self.ln(self.blocks(self.tok(idx) + self.pos)))



def main(argv):
    d = argv[1]
    torch.manual_seed(0)
    model = GPT()
    rng = np.random.default_rng(0)
    if len(argv) == 2:
        x = rng.integers(0, V, (B, T)).astype(np.int64)
        np.save(f"{d}/x.npy", x)
        np.save(f"{d}/y.npy", np.roll(x, -1, 1))
        model.train()
        torch.onnx.export(model, torch.from_numpy(x), f"{d}/gpt.onnx", input_names=["x"],
                          output_names=["logits"], opset_version=14,
                          training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=False)
        return

    def grad_names():
        """lathe.name of @loss_grad's parameters, in argument order."""
        text = open(f"{d}/grad.mlir").read()
        sig = text[text.index("func.func @loss_grad("):]
        sig = sig[:sig.index(") ->")]
        return [n for n in re.findall(r'lathe\.name = "([^"]*)"', sig) if n != "labels"]

    if argv[2] == "--run":
        names = grad_names()
        cmd = [argv[3], f"{d}/grad.mlir", "--entry=loss_grad"]
        cmd += [f"--input={d}/w.h5:{n}" for n in names]
        cmd += [f"--input={d}/x.npy", f"--input={d}/y.npy", f"--output={d}/loss.npy"]
        cmd += [f"--output={d}/g{i}.npy" for i in range(len(names))]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return

    model = model.double()
    x, y = torch.from_numpy(np.load(f"{d}/x.npy")), torch.from_numpy(np.load(f"{d}/y.npy"))
    loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
    loss.backward()
    got = float(np.load(f"{d}/loss.npy"))
    assert abs(got - loss.item()) < 1e-5 * loss.item(), (got, loss.item())
    params = dict(model.named_parameters())
    names = grad_names()
    assert sorted(n.lstrip("/") for n in names) == sorted(params), (names, list(params))
    worst = 0.0
    for i, name in enumerate(names):
        ref = params[name.lstrip("/")].grad.numpy()
        err = np.abs(np.load(f"{d}/g{i}.npy") - ref).max() / np.abs(ref).max()
        worst = max(worst, err)
        assert err < 1e-4, f"{name}: relative error {err:.3g}"
    print(f"loss {got:.6f} (PyTorch {loss.item():.6f}); {len(names)} gradients, "
          f"worst relative error {worst:.2e}")


if __name__ == "__main__":
    main(sys.argv)
