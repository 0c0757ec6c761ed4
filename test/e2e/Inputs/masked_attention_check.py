"""usage: masked_attention_check.py Y.npy REF.npy [TOL] -- NaN exactly where
the reference has NaN, elsewhere |y - ref| <= TOL (default 1e-5: f32
products of length <= 24 of unit-scale values; bf16 products need ~2e-2)."""
import sys

import numpy as np

y, ref = np.load(sys.argv[1]), np.load(sys.argv[2])
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
assert y.shape == ref.shape, (y.shape, ref.shape)
nan = np.isnan(ref)
assert (np.isnan(y) == nan).all(), f"NaN at {np.argwhere(np.isnan(y) != nan)[:5]}"
err = np.abs(y[~nan] - ref[~nan]).max()
assert err <= tol, (err, tol)
print(f"ok: {nan.sum()} NaN as the reference, max err {err:.2e}")
