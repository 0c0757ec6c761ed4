"""usage: masked_attention_check.py Y.npy REF.npy -- NaN exactly where the
reference has NaN, elsewhere |y - ref| <= 1e-5 (f32 products of length <= 24
of unit-scale values)."""
import sys

import numpy as np

y, ref = np.load(sys.argv[1]), np.load(sys.argv[2])
assert y.shape == ref.shape, (y.shape, ref.shape)
nan = np.isnan(ref)
assert (np.isnan(y) == nan).all(), f"NaN at {np.argwhere(np.isnan(y) != nan)[:5]}"
err = np.abs(y[~nan] - ref[~nan]).max()
assert err <= 1e-5, err
print(f"ok: {nan.sum()} NaN as the reference, max err {err:.2e}")
