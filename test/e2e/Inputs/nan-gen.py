"""Writes the models and inputs of test/e2e/nan-*.test and inf-*.test.

usage: nan-gen.py OUTDIR

  mlp.mlir     x [8,64]: fc 64->32 + bias + ReLU, fc 32->32 + bias + ReLU +
               residual, fc 32->10 + bias.  -> y [8,10]
  softmax.mlir linalg.softmax of x [8,64] along dimension 1.
  cnn.mlir     x [2,16,12,12] NCHW: conv3x3 (16->16, Winograd's shape) + bias +
               ReLU + maxpool 2/2, zero pad 1, conv3x3 (16->8) + bias + ReLU,
               flatten, fc 200->10 + bias.  -> y [2,10]
  x_mlp.npy, x_cnn.npy: rows / images holding NaN, +Inf and -Inf (and finite
               ones), ref_mlp.npy, ref_softmax.npy, ref_cnn.npy: PyTorch (float64, rounded to
               float32) on the same float32 weights.
  res_a.mlir, res_b.mlir  x [1,32,16,16] all ones: four conv3x3 (32->32, pad 1)
               + bias + ReLU blocks with a residual add after every second one,
               maxpool 2/2, global average pool, fc 32->10 (rows of one sign)
               + bias. All weights positive and big (1e9 in res_a: the fourth
               convolution overflows; 1e12 in res_b: the third does, so the
               fourth reads +Inf): the activations overflow to +Inf, never to
               NaN, and the logits are +-Inf by the sign of their fc row.
               ref_res_a.npy, ref_res_b.npy: PyTorch float64 rounded to float32
               (every sum is of positive terms, so float32 overflows exactly
               where the float64 value exceeds FLT_MAX).
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "scripts"))
from mlir_emit import Emitter, Val  # noqa: E402

F = torch.nn.functional
NAN, INF = np.float32(np.nan), np.float32(np.inf)


def conv(em, x, w, b, pad):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    if pad:
        zero = em.emit("arith.constant 0.0 : f32", "zero", ())
        x = em.emit(f"tensor.pad {x.name} low[0, 0, {pad}, {pad}] high[0, 0, {pad}, {pad}] {{\n"
                    f"  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):\n"
                    f"    tensor.yield {zero.name} : f32\n"
                    f"  }} : {x.ty} to tensor<{n}x{c}x{h + 2 * pad}x{wd + 2 * pad}xf32>",
                    "padded", (n, c, h + 2 * pad, wd + 2 * pad))
        h, wd = h + 2 * pad, wd + 2 * pad
    shape = (n, f, h - kh + 1, wd - kw + 1)
    init = em.filled(shape, 0.0)
    y = em.emit(f"linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>, "
                f"strides = dense<1> : tensor<2xi64>}} "
                f"ins({x.name}, {w.name} : {x.ty}, {w.ty}) outs({init.name} : {init.ty}) "
                f"-> {init.ty}", "conv", shape)
    y = em.elementwise([y, b], lambda bb, a, c, o: bb.addf(a, c), "bias", {1: (1,)})
    return em.relu(y)


def maxpool(em, x):
    n, c, h, w = x.shape
    shape = (n, c, h // 2, w // 2)
    win = em.emit("tensor.empty() : tensor<2x2xf32>", "win", (2, 2))
    init = em.filled(shape, -np.inf)
    return em.emit(f"linalg.pooling_nchw_max {{dilations = dense<1> : tensor<2xi64>, "
                   f"strides = dense<2> : tensor<2xi64>}} "
                   f"ins({x.name}, {win.name} : {x.ty}, {win.ty}) outs({init.name} : {init.ty}) "
                   f"-> {init.ty}", "pool", shape)


def linear(em, h, w, b):
    return em.bias_add(em.matmul(h, w, transpose_b=True), b)


def save(out, name, arr):
    np.save(os.path.join(out, name), np.ascontiguousarray(arr, dtype=np.float32))


def f32(t):
    return t.numpy().astype(np.float32)


def mlp(out, rng):
    p = {k: (s * rng.standard_normal(shape)).astype(np.float32) for k, shape, s in [
        ("w1", (32, 64), 0.2), ("b1", (32,), 0.5), ("w2", (32, 32), 0.2), ("b2", (32,), 0.5),
        ("w3", (10, 32), 0.3), ("b3", (10,), 0.5)]}
    x = rng.standard_normal((8, 64)).astype(np.float32)
    x[0, 3] = NAN
    x[1, 5] = INF
    x[2, 7] = -INF
    x[3, 1], x[3, 2] = INF, -INF
    x[4, :] = NAN
    x[5, 10] = 1e30  # finite, big
    em = Emitter()
    xv = Val("%x", x.shape)
    h1 = em.relu(linear(em, xv, em.weight("w1", p["w1"]), em.weight("b1", p["b1"])))
    h2 = em.relu(linear(em, h1, em.weight("w2", p["w2"]), em.weight("b2", p["b2"])))
    h2 = em.add(h2, h1)
    y = linear(em, h2, em.weight("w3", p["w3"]), em.weight("b3", p["b3"]))
    with open(os.path.join(out, "mlp.mlir"), "w") as f:
        f.write(em.function("main", [xv], y, header="// test/e2e/nan-*.test: MLP\n"))
    em = Emitter()
    xv = Val("%x", x.shape)
    y = em.softmax(xv, 1)
    with open(os.path.join(out, "softmax.mlir"), "w") as f:
        f.write(em.function("main", [xv], y, header="// test/e2e/nan-*.test: softmax\n"))
    save(out, "ref_softmax.npy", f32(torch.softmax(torch.from_numpy(x).double(), 1)))
    d = {k: torch.from_numpy(v).double() for k, v in p.items()}
    t = torch.from_numpy(x).double()
    h1 = F.relu(F.linear(t, d["w1"], d["b1"]))
    h2 = F.relu(F.linear(h1, d["w2"], d["b2"])) + h1
    r = F.linear(h2, d["w3"], d["b3"])
    save(out, "x_mlp.npy", x)
    save(out, "ref_mlp.npy", f32(r))


def cnn(out, rng):
    p = {k: (s * rng.standard_normal(shape)).astype(np.float32) for k, shape, s in [
        ("w1", (16, 16, 3, 3), 0.15), ("b1", (16,), 0.5), ("w2", (8, 16, 3, 3), 0.15),
        ("b2", (8,), 0.5), ("wf", (10, 200), 0.1), ("bf", (10,), 0.5)]}
    x = rng.standard_normal((2, 16, 12, 12)).astype(np.float32)
    x[0, 0, 2, 2] = NAN
    x[0, 3, 9, 4] = INF
    x[0, 5, 5, 10] = -INF
    em = Emitter()
    xv = Val("%x", x.shape)
    h = maxpool(em, conv(em, xv, em.weight("w1", p["w1"]), em.weight("b1", p["b1"]), 0))
    h = conv(em, h, em.weight("w2", p["w2"]), em.weight("b2", p["b2"]), 1)
    h = em.collapse(h, [[0], [1, 2, 3]], "flat")
    y = linear(em, h, em.weight("wf", p["wf"]), em.weight("bf", p["bf"]))
    with open(os.path.join(out, "cnn.mlir"), "w") as f:
        f.write(em.function("main", [xv], y, header="// test/e2e/nan-*.test: CNN\n"))
    d = {k: torch.from_numpy(v).double() for k, v in p.items()}
    t = torch.from_numpy(x).double()
    r = F.max_pool2d(F.relu(F.conv2d(t, d["w1"], d["b1"])), 2)
    r = F.relu(F.conv2d(r, d["w2"], d["b2"], padding=1))
    r = F.linear(r.flatten(1), d["wf"], d["bf"])
    save(out, "x_cnn.npy", x)
    save(out, "ref_cnn.npy", f32(r))


def resnet(out, name, scale):
    c, hw = 32, 16
    x = np.ones((1, c, hw, hw), np.float32)
    w = np.full((c, c, 3, 3), scale, np.float32)
    b = np.full((c,), 0.5, np.float32)
    wf = np.array([[(-1.0) ** i * (1 + j % 3) for j in range(c)] for i in range(10)], np.float32)
    bf = np.zeros(10, np.float32)
    em = Emitter()
    xv = Val("%x", x.shape)
    h = xv
    for i in range(4):
        y = conv(em, h, em.weight(f"c{i}_w", w), em.weight(f"c{i}_b", b), 1)
        h = em.add(y, h) if i % 2 else y
    h = maxpool(em, h)
    s = em.reduce_last([em.collapse(h, [[0], [1], [2, 3]], "flat")], [],
                       lambda bb, a, o: bb.addf(o, a), 0.0, "gap")
    s = em.scale(s, 1.0 / (hw // 2) ** 2)
    y = linear(em, s, em.weight("fc_w", wf), em.weight("fc_b", bf))
    with open(os.path.join(out, f"{name}.mlir"), "w") as f:
        f.write(em.function("main", [xv], y, header="// test/e2e/inf-*.test: overflowing ResNet\n"))
    t = torch.from_numpy(x).double()
    wt, bt = torch.from_numpy(w).double(), torch.from_numpy(b).double()
    for i in range(4):
        y = F.relu(F.conv2d(t, wt, bt, padding=1))
        t = y + t if i % 2 else y
    t = F.max_pool2d(t, 2).mean((2, 3))
    r = F.linear(t, torch.from_numpy(wf).double(), torch.from_numpy(bf).double())
    save(out, "x_res.npy", x)
    with np.errstate(over="ignore"):
        save(out, f"ref_{name}.npy", f32(r))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(5)
    mlp(out, rng)
    cnn(out, rng)
    resnet(out, "res_a", 1e9)
    resnet(out, "res_b", 1e12)


if __name__ == "__main__":
    main()
