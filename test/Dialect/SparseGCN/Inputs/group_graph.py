"""Prints a 240-node graph whose rows come in runs like a finite-element matrix's (several
unknowns per mesh node): runs of 2, 3 or 4 consecutive rows that share one set of 30 random
columns (--fill 1.0: every row stores all of them; with --fill below 1 each row keeps each column
with that probability), separated by single rows of 30 random columns of their own and an empty
row every 10th run; as a function @groups applying sparsegcn.aggregate to features of width
--width. With --npy DIR it also writes DIR/x.npy and DIR/ref.npy (A·X by scipy in float64; with
--nan, x holds a NaN and an Inf in rows that a group's padded entries would multiply).
With --fill 1.0 the planted runs are 60 groups of 180 rows (the generator asserts this); a run
never merges with the next (their column sets overlap in few columns)."""
import argparse
import os

import numpy as np
import scipy.sparse as sp

p = argparse.ArgumentParser()
p.add_argument("--width", default="64")
p.add_argument("--fill", type=float, default=1.0)
p.add_argument("--npy")
p.add_argument("--nan", action="store_true")
args = p.parse_args()

n, k = 240, 30
rng = np.random.default_rng(11)
rows, cols = [], []
r, runs, grouped, run = 0, 0, 0, 0
while r < n:
    size = [2, 3, 4][run % 3]
    if r + size + 1 > n:
        break
    shared = rng.choice(n, k, replace=False)
    for i in range(size):
        keep = shared if args.fill >= 1.0 else shared[rng.random(k) < args.fill]
        rows += [r + i] * len(keep)
        cols += list(keep)
    runs, grouped, r = runs + 1, grouped + size, r + size
    if run % 10 != 9:
        own = rng.choice(n, k, replace=False)
        rows += [r] * k
        cols += list(own)
    r += 1
    run += 1
if args.fill >= 1.0:
    assert (runs, grouped) == (60, 180), (runs, grouped)
a = sp.csr_matrix((rng.standard_normal(len(rows)).astype(np.float32), (rows, cols)),
                  shape=(n, n))
a.sum_duplicates()
a.sort_indices()

w = args.width
ftype = f"{n}x{w}xf32"
hexed = lambda arr: '"0x' + np.ascontiguousarray(arr).tobytes().hex().upper() + '"'  # noqa: E731
nnz = a.nnz
print(f"""func.func @groups(%x: tensor<{ftype}>) -> tensor<{ftype}> {{
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
    if args.nan:
        # A column some row of the first run lacks (a padded zero in its group's block).
        first = a[0:2].toarray() != 0
        lacking = np.nonzero(first.any(0) & ~first.all(0))[0]
        assert lacking.size, "the first run has no padded column"
        x[lacking[0], 0] = np.nan
        x[lacking[0], 1] = np.inf
    np.save(os.path.join(args.npy, "x.npy"), x)
    ref = a.astype(np.float64) @ x.astype(np.float64)
    # The aggregation sums stored entries only: rows that store no entry of the NaN/Inf row
    # stay finite (scipy's sparse product agrees).
    np.save(os.path.join(args.npy, "ref.npy"), ref)
