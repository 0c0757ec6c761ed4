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
import sys

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aggregate import print_module, save_inputs  # noqa: E402

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

print_module("groups", a, args.width)
if args.npy:
    x = rng.standard_normal((n, int(args.width))).astype(np.float32)
    if args.nan:
        # A column some row of the first run lacks (a padded zero in its group's block).
        first = a[0:2].toarray() != 0
        lacking = np.nonzero(first.any(0) & ~first.all(0))[0]
        assert lacking.size, "the first run has no padded column"
        x[lacking[0], 0] = np.nan
        x[lacking[0], 1] = np.inf
    save_inputs(args.npy, a, x)
