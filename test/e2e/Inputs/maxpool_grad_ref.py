"""Max poolings of parameters and a weighted-sum loss, for the gathered
max-pool gradient of lathe-differentiate (windows that do not overlap) and
for its look-alike with overlapping windows (the generic scatter rule).
`gen DIR` writes pool.mlir (non-overlapping cases), overlap.mlir and the
inputs; `check DIR` compares lathe-run's gradients with torch.autograd.

The parameters hold small integers, so most windows have ties: the gradient
of a window goes to its first maximal element (row-major), as in PyTorch."""
import sys

import numpy as np
import torch
import torch.nn.functional as F

mode, d = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(11)
NINF = "0xFF800000"

# name: (input shape, kernel, stride, dilation, padding, ceil_mode)
CASES = {
    "pool": {
        # Windows that tile the input exactly: 2x2/2 and 3x2/(3, 2).
        "t": ((2, 3, 8, 6), (2, 2), (2, 2), (1, 1), (0, 0), False),
        "u": ((1, 2, 9, 8), (3, 2), (3, 2), (1, 1), (0, 0), False),
        # 2x2 stride 2, an unreached row and column (odd sizes).
        "a": ((2, 3, 9, 7), (2, 2), (2, 2), (1, 1), (0, 0), False),
        # 3x2 windows, stride (3, 2).
        "b": ((1, 2, 10, 8), (3, 2), (3, 2), (1, 1), (0, 0), False),
        # Dilation 2 with gaps between windows (stride 3 > (2-1)*2+1).
        "c": ((2, 2, 9, 9), (2, 2), (3, 3), (2, 2), (0, 0), False),
        # Padding 1 (-inf) and ceil_mode (an extra -inf padded window edge).
        "e": ((1, 3, 8, 8), (2, 2), (2, 2), (1, 1), (1, 1), False),
        "f": ((2, 2, 7, 7), (2, 2), (2, 2), (1, 1), (0, 0), True),
    },
    # Overlapping windows (3x3 stride 2): not the gathered rule.
    "overlap": {
        "g": ((2, 2, 9, 9), (3, 3), (2, 2), (1, 1), (0, 0), False),
    },
}


def out_size(n, k, s, dil, pad, ceil):
    span = n + 2 * pad - dil * (k - 1) - 1
    o = (span + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + pad:
        o -= 1
    return o


def geometry(case):
    shape, k, s, dil, pad, ceil = case
    outs = [out_size(shape[2 + i], k[i], s[i], dil[i], pad[i], ceil)
            for i in range(2)]
    # Padded size: what the windows read, at least the padded input.
    padded = [max(shape[2 + i] + 2 * pad[i],
                  (outs[i] - 1) * s[i] + (k[i] - 1) * dil[i] + 1)
              for i in range(2)]
    high = [padded[i] - shape[2 + i] - pad[i] for i in range(2)]
    return outs, high


def ty(shape):
    return "tensor<" + "x".join(map(str, shape)) + "xf32>"


def params(group):
    vals = {}
    for name, case in CASES[group].items():
        shape = case[0]
        vals[name] = rng.integers(-2, 3, size=shape).astype(np.float32)
        outs, _ = geometry(case)
        vals["r" + name] = rng.standard_normal(
            (shape[0], shape[1], *outs)).astype(np.float32)
    return vals


def module(group):
    args, body, terms = [], [], []
    for name, (shape, k, s, dil, pad, ceil) in CASES[group].items():
        outs, high = geometry((shape, k, s, dil, pad, ceil))
        oshape = (shape[0], shape[1], *outs)
        args.append(f"%x{name}: {ty(shape)} {{lathe.param}}")
        src = f"%x{name}"
        if any(pad) or any(high):
            pshape = (shape[0], shape[1], shape[2] + pad[0] + high[0],
                      shape[3] + pad[1] + high[1])
            body.append(f"""  %p{name} = tensor.pad %x{name} low[0, 0, {pad[0]}, {pad[1]}] high[0, 0, {high[0]}, {high[1]}] {{
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %ninf : f32
  }} : {ty(shape)} to {ty(pshape)}""")
            src, shape = f"%p{name}", pshape
        body.append(f"""  %e{name} = tensor.empty() : {ty(oshape)}
  %i{name} = linalg.fill ins(%ninf : f32) outs(%e{name} : {ty(oshape)}) -> {ty(oshape)}
  %w{name} = tensor.empty() : tensor<{k[0]}x{k[1]}xf32>
  %y{name} = linalg.pooling_nchw_max {{dilations = dense<[{dil[0]}, {dil[1]}]> : tensor<2xi64>, strides = dense<[{s[0]}, {s[1]}]> : tensor<2xi64>}}
      ins({src}, %w{name} : {ty(shape)}, tensor<{k[0]}x{k[1]}xf32>) outs(%i{name} : {ty(oshape)}) -> {ty(oshape)}
  %l{name} = linalg.generic {{indexing_maps = [#id, #id, #none], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}}
      ins(%y{name}, %r{name} : {ty(oshape)}, {ty(oshape)}) outs(%z : tensor<f32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }} -> tensor<f32>""")
        terms.append(f"%l{name}")
    for name, (shape, *rest) in CASES[group].items():
        outs, _ = geometry((shape, *rest))
        args.append(f"%r{name}: {ty((shape[0], shape[1], *outs))}")
    total = terms[0]
    for i, t in enumerate(terms[1:]):
        body.append(f"""  %s{i} = linalg.generic {{indexing_maps = [#scalar, #scalar, #scalar], iterator_types = []}}
      ins({total}, {t} : tensor<f32>, tensor<f32>) outs(%z : tensor<f32>) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  }} -> tensor<f32>""")
        total = f"%s{i}"
    nl = "\n"
    return f"""#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
#none = affine_map<(n, c, h, w) -> ()>
#scalar = affine_map<() -> ()>
func.func @loss({", ".join(args)}) -> tensor<f32> {{
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant {NINF} : f32
  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
{nl.join(body)}
  return {total} : tensor<f32>
}}
"""


if mode == "gen":
    for group in CASES:
        open(f"{d}/{group}.mlir", "w").write(module(group))
        for name, v in params(group).items():
            np.save(f"{d}/{name}.npy", v)
    sys.exit(0)

for group in CASES:
    total = 0.0
    for name, (shape, k, s, dil, pad, ceil) in CASES[group].items():
        x = torch.from_numpy(np.load(f"{d}/{name}.npy").astype(np.float64))
        x.requires_grad_()
        r = torch.from_numpy(np.load(f"{d}/r{name}.npy").astype(np.float64))
        y = F.max_pool2d(x, k, stride=s, padding=pad, dilation=dil,
                         ceil_mode=ceil)
        assert y.shape == r.shape, (name, y.shape, r.shape)
        loss = (y * r).sum()
        loss.backward()
        total += loss.item()
        got = np.load(f"{d}/d{name}.npy").astype(np.float64)
        ref = x.grad.numpy()
        err = np.abs(got - ref).max() / np.abs(ref).max()
        assert err <= 1e-6, (name, err, np.argwhere(np.abs(got - ref) > 1e-6)[:5])
        print(f"d{name}: max error {err:.1e} of the largest element")
    got_loss = float(np.load(f"{d}/loss_{group}.npy"))
    assert abs(got_loss - total) <= 1e-4 * max(1.0, abs(total)), (got_loss, total)
