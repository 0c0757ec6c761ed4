#!/usr/bin/python3
"""numpy reference for an MLP after lowrank-select-ranks, from the original weights.

usage: /usr/bin/python3 scripts/lowrank/reference.py WEIGHTS.h5 REPORT.json X.npy OUT.npy
           [--layers fc1,fc2,fc3]

Reads the ranks the pass chose from `lathe-run --report` (its `decisions`: each `#lowrank.decision`
the pass recorded as `lathe.decision`, through `toDictionary()`, one per
layer in IR order), truncates each factorized layer's weight to that rank with numpy's own
SVD in float64, and runs the ReLU MLP. Independent of the pass's LAPACK code: it checks the
SVD, the factor layout and the bias fusion the pass produced.
"""
import argparse
import json

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("weights")
    ap.add_argument("report")
    ap.add_argument("x")
    ap.add_argument("out")
    ap.add_argument("--layers", default="fc1,fc2,fc3")
    args = ap.parse_args()
    layers = args.layers.split(",")
    decisions = [d["decision"] for d in json.load(open(args.report))["decisions"]
                 if d["decision"].get("pass") == "lowrank-select-ranks"]
    assert len(decisions) == len(layers), f"expected {len(layers)} decisions, got {decisions}"
    h = np.load(args.x).astype(np.float64)
    with h5py.File(args.weights) as f:
        for i, (name, d) in enumerate(zip(layers, decisions)):
            w = np.array(f[f"/{name}/weight"], dtype=np.float64)
            b = np.array(f[f"/{name}/bias"], dtype=np.float64)
            if d["action"] == "factorize":
                u, s, vt = np.linalg.svd(w, full_matrices=False)
                r = d["rank"]
                w = (u[:, :r] * s[:r]) @ vt[:r]
                kept = float(np.sum(s[:r] ** 2) / np.sum(s ** 2))
                assert abs(kept - d["energy"]) < 1e-4, (name, kept, d["energy"])
            h = h @ w.T + b
            if i + 1 < len(layers):
                h = np.maximum(h, 0.0)
    np.save(args.out, h.astype(np.float32))
    print("reference: ranks", [(n, d["action"], d["rank"]) for n, d in zip(layers, decisions)])


if __name__ == "__main__":
    main()
