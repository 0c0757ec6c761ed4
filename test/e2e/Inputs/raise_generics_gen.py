#!/usr/bin/python3
"""Models in the form other exporters write (JAX, torch-mlir): convolutions and
contractions as linalg.generic, element-wise arith on tensors. Writes
OUT/model.mlir, the inputs OUT/in<i>.npy and the reference OUT/ref.npy
(PyTorch / numpy, computed independently of the IR).

usage: raise_generics_gen.py OUT CASE [--scale big]
  CASE: cnn (NHWC generic convs, bias, ReLU as arith.maximumf on tensors),
        nchw (NCHW generic conv, stride 1, dilation 2),
        proj5d (5-D generic contraction bshd,hdk->bsk),
        ungrouped (contraction with transposed operands and result),
        matvec (batched vector-matrix contraction, no m loop),
        depthwise (depthwise NHWC generic convolution, stride 2),
        grouped (grouped NGCHW x GFCHW generic convolution),
        i8 (i8 x i8 -> i32 generic contraction, transposed rhs, extsi),
        eltwise (arith.maximumf / addf / mulf and math.exp on tensors)
  --scale big: benchmark sizes instead of test sizes.
"""
import argparse
import os

import numpy as np
import torch

MULADD_F32 = """  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32"""


def ty(shape, elem="f32"):
    return "tensor<" + "x".join(str(d) for d in shape) + "x" + elem + ">"


def conv_nhwc(name, x, xs, w, ws, stride, out, lines):
    """A generic NHWC x HWCF convolution of %x (shape xs) into a zero fill."""
    n, h, wd, _ = xs
    kh, kw, _, f = ws
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    os_ = (n, oh, ow, f)
    d = "(d0, d1, d2, d3, d4, d5, d6)"
    lines += [
        f"  %{name}_e = tensor.empty() : {ty(os_)}",
        f"  %{name}_z = linalg.fill ins(%zero : f32) outs(%{name}_e : {ty(os_)}) -> {ty(os_)}",
        f"  %{name} = linalg.generic {{indexing_maps = ["
        f"affine_map<{d} -> (d0, d1 * {stride} + d4, d2 * {stride} + d5, d6)>, "
        f"affine_map<{d} -> (d4, d5, d6, d3)>, affine_map<{d} -> (d0, d1, d2, d3)>], "
        'iterator_types = ["parallel", "parallel", "parallel", "parallel", '
        '"reduction", "reduction", "reduction"]}',
        f"      ins(%{x}, %{w} : {ty(xs)}, {ty(ws)}) outs(%{name}_z : {ty(os_)}) {{",
        MULADD_F32,
        f"  }} -> {ty(os_)}",
    ]
    out.append(os_)
    return os_


def bias_relu(name, x, shape, b, lines):
    """x + broadcast(b) then max(., 0), as arith ops on tensors."""
    f = shape[-1]
    lines += [
        f"  %{name}_be = tensor.empty() : {ty(shape)}",
        f"  %{name}_bb = linalg.broadcast ins(%{b} : {ty((f,))}) outs(%{name}_be : {ty(shape)}) dimensions = [0, 1, 2]",
        f"  %{name}_a = arith.addf %{x}, %{name}_bb : {ty(shape)}",
        f"  %{name}_zeros = arith.constant dense<0.0> : {ty(shape)}",
        f"  %{name} = arith.maximumf %{name}_a, %{name}_zeros : {ty(shape)}",
    ]


