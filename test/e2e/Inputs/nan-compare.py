#!/usr/bin/python3
"""Compare an output .npy with a reference that may hold NaN and infinities.

usage: nan-compare.py OUT REF

Passes iff the shapes match, NaN is exactly where the reference has NaN, each
infinity of the reference is there with the same sign (and no others), and the
finite values agree within 1e-4 * (|ref| + 0.1 * max|finite ref|) (the rule
of scripts/compare_npy.py).
"""
import sys

import numpy as np


def main():
    out, ref = np.load(sys.argv[1]), np.load(sys.argv[2])
    if out.shape != ref.shape:
        print(f"nan-compare: FAIL: shape {out.shape} vs reference {ref.shape}")
        return 1
    out64, ref64 = out.astype(np.float64), ref.astype(np.float64)
    bad = []
    nan_diff = np.isnan(out64) != np.isnan(ref64)
    if nan_diff.any():
        bad.append(f"{int(nan_diff.sum())} NaN positions differ "
                   f"(first {tuple(int(i) for i in np.argwhere(nan_diff)[0])})")
    inf_diff = (np.isinf(out64) | np.isinf(ref64)) & (out64 != ref64) & ~nan_diff
    if inf_diff.any():
        i = tuple(int(j) for j in np.argwhere(inf_diff)[0])
        bad.append(f"{int(inf_diff.sum())} infinities differ (first {i}: out {out64[i]}, "
                   f"ref {ref64[i]})")
    finite = np.isfinite(out64) & np.isfinite(ref64)
    if finite.any():
        scale = np.abs(ref64[finite]).max()
        err = np.abs(out64[finite] - ref64[finite])
        bound = 1e-4 * (np.abs(ref64[finite]) + 0.1 * scale)
        if (err > bound).any():
            bad.append(f"{int((err > bound).sum())} finite values out of tolerance "
                       f"(max abs err {err.max():.3e})")
    counts = (f"{int(np.isnan(ref64).sum())} NaN, {int(np.isposinf(ref64).sum())} +Inf, "
              f"{int(np.isneginf(ref64).sum())} -Inf of {ref.size}")
    if bad:
        print("nan-compare: FAIL: " + "; ".join(bad) + f" (reference: {counts})")
        return 1
    print(f"nan-compare: OK: shape {out.shape}, reference {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
