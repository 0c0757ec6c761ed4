#!/usr/bin/python3
"""Compare an output .npy against a reference .npy.

usage: /usr/bin/python3 scripts/compare_npy.py OUT REF [--atol-rule default]

Passes (exit 0) iff the shapes match and, elementwise,
    |out - ref| <= 1e-4 * (|ref| + 0.1 * max|ref|)
i.e. a relative tolerance of 1e-4 with an absolute floor of 1e-5 * max|ref|.
Prints the max abs error, the bound at that element and the worst index (the element that uses
the largest fraction of its bound). Exit 1 on a numeric mismatch, 2 on a missing/unreadable file
or a shape mismatch.
"""
import argparse
import sys

import numpy as np

RTOL = 1e-4
FLOOR = 0.1


def load(path, what):
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        print(f"compare_npy: FAIL: {what} file not found: {path}")
    except Exception as e:  # noqa: BLE001 - report any unreadable file the same way
        print(f"compare_npy: FAIL: cannot read {what} file {path}: {e}")
    sys.exit(2)


def main():
    ap = argparse.ArgumentParser(description="compare OUT.npy with REF.npy")
    ap.add_argument("out")
    ap.add_argument("ref")
    ap.add_argument("--atol-rule", choices=["default"], default="default",
                    help="default: |out-ref| <= 1e-4*(|ref| + 0.1*max|ref|)")
    args = ap.parse_args()

    out, ref = load(args.out, "output"), load(args.ref, "reference")
    if out.shape != ref.shape:
        print(f"compare_npy: FAIL: shape mismatch: output {out.shape} vs reference {ref.shape}")
        return 2
    if out.size == 0:
        print("compare_npy: OK (empty arrays)")
        return 0
    out64, ref64 = out.astype(np.float64), ref.astype(np.float64)
    err = np.abs(out64 - ref64)
    bound = RTOL * (np.abs(ref64) + FLOOR * np.abs(ref64).max())
    err = np.where(np.isnan(err), np.inf, err)  # NaN anywhere is a failure
    ratio = np.where(bound > 0, err / np.where(bound > 0, bound, 1), np.where(err > 0, np.inf, 0))
    worst = np.unravel_index(np.argmax(ratio), ratio.shape)
    nbad = int((err > bound).sum())
    nnan = int(np.isnan(out64).sum())
    ok = nbad == 0
    print(f"compare_npy: {'OK' if ok else 'FAIL'}: shape {out.shape}, max abs err {err.max():.3e}, "
          f"max allowed {bound.max():.3e}; worst index {tuple(int(i) for i in worst)}: "
          f"out {out64[worst]:.8g} ref {ref64[worst]:.8g} err {err[worst]:.3e} "
          f"allowed {bound[worst]:.3e}" + ("" if ok else f"; {nbad} of {out.size} elements out of tolerance")
          + (f" ({nnan} NaN in output)" if nnan else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