def case_cnn(big, rng):
    n, h, c, f1, f2, f3 = (8, 28, 16, 32, 64, 64) if big else (2, 10, 3, 8, 12, 8)
    x = rng.standard_normal((n, h, h, c)).astype(np.float32)
    w1 = (rng.standard_normal((3, 3, c, f1)) / np.sqrt(9 * c)).astype(np.float32)
    b1 = rng.standard_normal(f1).astype(np.float32)
    w2 = (rng.standard_normal((3, 3, f1, f2)) / np.sqrt(9 * f1)).astype(np.float32)
    b2 = rng.standard_normal(f2).astype(np.float32)
    w3 = (rng.standard_normal((3, 3, f2, f3)) / np.sqrt(9 * f2)).astype(np.float32)
    args = [("x", x), ("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2), ("w3", w3)]
    lines = ["  %zero = arith.constant 0.0 : f32"]
    ps = (n, h + 2, h + 2, c)
    lines += [
        f"  %xp = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {{",
        "  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):",
        "    tensor.yield %zero : f32",
        f"  }} : {ty(x.shape)} to {ty(ps)}",
    ]
    shapes = []
    s1 = conv_nhwc("c1", "xp", ps, "w1", w1.shape, 1, shapes, lines)
    bias_relu("r1", "c1", s1, "b1", lines)
    s2 = conv_nhwc("c2", "r1", s1, "w2", w2.shape, 2, shapes, lines)
    bias_relu("r2", "c2", s2, "b2", lines)
    s3 = conv_nhwc("c3", "r2", s2, "w3", w3.shape, 1, shapes, lines)
    lines.append(f"  return %c3 : {ty(s3)}")

    def conv(t, w, stride, pad=0):
        return torch.nn.functional.conv2d(
            t, torch.from_numpy(w).permute(3, 2, 0, 1), stride=stride, padding=pad)

    t = torch.from_numpy(x).permute(0, 3, 1, 2)
    t = torch.relu(conv(t, w1, 1, 1) + torch.from_numpy(b1)[:, None, None])
    t = torch.relu(conv(t, w2, 2) + torch.from_numpy(b2)[:, None, None])
    t = conv(t, w3, 1)
    ref = t.permute(0, 2, 3, 1).contiguous().numpy()
    return args, lines, ty(s3), ref


def case_nchw(big, rng):
    n, c, h, f = (2, 3, 13, 8)
    x = rng.standard_normal((n, c, h, h)).astype(np.float32)
    w = rng.standard_normal((f, c, 3, 3)).astype(np.float32)
    oh = h - 4
    os_ = (n, f, oh, oh)
    d = "(d0, d1, d2, d3, d4, d5, d6)"
    lines = [
        "  %zero = arith.constant 0.0 : f32",
        f"  %e = tensor.empty() : {ty(os_)}",
        f"  %z = linalg.fill ins(%zero : f32) outs(%e : {ty(os_)}) -> {ty(os_)}",
        f"  %y = linalg.generic {{indexing_maps = ["
        f"affine_map<{d} -> (d0, d4, d2 + d5 * 2, d3 + d6 * 2)>, "
        f"affine_map<{d} -> (d1, d4, d5, d6)>, affine_map<{d} -> (d0, d1, d2, d3)>], "
        'iterator_types = ["parallel", "parallel", "parallel", "parallel", '
        '"reduction", "reduction", "reduction"]}',
        f"      ins(%x, %w : {ty(x.shape)}, {ty(w.shape)}) outs(%z : {ty(os_)}) {{",
        MULADD_F32,
        f"  }} -> {ty(os_)}",
        f"  return %y : {ty(os_)}",
    ]
    ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                                     dilation=2).numpy()
    return [("x", x), ("w", w)], lines, ty(os_), ref


def case_depthwise(big, rng):
    """A depthwise NHWC convolution (stride 2) with a channel multiplier of 1."""
    n, h, c = 2, 11, 6
    x = rng.standard_normal((n, h, h, c)).astype(np.float32)
    w = rng.standard_normal((3, 3, c)).astype(np.float32)
    oh = (h - 3) // 2 + 1
    os_ = (n, oh, oh, c)
    d = "(d0, d1, d2, d3, d4, d5)"
    lines = [
        "  %zero = arith.constant 0.0 : f32",
        f"  %e = tensor.empty() : {ty(os_)}",
        f"  %z = linalg.fill ins(%zero : f32) outs(%e : {ty(os_)}) -> {ty(os_)}",
        f"  %y = linalg.generic {{indexing_maps = ["
        f"affine_map<{d} -> (d0, d1 * 2 + d4, d2 * 2 + d5, d3)>, "
        f"affine_map<{d} -> (d4, d5, d3)>, affine_map<{d} -> (d0, d1, d2, d3)>], "
        'iterator_types = ["parallel", "parallel", "parallel", "parallel", '
        '"reduction", "reduction"]}',
        f"      ins(%x, %w : {ty(x.shape)}, {ty(w.shape)}) outs(%z : {ty(os_)}) {{",
        MULADD_F32,
        f"  }} -> {ty(os_)}",
        f"  return %y : {ty(os_)}",
    ]
    ref = torch.nn.functional.conv2d(
        torch.from_numpy(x).permute(0, 3, 1, 2),
        torch.from_numpy(w).permute(2, 0, 1)[:, None], stride=2, groups=c)
    return [("x", x), ("w", w)], lines, ty(os_), ref.permute(0, 2, 3, 1).contiguous().numpy()


def case_grouped(big, rng):
    """A grouped convolution on [N, G, C/G, H, W] x [G, F/G, C/G, KH, KW]."""
    n, g, cg, fg, h = 2, 3, 2, 4, 9
    x = rng.standard_normal((n, g, cg, h, h)).astype(np.float32)
    w = rng.standard_normal((g, fg, cg, 3, 3)).astype(np.float32)
    oh = h - 2
    os_ = (n, g, fg, oh, oh)
    d = "(d0, d1, d2, d3, d4, d5, d6, d7)"
    lines = [
        "  %zero = arith.constant 0.0 : f32",
        f"  %e = tensor.empty() : {ty(os_)}",
        f"  %z = linalg.fill ins(%zero : f32) outs(%e : {ty(os_)}) -> {ty(os_)}",
        f"  %y = linalg.generic {{indexing_maps = ["
        f"affine_map<{d} -> (d0, d1, d5, d3 + d6, d4 + d7)>, "
        f"affine_map<{d} -> (d1, d2, d5, d6, d7)>, affine_map<{d} -> (d0, d1, d2, d3, d4)>], "
        'iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", '
        '"reduction", "reduction", "reduction"]}',
        f"      ins(%x, %w : {ty(x.shape)}, {ty(w.shape)}) outs(%z : {ty(os_)}) {{",
        MULADD_F32,
        f"  }} -> {ty(os_)}",
        f"  return %y : {ty(os_)}",
    ]
    ref = torch.nn.functional.conv2d(
        torch.from_numpy(x).reshape(n, g * cg, h, h),
        torch.from_numpy(w).reshape(g * fg, cg, 3, 3), groups=g)
    return [("x", x), ("w", w)], lines, ty(os_), ref.reshape(os_).numpy()


def case_proj5d(big, rng):
    b, s, h, d, k = (8, 128, 12, 64, 768) if big else (2, 5, 3, 4, 6)
    x = rng.standard_normal((b, s, h, d)).astype(np.float32)
    w = rng.standard_normal((h, d, k)).astype(np.float32)
    os_ = (b, s, k)
    dims = "(d0, d1, d2, d3, d4)"
    lines = [
        "  %zero = arith.constant 0.0 : f32",
        f"  %e = tensor.empty() : {ty(os_)}",
        f"  %z = linalg.fill ins(%zero : f32) outs(%e : {ty(os_)}) -> {ty(os_)}",
        f"  %y = linalg.generic {{indexing_maps = ["
        f"affine_map<{dims} -> (d0, d1, d3, d4)>, affine_map<{dims} -> (d3, d4, d2)>, "
        f"affine_map<{dims} -> (d0, d1, d2)>], "
        'iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}',
        f"      ins(%x, %w : {ty(x.shape)}, {ty(w.shape)}) outs(%z : {ty(os_)}) {{",
        # The exporter's operand order: accumulator first in the add, rhs first
        # in the mul.
        "  ^bb0(%a: f32, %bb: f32, %o: f32):",
        "    %m = arith.mulf %bb, %a : f32",
        "    %sum = arith.addf %m, %o : f32",
        "    linalg.yield %sum : f32",
        f"  }} -> {ty(os_)}",
        f"  return %y : {ty(os_)}",
    ]
    ref = np.einsum("bshd,hdk->bsk", x.astype(np.float64), w.astype(np.float64))
    return [("x", x), ("w", w)], lines, ty(os_), ref.astype(np.float32)


def case_ungrouped(big, rng):
    """Operands whose dimensions need transposing, two batch dimensions."""
    x = rng.standard_normal((3, 2, 6, 4)).astype(np.float32)  # b1 b0 k m
    w = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)  # b0 b1 k n
    os_ = (5, 2, 3, 4)  # n b0 b1 m
    dims = "(d0, d1, d2, d3, d4)"
    lines = [
        "  %zero = arith.constant 0.0 : f32",
        f"  %e = tensor.empty() : {ty(os_)}",
        f"  %z = linalg.fill ins(%zero : f32) outs(%e : {ty(os_)}) -> {ty(os_)}",
        f"  %y = linalg.generic {{indexing_maps = ["
        f"affine_map<{dims} -> (d1, d0, d4, d2)>, affine_map<{dims} -> (d0, d1, d4, d3)>, "
        f"affine_map<{dims} -> (d3, d0, d1, d2)>], "
        'iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}',
        f"      ins(%x, %w : {ty(x.shape)}, {ty(w.shape)}) outs(%z : {ty(os_)}) {{",
        MULADD_F32,
        f"  }} -> {ty(os_)}",
        f"  return %y : {ty(os_)}",
    ]
    ref = np.einsum("bakm,abkn->nabm", x.astype(np.float64), w.astype(np.float64))
    return [("x", x), ("w", w)], lines, ty(os_), ref.astype(np.float32)


