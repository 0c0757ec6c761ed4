#!/usr/bin/python3
"""numpy reference for the digits CNN after lowrank-select-ranks (Tucker-2), from the weights.

usage: /usr/bin/python3 scripts/lowrank/reference_cnn.py WEIGHTS.h5 REPORT.json X.npy OUT.npy

Reads the decisions (conv1, conv2, fc in IR order) from `lathe-run --report`; a factorized
convolution's filter is replaced by its Tucker-2 HOSVD truncation at the reported rank,
W ×₀ (U_o U_oᵀ) ×₁ (U_i U_iᵀ), computed with numpy's own SVD in float64 (independent of the
pass's LAPACK code, and of the singular vectors' signs). Valid convolutions, NCHW, ReLU.
"""
import argparse
import json

import h5py
import numpy as np


def conv(x, w, b):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = h - kh + 1, wd - kw + 1
    y = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            y[:, :, i, j] = np.einsum("nchw,ochw->no", x[:, :, i:i + kh, j:j + kw], w)
    return y + b[None, :, None, None]


def tucker2(w, r):
    o, c, kh, kw = w.shape
    uo = np.linalg.svd(w.reshape(o, -1), full_matrices=False)[0][:, :r]
    ui = np.linalg.svd(w.transpose(1, 0, 2, 3).reshape(c, -1), full_matrices=False)[0][:, :r]
    return np.einsum("pa,qb,abyx->pqyx", uo @ uo.T, ui @ ui.T, w)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("weights")
    ap.add_argument("report")
    ap.add_argument("x")
    ap.add_argument("out")
    args = ap.parse_args()
    dec = [d["decision"] for d in json.load(open(args.report))["decisions"]
           if d["decision"].get("pass") == "lowrank-select-ranks"]
    assert len(dec) == 3, dec
    f = h5py.File(args.weights)
    p = {k: np.array(f[k], dtype=np.float64) for k in
         ["conv1/weight", "conv1/bias", "conv2/weight", "conv2/bias", "fc/weight", "fc/bias"]}
    h = np.load(args.x).astype(np.float64).reshape(-1, 1, 8, 8)
    for name, d in zip(["conv1", "conv2"], dec[:2]):
        w = p[f"{name}/weight"]
        if d["action"] == "factorize":
            w = tucker2(w, d["rank"])
        h = np.maximum(conv(h, w, p[f"{name}/bias"]), 0.0)
    w = p["fc/weight"]
    if dec[2]["action"] == "factorize":
        u, s, vt = np.linalg.svd(w, full_matrices=False)
        w = (u[:, :dec[2]["rank"]] * s[:dec[2]["rank"]]) @ vt[:dec[2]["rank"]]
    np.save(args.out, (h.reshape(h.shape[0], -1) @ w.T + p["fc/bias"]).astype(np.float32))
    print("reference: ranks", [(d["action"], d["rank"]) for d in dec])


if __name__ == "__main__":
    main()
