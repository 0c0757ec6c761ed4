"""cache_model.py DIR: DIR/model.mlir (a 2-layer MLP whose weights are
constants large enough to be kept as data beside the code: a dense<hex>
constant, a splat and a dense_resource blob) + DIR/x.npy + DIR/ref.npy (its
output by numpy)."""
import os
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(7)
x = rng.standard_normal((4, 64)).astype(np.float32)
w1 = rng.standard_normal((64, 32)).astype(np.float32)
w2 = rng.standard_normal((32, 64)).astype(np.float32)
bias = np.full((4, 64), 0.25, dtype=np.float32)
np.save(os.path.join(out, "x.npy"), x)
np.save(os.path.join(out, "ref.npy"), np.maximum(x @ w1, 0) @ w2 + bias)


def hexdata(a):
    return '"0x' + a.tobytes().hex().upper() + '"'


# dense_resource blobs start with their alignment as a little-endian u32.
blob = (4).to_bytes(4, "little") + w2.tobytes()
with open(os.path.join(out, "model.mlir"), "w") as f:
    f.write(f"""func.func @main(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {{
  %w1 = arith.constant dense<{hexdata(w1)}> : tensor<64x32xf32>
  %w2 = arith.constant dense_resource<w2> : tensor<32x64xf32>
  %b = arith.constant dense<0.25> : tensor<4x64xf32>
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<4x32xf32>
  %f1 = linalg.fill ins(%z : f32) outs(%e1 : tensor<4x32xf32>) -> tensor<4x32xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<4x64xf32>, tensor<64x32xf32>) outs(%f1 : tensor<4x32xf32>) -> tensor<4x32xf32>
  %r = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}} ins(%h : tensor<4x32xf32>) outs(%e1 : tensor<4x32xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %z : f32
    linalg.yield %m : f32
  }} -> tensor<4x32xf32>
  %y = linalg.matmul ins(%r, %w2 : tensor<4x32xf32>, tensor<32x64xf32>) outs(%b : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}}

{{-#
  dialect_resources: {{
    builtin: {{
      w2: "0x{blob.hex().upper()}"
    }}
  }}
#-}}
""")
