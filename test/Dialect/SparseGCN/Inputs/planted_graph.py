"""Prints a 512-node graph with four planted communities of 128 consecutive nodes (half of
the pairs inside a community are edges, plus a few random edges between communities), as a
function @planted applying sparsegcn.aggregate to features of width --width (an integer, or
'?' for a dynamic width). With --npy DIR it also writes DIR/x.npy (features) and DIR/ref.npy
(A·X by scipy in float64) for lathe-run."""
import argparse
import os

import numpy as np
import scipy.sparse as sp

p = argparse.ArgumentParser()
p.add_argument("--width", default="64")
p.add_argument("--npy")
args = p.parse_args()

n, size = 512, 128
rng = np.random.default_rng(5)
dense = np.zeros((n, n), bool)
for start in range(0, n, size):
    dense[start:start + size, start:start + size] = rng.random((size, size)) < 0.5
dense |= rng.random((n, n)) < 2.0 / n
a = sp.csr_matrix(np.where(dense, rng.standard_normal((n, n)), 0.0).astype(np.float32))
a.sort_indices()

w = args.width
ftype = f"{n}x{w}xf32"
empty = "tensor.empty() : tensor<512x?xf32>" if w == "?" else f"tensor.empty() : tensor<{ftype}>"
if w == "?":
    empty = "tensor.empty(%w) : tensor<512x?xf32>"
hexed = lambda arr: '"0x' + np.ascontiguousarray(arr).tobytes().hex().upper() + '"'  # noqa: E731
nnz = a.nnz
dims = ("  %c1 = arith.constant 1 : index\n  %w = tensor.dim %x, %c1 : tensor<512x?xf32>\n"
        if w == "?" else "")
print(f"""func.func @planted(%x: tensor<{ftype}>) -> tensor<{ftype}> {{
{dims}  %rp = arith.constant dense<{hexed(a.indptr.astype(np.int32))}> : tensor<{n + 1}xi32>
  %ci = arith.constant dense<{hexed(a.indices.astype(np.int32))}> : tensor<{nnz}xi32>
  %v = arith.constant dense<{hexed(a.data)}> : tensor<{nnz}xf32>
  %e = {empty}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<{n + 1}xi32>, tensor<{nnz}xi32>, tensor<{nnz}xf32>) [{n}, {n}]
         ins(%x : tensor<{ftype}>) outs(%e : tensor<{ftype}>) -> tensor<{ftype}>
  return %y : tensor<{ftype}>
}}""")
if args.npy:
    os.makedirs(args.npy, exist_ok=True)
    x = rng.standard_normal((n, int(w))).astype(np.float32)
    np.save(os.path.join(args.npy, "x.npy"), x)
    np.save(os.path.join(args.npy, "ref.npy"), a.astype(np.float64) @ x.astype(np.float64))
