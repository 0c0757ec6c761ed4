"""Prints a 202-node graph like a finite-element matrix: every tile row of 4 nodes holds 3 full
4x4 tiles (--fill 1.0; with --fill 0.5 half of each tile's entries) at distinct tile columns
(one on the diagonal), the last tile row and column (2 nodes) included, plus a few random
edges; as a function @micro applying sparsegcn.aggregate to features of width --width. On
stderr-free stdout; with --npy DIR it also writes DIR/x.npy and DIR/ref.npy (A·X by scipy in
float64). With --fill 1.0 the whole planted tiles (fewer than 4 rows or columns: the border)
number 147: 49 whole tile rows x 3, less the 3 tiles in the border column, plus the border
tile row's 3 tiles, which are not whole (the generator asserts this count)."""
import argparse
import os

import numpy as np
import scipy.sparse as sp

p = argparse.ArgumentParser()
p.add_argument("--width", default="64")
p.add_argument("--fill", type=float, default=1.0)
p.add_argument("--npy")
args = p.parse_args()

n, b = 202, 4
g = (n + b - 1) // b
rng = np.random.default_rng(7)
mask = rng.random((n, n)) < 1.0 / n
whole = 0
for tr in range(g):
    cols = [tr] + list(rng.choice([c for c in range(g) if c != tr], 2, replace=False))
    for tc in cols:
        block = rng.random((b, b)) < args.fill if args.fill < 1.0 else np.ones((b, b), bool)
        r0, c0 = tr * b, tc * b
        rows, cs = min(b, n - r0), min(b, n - c0)
        mask[r0:r0 + rows, c0:c0 + cs] |= block[:rows, :cs]
        whole += rows == b and cs == b
if args.fill == 1.0:
    assert whole == 147, whole
a = sp.csr_matrix(np.where(mask, rng.standard_normal((n, n)), 0.0).astype(np.float32))
a.sort_indices()

w = args.width
ftype = f"{n}x{w}xf32"
hexed = lambda arr: '"0x' + np.ascontiguousarray(arr).tobytes().hex().upper() + '"'  # noqa: E731
nnz = a.nnz
print(f"""func.func @micro(%x: tensor<{ftype}>) -> tensor<{ftype}> {{
  %rp = arith.constant dense<{hexed(a.indptr.astype(np.int32))}> : tensor<{n + 1}xi32>
  %ci = arith.constant dense<{hexed(a.indices.astype(np.int32))}> : tensor<{nnz}xi32>
  %v = arith.constant dense<{hexed(a.data)}> : tensor<{nnz}xf32>
  %e = tensor.empty() : tensor<{ftype}>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<{n + 1}xi32>, tensor<{nnz}xi32>, tensor<{nnz}xf32>) [{n}, {n}]
         ins(%x : tensor<{ftype}>) outs(%e : tensor<{ftype}>) -> tensor<{ftype}>
  return %y : tensor<{ftype}>
}}""")
if args.npy:
    os.makedirs(args.npy, exist_ok=True)
    x = rng.standard_normal((n, int(w))).astype(np.float32)
    np.save(os.path.join(args.npy, "x.npy"), x)
    np.save(os.path.join(args.npy, "ref.npy"), a.astype(np.float64) @ x.astype(np.float64))
