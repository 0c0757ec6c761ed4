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
import sys

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aggregate import print_module, save_inputs  # noqa: E402

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

print_module("micro", a, args.width)
if args.npy:
    save_inputs(args.npy, a, rng.standard_normal((n, int(args.width))).astype(np.float32))
