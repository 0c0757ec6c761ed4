"""Two chained convolutions (stride 2 after a tensor.pad that leaves an
unreached column; then stride (1, 2), dilation (2, 1)) and a weighted-sum
loss: writes conv.mlir and its inputs (`gen DIR`), or checks lathe-run's
gradients of both inputs and filters against torch.autograd (`check DIR`)."""
import sys

import numpy as np
import torch
import torch.nn.functional as F

mode, d = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)
x = rng.standard_normal((3, 4, 11, 10)).astype(np.float32)
w1 = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
w2 = rng.standard_normal((6, 5, 2, 3)).astype(np.float32)
S1, S2, D2 = (2, 2), (1, 2), (2, 1)


def forward(xt, w1t, w2t):
    y1 = F.conv2d(F.pad(xt, (1, 1, 1, 1)), w1t, stride=S1)
    return y1, F.conv2d(y1, w2t, stride=S2, dilation=D2)


with torch.no_grad():
    y1, y2 = forward(torch.from_numpy(x), torch.from_numpy(w1),
                     torch.from_numpy(w2))
r = rng.standard_normal(tuple(y2.shape)).astype(np.float32)


def ty(shape):
    return "tensor<" + "x".join(map(str, shape)) + "xf32>"


def conv(name, inp, ishape, w, wshape, oshape, strides, dilations):
    return f"""  %e_{name} = tensor.empty() : {ty(oshape)}
  %z_{name} = linalg.fill ins(%zero : f32) outs(%e_{name} : {ty(oshape)}) -> {ty(oshape)}
  %{name} = linalg.conv_2d_nchw_fchw {{dilations = dense<{list(dilations)}> : tensor<2xi64>, strides = dense<{list(strides)}> : tensor<2xi64>}}
      ins(%{inp}, %{w} : {ty(ishape)}, {ty(wshape)}) outs(%z_{name} : {ty(oshape)}) -> {ty(oshape)}
"""


if mode == "gen":
    p = (3, 4, 13, 12)
    mlir = f"""#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
#none = affine_map<(n, c, h, w) -> ()>
func.func @loss(%x: {ty(x.shape)} {{lathe.param}}, %w1: {ty(w1.shape)} {{lathe.param}},
                %w2: {ty(w2.shape)} {{lathe.param}}, %r: {ty(r.shape)}) -> tensor<f32> {{
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {{
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  }} : {ty(x.shape)} to {ty(p)}
{conv("y1", "p", p, "w1", w1.shape, y1.shape, S1, (1, 1))}{conv("y2", "y1", y1.shape, "w2", w2.shape, y2.shape, S2, D2)}  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {{indexing_maps = [#id, #id, #none], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}}
      ins(%y2, %r : {ty(y2.shape)}, {ty(r.shape)}) outs(%z : tensor<f32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }} -> tensor<f32>
  return %l : tensor<f32>
}}
"""
    open(f"{d}/conv.mlir", "w").write(mlir)
    for name, v in (("x", x), ("w1", w1), ("w2", w2), ("r", r)):
        np.save(f"{d}/{name}.npy", v)
    sys.exit(0)

ts = [torch.from_numpy(v.astype(np.float64)).requires_grad_()
      for v in (x, w1, w2)]
_, out = forward(*ts)
loss = (out * torch.from_numpy(r.astype(np.float64))).sum()
loss.backward()
got_loss = np.load(f"{d}/loss.npy")
assert abs(float(got_loss) - loss.item()) <= 1e-4 * max(1.0, abs(loss.item())), (
    float(got_loss), loss.item())
for name, t in zip(("x", "w1", "w2"), ts):
    got = np.load(f"{d}/d{name}.npy").astype(np.float64)
    ref = t.grad.numpy()
    assert got.shape == ref.shape, (name, got.shape, ref.shape)
    err = np.abs(got - ref).max() / np.abs(ref).max()
    assert err <= 1e-4, (name, err)
    print(f"d{name}: max error {err:.1e} of the largest element")
