"""Writes the inputs of csr-transpose.mlir into DIR: a 6 x 5 CSR matrix
with an empty row, unsorted columns within rows, NaN, +-inf and -0.0
values (rp.npy, ci.npy, v.npy), and bad_ci.npy with a column out of range.
usage: csr_transpose_inputs.py DIR"""
import os
import sys

import numpy as np

out = sys.argv[1]
rp = np.array([0, 2, 2, 5, 6, 9, 10], np.int64)
ci = np.array([3, 0, 1, 3, 0, 3, 2, 4, 0, 3], np.int64)
v = np.array([1.5, -2, np.nan, np.inf, -0.0, 3, -np.inf, 4, 5, 6], np.float32)
np.save(os.path.join(out, "rp.npy"), rp)
np.save(os.path.join(out, "ci.npy"), ci)
np.save(os.path.join(out, "v.npy"), v)
bad = ci.copy()
bad[7] = 9
np.save(os.path.join(out, "bad_ci.npy"), bad)
