#!/usr/bin/python3
"""Argmax accuracy of logits against labels, checked against an expected accuracy.

usage: /usr/bin/python3 scripts/accuracy.py LOGITS.npy LABELS.npy [--expect ref_accuracy.txt]

Prints the accuracy (correct/total). With --expect, exits 1 unless the number of correct
predictions equals the one implied by the decimal in FILE (round(expected * total)); exits 2 on
missing files or mismatched shapes.
"""
import argparse
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description="argmax accuracy of LOGITS vs LABELS")
    ap.add_argument("logits")
    ap.add_argument("labels")
    ap.add_argument("--expect", metavar="FILE", help="file holding the expected accuracy (e.g. 0.975000)")
    args = ap.parse_args()
    try:
        logits = np.load(args.logits, allow_pickle=False)
        labels = np.load(args.labels, allow_pickle=False)
    except (OSError, ValueError) as e:
        print(f"accuracy: FAIL: {e}")
        return 2
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        print(f"accuracy: FAIL: logits {logits.shape} and labels {labels.shape} do not match "
              "(want [N, C] and [N])")
        return 2
    n = labels.shape[0]
    correct = int((logits.argmax(axis=1) == labels).sum())
    print(f"accuracy: {correct / n:.6f} ({correct}/{n})")
    if args.expect is None:
        return 0
    try:
        with open(args.expect) as f:
            expected = float(f.read().split()[0])
    except (OSError, ValueError, IndexError) as e:
        print(f"accuracy: FAIL: cannot read expected accuracy from {args.expect}: {e}")
        return 2
    want = int(round(expected * n))
    if correct != want:
        print(f"accuracy: FAIL: expected {expected:.6f} ({want}/{n}), got {correct}/{n}")
        return 1
    print(f"accuracy: OK: matches expected {expected:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
