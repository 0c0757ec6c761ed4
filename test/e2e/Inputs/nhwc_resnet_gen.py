"""Writes test/e2e/nhwc-resnet.test's model and its PyTorch reference.

usage: nhwc_resnet_gen.py OUTDIR [--pool]

  model.mlir  x [2,10,10,1] NHWC with HWCF filters (JAX's form): a stem
              conv3x3(1->16) + bias + ReLU, an identity block (two conv3x3
              16->16, residual add, ReLU), a downsampling block (conv3x3
              stride 2 16->32 behind an asymmetric zero pad, conv3x3 32->32,
              residual add of the strided output, ReLU). Every padding is a
              zero tensor.pad.  -> y [2,5,5,32] NHWC
              --pool: then JAX's global average pooling (a generic summing
              over H and W, a scale by 1/25)  -> y [2,32]
  x.npy, ref.npy: input, and the reference computed by PyTorch in float64
  from the same float32 weights.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "scripts"))
from mlir_emit import Emitter, Val  # noqa: E402

F = torch.nn.functional


def pad(em, x, low, high):
    n, h, w, c = x.shape
    shape = (n, h + low[0] + high[0], w + low[1] + high[1], c)
    zero = em.emit("arith.constant 0.0 : f32", "zero", ())
    ty = "tensor<" + "x".join(map(str, shape)) + "xf32>"
    return em.emit(f"tensor.pad {x.name} low[0, {low[0]}, {low[1]}, 0] "
                   f"high[0, {high[0]}, {high[1]}, 0] {{\n"
                   f"  ^bb0(%i: index, %j: index, %k: index, %l: index):\n"
                   f"    tensor.yield {zero.name} : f32\n  }} : {x.ty} to {ty}", "pad", shape)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(17)

    def param(*shape, scale=1.0):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    # (name, cin, cout) with FCHW weights for PyTorch.
    specs = [("c1", 1, 16), ("b1a", 16, 16), ("b1b", 16, 16), ("down", 16, 32),
             ("b2a", 32, 32), ("b2b", 32, 32)]
    p = {name: (param(cout, cin, 3, 3, scale=(2.0 / (9 * cin)) ** 0.5),
                param(cout, scale=0.5)) for name, cin, cout in specs}
    x = param(2, 10, 10, 1)
    em = Emitter()
    xv = Val("%x", x.shape)

    def conv(h, name, stride=1):
        w, b = p[name]
        wv = em.weight(f"{name}.w", w.transpose(2, 3, 1, 0).copy())
        bv = em.weight(f"{name}.b", b)
        hp = pad(em, h, (1, 1), (1, 1)) if stride == 1 else pad(em, h, (0, 0), (1, 1))
        n, hh, ww, _ = hp.shape
        f = w.shape[0]
        shape = (n, (hh - 3) // stride + 1, (ww - 3) // stride + 1, f)
        init = em.filled(shape, 0.0)
        y = em.emit(f"linalg.conv_2d_nhwc_hwcf {{dilations = dense<1> : tensor<2xi64>, "
                    f"strides = dense<{stride}> : tensor<2xi64>}} "
                    f"ins({hp.name}, {wv.name} : {hp.ty}, {wv.ty}) outs({init.name} : {init.ty}) "
                    f"-> {init.ty}", "conv", shape)
        return em.bias_add(y, bv)

    h = em.relu(conv(xv, "c1"))
    y = em.relu(conv(h, "b1a"))
    h = em.relu(em.add(conv(y, "b1b"), h))
    h = em.relu(conv(h, "down", stride=2))
    y = em.relu(conv(h, "b2a"))
    h = em.relu(em.add(conv(y, "b2b"), h))
    pool = "--pool" in sys.argv[2:]
    if pool:
        n, hh, ww, c = h.shape
        total = em.generic([h], [(0, 1, 2, 3), (0, 3)],
                           ["parallel", "reduction", "reduction", "parallel"], (n, c),
                           lambda bb, a, o: bb.addf(o, a), init=em.filled((n, c), 0.0),
                           hint="sum")
        h = em.scale(total, 1.0 / (hh * ww))
    with open(os.path.join(out, "model.mlir"), "w") as f:
        f.write(em.function("main", [xv], h,
                            header="// test/e2e/nhwc-resnet.test: NHWC ResNet blocks\n"))

    def tconv(t, name, stride=1):
        w, b = (torch.from_numpy(v).double() for v in p[name])
        t = F.pad(t, (1, 1, 1, 1) if stride == 1 else (0, 1, 0, 1))
        return F.conv2d(t, w, b, stride=stride)

    t = torch.from_numpy(x).double().permute(0, 3, 1, 2)
    t = F.relu(tconv(t, "c1"))
    r = F.relu(tconv(t, "b1a"))
    t = F.relu(tconv(r, "b1b") + t)
    t = F.relu(tconv(t, "down", stride=2))
    r = F.relu(tconv(t, "b2a"))
    t = F.relu(tconv(r, "b2b") + t)
    t = t.mean(dim=(2, 3)) if pool else t.permute(0, 2, 3, 1)
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "ref.npy"), t.numpy().astype(np.float32).copy())


if __name__ == "__main__":
    main()