def case_matvec(big, rng):
    """A batched vector-matrix product (no m loop): bij,bijnp->bnp."""
    v = rng.standard_normal((2, 3, 8)).astype(np.float32)
    w = rng.standard_normal((2, 3, 8, 5, 6)).astype(np.float32)
    os_ = (2, 5, 6)
    dims = "(d0, d1, d2, d3, d4)"
    lines = [
        "  %zero = arith.constant 0.0 : f32",
        f"  %e = tensor.empty() : {ty(os_)}",
        f"  %z = linalg.fill ins(%zero : f32) outs(%e : {ty(os_)}) -> {ty(os_)}",
        f"  %y = linalg.generic {{indexing_maps = ["
        f"affine_map<{dims} -> (d0, d3, d4)>, affine_map<{dims} -> (d0, d3, d4, d1, d2)>, "
        f"affine_map<{dims} -> (d0, d1, d2)>], "
        'iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}',
        f"      ins(%v, %w : {ty(v.shape)}, {ty(w.shape)}) outs(%z : {ty(os_)}) {{",
        MULADD_F32,
        f"  }} -> {ty(os_)}",
        f"  return %y : {ty(os_)}",
    ]
    ref = np.einsum("bij,bijnp->bnp", v.astype(np.float64), w.astype(np.float64))
    return [("v", v), ("w", w)], lines, ty(os_), ref.astype(np.float32)


