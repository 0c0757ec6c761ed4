"""Writes the small CNNs of test/e2e/cnn-*.test and their PyTorch references.

usage: cnn-gen.py OUTDIR

  nchw.mlir  x [3,3,16,16] NCHW: conv3x3(3->8) + bias + ReLU (arith.maximumf),
             maxpool 2/2, conv3x3(8->16) + bias + ReLU (cmpf + select, as ONNX
             importers write it), maxpool 2/2 on a 5x5 map (last row and column
             unused), flatten, fc 64->10 + bias.  -> y [3,10]
  nhwc.mlir  x [2,12,12,3] NHWC: a standalone maxpool 3x3/1 (not after a
             convolution), conv3x3 dilation 2 (3->8) + bias + ReLU, maxpool 2/2.
             -> y [2,3,3,8] NHWC
  chain.mlir x [2,3,19,19] NCHW, 16k channels so that lathe-cpu-chain-convs keeps
             the maps between convolutions channel-blocked: conv3x3(3->16) + bias +
             ReLU, maxpool 2/2 (-> 8x8, of which the stride-2 conv3x3(16->32) + bias +
             ReLU reads 7x7 only), a crop [1:, 1:] of its 3x3 output, a zero
             tensor.pad of 1, conv3x3(32->16) + bias + ReLU, flatten, fc 64->10
             + bias.  -> y [2,10]
  x.npy, ref.npy, xh.npy, refh.npy, xc.npy, refc.npy: inputs, and references
  computed by PyTorch in float64 from the same float32 weights.
Every bias is non-trivial (N(0, 0.5)), so a dropped bias or ReLU shows.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "scripts"))
from mlir_emit import Emitter, Val  # noqa: E402

F = torch.nn.functional


def conv(em, x, w, b, nhwc, relu, dil=1, stride=1):
    if nhwc:
        n, h, wd, _ = x.shape
        kh, kw, _, f = w.shape
    else:
        n, _, h, wd = x.shape
        f, _, kh, kw = w.shape
    oh = (h - dil * (kh - 1) - 1) // stride + 1
    ow = (wd - dil * (kw - 1) - 1) // stride + 1
    shape = (n, oh, ow, f) if nhwc else (n, f, oh, ow)
    init = em.filled(shape, 0.0)
    name = "conv_2d_nhwc_hwcf" if nhwc else "conv_2d_nchw_fchw"
    y = em.emit(f"linalg.{name} {{dilations = dense<{dil}> : tensor<2xi64>, "
                f"strides = dense<{stride}> : tensor<2xi64>}} "
                f"ins({x.name}, {w.name} : {x.ty}, {w.ty}) outs({init.name} : {init.ty}) -> {init.ty}",
                "conv", shape)
    y = em.elementwise([y, b], lambda bb, a, c, o: bb.addf(a, c), "bias", {1: (3 if nhwc else 1,)})
    if relu == "max":
        return em.relu(y)

    def select(bb, a, o):
        zero = bb.const(0.0)
        lt = bb.op(f"arith.cmpf olt, {a}, {zero} : f32", "lt")
        return bb.op(f"arith.select {lt}, {zero}, {a} : f32", "sel")
    return em.elementwise([y], select, "relu")


def maxpool(em, x, k, s, nhwc):
    if nhwc:
        n, h, w, c = x.shape
    else:
        n, c, h, w = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    shape = (n, oh, ow, c) if nhwc else (n, c, oh, ow)
    win = em.emit(f"tensor.empty() : tensor<{k}x{k}xf32>", "win", (k, k))
    init = em.filled(shape, -np.inf)
    name = "pooling_nhwc_max" if nhwc else "pooling_nchw_max"
    return em.emit(f"linalg.{name} {{dilations = dense<1> : tensor<2xi64>, "
                   f"strides = dense<{s}> : tensor<2xi64>}} "
                   f"ins({x.name}, {win.name} : {x.ty}, {win.ty}) outs({init.name} : {init.ty}) "
                   f"-> {init.ty}", "pool", shape)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(11)

    def param(*shape, scale=1.0):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    # NCHW network.
    w1, b1 = param(8, 3, 3, 3, scale=0.4), param(8, scale=0.5)
    w2, b2 = param(16, 8, 3, 3, scale=0.2), param(16, scale=0.5)
    wf, bf = param(10, 64, scale=0.2), param(10, scale=0.5)
    x = param(3, 3, 16, 16)
    em = Emitter()
    xv = Val("%x", x.shape)
    h = conv(em, xv, em.weight("c1.w", w1), em.weight("c1.b", b1), False, "max")
    h = maxpool(em, h, 2, 2, False)
    h = conv(em, h, em.weight("c2.w", w2), em.weight("c2.b", b2), False, "select")
    h = maxpool(em, h, 2, 2, False)
    h = em.collapse(h, [[0], [1, 2, 3]], "flat")
    h = em.matmul(h, em.weight("fc.w", wf), transpose_b=True)
    h = em.bias_add(h, em.weight("fc.b", bf))
    with open(os.path.join(out, "nchw.mlir"), "w") as f:
        f.write(em.function("main", [xv], h, header="// test/e2e/cnn-*.test: NCHW CNN\n"))
    d = {k: torch.from_numpy(v).double() for k, v in
         dict(x=x, w1=w1, b1=b1, w2=w2, b2=b2, wf=wf, bf=bf).items()}
    r = F.max_pool2d(F.relu(F.conv2d(d["x"], d["w1"], d["b1"])), 2)
    r = F.max_pool2d(F.relu(F.conv2d(r, d["w2"], d["b2"])), 2)
    r = F.linear(r.flatten(1), d["wf"], d["bf"])
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "ref.npy"), r.numpy().astype(np.float32))

    # NHWC network (HWCF filter).
    w3, b3 = param(8, 3, 3, 3, scale=0.4), param(8, scale=0.5)
    xh = param(2, 12, 12, 3)
    em = Emitter()
    xv = Val("%x", xh.shape)
    h = maxpool(em, xv, 3, 1, True)
    h = conv(em, h, em.weight("c3.w", w3.transpose(2, 3, 1, 0).copy()), em.weight("c3.b", b3),
             True, "max", dil=2)
    h = maxpool(em, h, 2, 2, True)
    with open(os.path.join(out, "nhwc.mlir"), "w") as f:
        f.write(em.function("main", [xv], h, header="// test/e2e/cnn-*.test: NHWC CNN\n"))
    t = torch.from_numpy(xh).double().permute(0, 3, 1, 2)
    r = F.max_pool2d(t, 3, stride=1)
    r = F.relu(F.conv2d(r, torch.from_numpy(w3).double(), torch.from_numpy(b3).double(),
                        dilation=2))
    r = F.max_pool2d(r, 2).permute(0, 2, 3, 1)
    np.save(os.path.join(out, "xh.npy"), xh)
    np.save(os.path.join(out, "refh.npy"), r.numpy().astype(np.float32).copy())

    # NCHW chain with 16k channels (blocked layout between the convolutions).
    wc1, bc1 = param(16, 3, 3, 3, scale=0.4), param(16, scale=0.5)
    wc2, bc2 = param(32, 16, 3, 3, scale=0.15), param(32, scale=0.5)
    wc3, bc3 = param(16, 32, 3, 3, scale=0.1), param(16, scale=0.5)
    wcf, bcf = param(10, 64, scale=0.2), param(10, scale=0.5)
    xc = param(2, 3, 19, 19)
    em = Emitter()
    xv = Val("%x", xc.shape)
    h = conv(em, xv, em.weight("k1.w", wc1), em.weight("k1.b", bc1), False, "max")
    h = maxpool(em, h, 2, 2, False)
    h = conv(em, h, em.weight("k2.w", wc2), em.weight("k2.b", bc2), False, "select", stride=2)
    crop = (2, 32, 2, 2)
    h = em.emit(f"tensor.extract_slice {h.name}[0, 0, 1, 1] [2, 32, 2, 2] [1, 1, 1, 1] : "
                f"{h.ty} to tensor<2x32x2x2xf32>", "crop", crop)
    # Zero padding 1 as tensor.pad (folded into the convolution's padding).
    zero = em.emit("arith.constant 0.0 : f32", "zero", ())
    h = em.emit(f"tensor.pad {h.name} low[0, 0, 1, 1] high[0, 0, 1, 1] {{\n"
                f"  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):\n"
                f"    tensor.yield {zero.name} : f32\n"
                f"  }} : {h.ty} to tensor<2x32x4x4xf32>", "padded", (2, 32, 4, 4))
    h = conv(em, h, em.weight("k3.w", wc3), em.weight("k3.b", bc3), False, "max")
    h = em.collapse(h, [[0], [1, 2, 3]], "flat")
    h = em.matmul(h, em.weight("kf.w", wcf), transpose_b=True)
    h = em.bias_add(h, em.weight("kf.b", bcf))
    with open(os.path.join(out, "chain.mlir"), "w") as f:
        f.write(em.function("main", [xv], h, header="// test/e2e/cnn-*.test: NCHW chain\n"))
    d = {k: torch.from_numpy(v).double() for k, v in
         dict(x=xc, w1=wc1, b1=bc1, w2=wc2, b2=bc2, w3=wc3, b3=bc3, wf=wcf, bf=bcf).items()}
    r = F.max_pool2d(F.relu(F.conv2d(d["x"], d["w1"], d["b1"])), 2)
    r = F.relu(F.conv2d(r, d["w2"], d["b2"], stride=2))[:, :, 1:, 1:]
    r = F.relu(F.conv2d(r, d["w3"], d["b3"], padding=1))
    r = F.linear(r.flatten(1), d["wf"], d["bf"])
    np.save(os.path.join(out, "xc.npy"), xc)
    np.save(os.path.join(out, "refc.npy"), r.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
