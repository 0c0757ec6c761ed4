"""torch_linear_gen.py DIR: DIR/model.mlir, two linear layers on a 3-D input
in the form torch-mlir writes them (weight [out, in] transposed by a copy
generic, broadcast over the batch by another, linalg.batch_matmul, bias added
by a generic, ReLU between), with DIR/x.npy and the numpy reference
DIR/ref.npy."""
import os
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(11)
B, S, D, H = 4, 16, 32, 48
x = rng.standard_normal((B, S, D)).astype(np.float32)
w1 = rng.standard_normal((H, D)).astype(np.float32) * 0.2
b1 = rng.standard_normal(H).astype(np.float32) * 0.1
w2 = rng.standard_normal((D, H)).astype(np.float32) * 0.2
b2 = rng.standard_normal(D).astype(np.float32) * 0.1
h = np.maximum(x.astype(np.float64) @ w1.T.astype(np.float64) + b1, 0)
ref = h @ w2.T.astype(np.float64) + b2
np.save(os.path.join(out, "x.npy"), x)
np.save(os.path.join(out, "ref.npy"), ref.astype(np.float32))


def dense(a):
    return 'dense<"0x' + np.ascontiguousarray(a).tobytes().hex().upper() + '">'


def linear(name, inp, n_in, n_out, w, b, relu):
    t = f"tensor<{B}x{S}x{n_out}xf32>"
    body = ("    %s = arith.addf %a, %c : f32\n" +
            ("    %z = arith.constant 0.0 : f32\n    %gt = arith.cmpf ugt, %s, %z : f32\n"
             "    %r = arith.select %gt, %s, %z : f32\n    linalg.yield %r : f32\n" if relu
             else "    linalg.yield %s : f32\n"))
    return f"""  %{name}_w = arith.constant {dense(w)} : tensor<{n_out}x{n_in}xf32>
  %{name}_b = arith.constant {dense(b)} : tensor<{n_out}xf32>
  %{name}_e0 = tensor.empty() : tensor<{n_in}x{n_out}xf32>
  %{name}_wt = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}} ins(%{name}_w : tensor<{n_out}x{n_in}xf32>) outs(%{name}_e0 : tensor<{n_in}x{n_out}xf32>) {{
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }} -> tensor<{n_in}x{n_out}xf32>
  %{name}_e1 = tensor.empty() : tensor<{B}x{n_in}x{n_out}xf32>
  %{name}_wb = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}} ins(%{name}_wt : tensor<{n_in}x{n_out}xf32>) outs(%{name}_e1 : tensor<{B}x{n_in}x{n_out}xf32>) {{
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }} -> tensor<{B}x{n_in}x{n_out}xf32>
  %{name}_e2 = tensor.empty() : {t}
  %{name}_f = linalg.fill ins(%zero : f32) outs(%{name}_e2 : {t}) -> {t}
  %{name}_mm = linalg.batch_matmul ins(%{inp}, %{name}_wb : tensor<{B}x{S}x{n_in}xf32>, tensor<{B}x{n_in}x{n_out}xf32>) outs(%{name}_f : {t}) -> {t}
  %{name} = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}} ins(%{name}_mm, %{name}_b : {t}, tensor<{n_out}xf32>) outs(%{name}_e2 : {t}) {{
  ^bb0(%a: f32, %c: f32, %o: f32):
{body}  }} -> {t}
"""


with open(os.path.join(out, "model.mlir"), "w") as f:
    f.write(f"func.func @main(%x: tensor<{B}x{S}x{D}xf32>) -> tensor<{B}x{S}x{D}xf32> {{\n"
            "  %zero = arith.constant 0.0 : f32\n" +
            linear("l1", "x", D, H, w1, b1, True) + linear("l2", "l1", H, D, w2, b2, False) +
            f"  return %l2 : tensor<{B}x{S}x{D}xf32>\n}}\n")