def case_i8(big, rng):
    m, n, k = (256, 256, 512) if big else (7, 5, 300)
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (n, k), dtype=np.int8)
    os_ = (m, n)
    dims = "(d0, d1, d2)"
    lines = [
        "  %zero = arith.constant 0 : i32",
        f"  %e = tensor.empty() : {ty(os_, 'i32')}",
        f"  %z = linalg.fill ins(%zero : i32) outs(%e : {ty(os_, 'i32')}) -> {ty(os_, 'i32')}",
        f"  %y = linalg.generic {{indexing_maps = ["
        f"affine_map<{dims} -> (d0, d2)>, affine_map<{dims} -> (d1, d2)>, "
        f"affine_map<{dims} -> (d0, d1)>], "
        'iterator_types = ["parallel", "parallel", "reduction"]}',
        f"      ins(%a, %b : {ty(a.shape, 'i8')}, {ty(b.shape, 'i8')}) outs(%z : {ty(os_, 'i32')}) {{",
        "  ^bb0(%x: i8, %w: i8, %o: i32):",
        "    %xe = arith.extsi %x : i8 to i32",
        "    %we = arith.extsi %w : i8 to i32",
        "    %m = arith.muli %xe, %we : i32",
        "    %s = arith.addi %o, %m : i32",
        "    linalg.yield %s : i32",
        f"  }} -> {ty(os_, 'i32')}",
        f"  return %y : {ty(os_, 'i32')}",
    ]
    ref = a.astype(np.int32) @ b.astype(np.int32).T
    return [("a", a), ("b", b)], lines, ty(os_, "i32"), ref


def case_eltwise(big, rng):
    shape = (3, 17)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.standard_normal(shape).astype(np.float32)
    t = ty(shape)
    lines = [
        f"  %zeros = arith.constant dense<0.0> : {t}",
        f"  %r = arith.maximumf %x, %zeros : {t}",
        f"  %s = arith.addf %r, %y : {t}",
        f"  %p = arith.mulf %s, %x : {t}",
        f"  %e = math.exp %y : {t}",
        f"  %o = arith.addf %p, %e : {t}",
        f"  return %o : {t}",
    ]
    ref = (np.maximum(x, 0) + y) * x + np.exp(y.astype(np.float64))
    return [("x", x), ("y", y)], lines, t, ref.astype(np.float32)


CASES = {"cnn": case_cnn, "nchw": case_nchw, "proj5d": case_proj5d,
         "i8": case_i8, "eltwise": case_eltwise,
         "ungrouped": case_ungrouped, "depthwise": case_depthwise,
         "grouped": case_grouped, "matvec": case_matvec}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--scale", choices=["test", "big"], default="test")
    opts = parser.parse_args()
    rng = np.random.default_rng(0)
    args, lines, result, ref = CASES[opts.case](opts.scale == "big", rng)
    os.makedirs(opts.out, exist_ok=True)
    elem = {np.float32: "f32", np.int8: "i8"}
    params = ", ".join(f"%{name}: {ty(value.shape, elem[value.dtype.type])}"
                       for name, value in args)
    with open(os.path.join(opts.out, "model.mlir"), "w") as f:
        f.write(f"func.func @main({params}) -> {result} {{\n")
        f.write("\n".join(lines) + "\n}\n")
    for i, (_, value) in enumerate(args):
        np.save(os.path.join(opts.out, f"in{i}.npy"), value)
    np.save(os.path.join(opts.out, "ref.npy"), ref)


if __name__ == "__main__":
    main()
