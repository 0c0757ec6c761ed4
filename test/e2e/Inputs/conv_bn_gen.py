"""conv_bn_gen.py DIR: DIR/{nchw,nhwc}.mlir, a 3x3 convolution (constant
filter, no bias) followed by inference batch normalisation and ReLU written as
torch-mlir and JAX write them (one element-wise generic over per-channel
constants), then a second convolution; DIR/x_{layout}.npy and the numpy
float64 reference DIR/ref_{layout}.npy."""
import os
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(3)
N, C, H, W, F = 2, 8, 10, 10, 16
w1 = rng.standard_normal((F, C, 3, 3)).astype(np.float32) * 0.3
w2 = rng.standard_normal((F, F, 1, 1)).astype(np.float32) * 0.3
mean = rng.uniform(-0.5, 0.5, F).astype(np.float32)
var = rng.uniform(0.2, 2.0, F).astype(np.float32)
gamma = rng.uniform(0.5, 1.5, F).astype(np.float32)
beta = rng.uniform(-0.3, 0.3, F).astype(np.float32)
eps = np.float32(1e-5)
x = rng.standard_normal((N, C, H, W)).astype(np.float32)


def conv_nchw(x, w):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    y = np.zeros((n, f, oh, ow))
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("nchw,fc->nfhw", x[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
    return y


c1 = conv_nchw(x.astype(np.float64), w1.astype(np.float64))
bn = (c1 - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + eps)
bn = bn * gamma[None, :, None, None] + beta[None, :, None, None]
ref = conv_nchw(np.maximum(bn, 0), w2.astype(np.float64))


def dense(a):
    return 'dense<"0x' + np.ascontiguousarray(a).tobytes().hex().upper() + '">'


def model(layout):
    nhwc = layout == "nhwc"
    oh = H - 2
    if nhwc:
        xs, ys, zs = f"{N}x{H}x{W}x{C}", f"{N}x{oh}x{oh}x{F}", f"{N}x{oh}x{oh}x{F}"
        f1, f2 = w1.transpose(2, 3, 1, 0), w2.transpose(2, 3, 1, 0)
        conv, ch = "linalg.conv_2d_nhwc_hwcf", "d3"
    else:
        xs, ys, zs = f"{N}x{C}x{H}x{W}", f"{N}x{F}x{oh}x{oh}", f"{N}x{F}x{oh}x{oh}"
        f1, f2 = w1, w2
        conv, ch = "linalg.conv_2d_nchw_fchw", "d1"
    f1s = "x".join(map(str, f1.shape))
    f2s = "x".join(map(str, f2.shape))
    return f"""#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#c = affine_map<(d0, d1, d2, d3) -> ({ch})>
func.func @main(%x: tensor<{xs}xf32>) -> tensor<{zs}xf32> {{
  %w1 = arith.constant {dense(f1)} : tensor<{f1s}xf32>
  %w2 = arith.constant {dense(f2)} : tensor<{f2s}xf32>
  %mean = arith.constant {dense(mean)} : tensor<{F}xf32>
  %var = arith.constant {dense(var)} : tensor<{F}xf32>
  %gamma = arith.constant {dense(gamma)} : tensor<{F}xf32>
  %beta = arith.constant {dense(beta)} : tensor<{F}xf32>
  %eps = arith.constant {float(eps):e} : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{ys}xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<{ys}xf32>) -> tensor<{ys}xf32>
  %c = {conv} {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}}
         ins(%x, %w1 : tensor<{xs}xf32>, tensor<{f1s}xf32>) outs(%f : tensor<{ys}xf32>) -> tensor<{ys}xf32>
  %y = linalg.generic {{indexing_maps = [#id, #c, #c, #c, #c, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%c, %mean, %var, %gamma, %beta : tensor<{ys}xf32>, tensor<{F}xf32>, tensor<{F}xf32>, tensor<{F}xf32>, tensor<{F}xf32>) outs(%e : tensor<{ys}xf32>) {{
  ^bb0(%in: f32, %m: f32, %v: f32, %g: f32, %b: f32, %o: f32):
    %0 = arith.subf %in, %m : f32
    %1 = arith.addf %v, %eps : f32
    %2 = math.sqrt %1 : f32
    %3 = arith.divf %0, %2 : f32
    %4 = arith.mulf %3, %g : f32
    %5 = arith.addf %4, %b : f32
    %6 = arith.cmpf ugt, %5, %zero : f32
    %7 = arith.select %6, %5, %zero : f32
    linalg.yield %7 : f32
  }} -> tensor<{ys}xf32>
  %z = {conv} {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}}
         ins(%y, %w2 : tensor<{ys}xf32>, tensor<{f2s}xf32>) outs(%f : tensor<{zs}xf32>) -> tensor<{zs}xf32>
  return %z : tensor<{zs}xf32>
}}
"""


for layout in ("nchw", "nhwc"):
    with open(os.path.join(out, f"{layout}.mlir"), "w") as fh:
        fh.write(model(layout))
    xl = x.transpose(0, 2, 3, 1) if layout == "nhwc" else x
    rl = ref.transpose(0, 2, 3, 1) if layout == "nhwc" else ref
    np.save(os.path.join(out, f"x_{layout}.npy"), np.ascontiguousarray(xl))
    np.save(os.path.join(out, f"ref_{layout}.npy"), np.ascontiguousarray(rl).astype(np.float32))
