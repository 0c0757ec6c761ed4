#!/usr/bin/python3
"""Global vs the simple schemes at equal predicted latency, over a fine grid of budgets.

usage: /usr/bin/python3 scripts/lowrank/equal_latency_grid.py MODEL_DIR TARGET.json
           [--grid 0.01:0.6:0.01] [--error-norm spectral] [--lathe-opt build/bin/lathe-opt]

bench/lowrank.py measures ten baseline points (latency and accuracy through lathe-run). This
script checks many more, without timing anything: for every max-error e of the grid it runs
`lowrank-select-ranks strategy=uniform` and `strategy=threshold` on MODEL_DIR/model_b64.mlir
(batch=64, the given target table), and for every distinct baseline choice the global
allocation under `max-latency=` that choice's predicted fraction (model_latency). Test accuracy
of both choices comes from a numpy MLP (MODEL_DIR/weights.h5, each factorized weight truncated
to the chosen rank with numpy's SVD, as scripts/lowrank/reference.py), on MODEL_DIR/test_x.npy.
Prints one row per distinct baseline choice and the least accuracy difference global − baseline.
"""
import argparse
import os
import re
import subprocess
import sys

import h5py
import numpy as np


def decisions(text):
    out = []
    for d in re.findall(r"lathe\.decision = #lowrank\.decision<([^>]*)>", text):
        action = re.search(r'action = "(\w+)"', d).group(1)
        out.append({
            "rank": int(re.search(r"rank = (\d+)", d).group(1)) if action == "factorize" else None,
            "model_latency": float(re.search(r"model_latency = ([-0-9.eE+]+)", d).group(1)),
            "model_error": float(re.search(r"model_error = ([-0-9.eE+]+)", d).group(1)),
        })
    return out


def select(args, option, strategy):
    p = subprocess.run([args.lathe_opt, os.path.join(args.model, "model_b64.mlir"),
                        "--mlir-elide-elementsattrs-if-larger=8",
                        *([] if args.target == "cpu" else [f"--lathe-attach-target={args.target}"]),
                        f"--lowrank-select-ranks={option} batch=64 strategy={strategy} "
                        f"error-norm={args.error_norm}"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"lathe-opt failed: {option} {strategy}\n{p.stderr[-2000:]}")
    d = decisions(p.stdout)
    return tuple(x["rank"] for x in d), d[0]["model_latency"], d[0]["model_error"]


class Mlp:
    def __init__(self, model):
        with h5py.File(os.path.join(model, "weights.h5")) as f:
            self.layers = [(np.array(f[f"/{n}/weight"], dtype=np.float64),
                            np.array(f[f"/{n}/bias"], dtype=np.float64))
                           for n in ("fc1", "fc2", "fc3")]
        self.svd = [np.linalg.svd(w, full_matrices=False) for w, _ in self.layers]
        self.x = np.load(os.path.join(model, "test_x.npy")).astype(np.float64)
        self.y = np.load(os.path.join(model, "test_y.npy"))

    def accuracy(self, ranks):
        h = self.x
        for i, ((w, b), (u, s, vt), r) in enumerate(zip(self.layers, self.svd, ranks)):
            if r is not None:
                w = (u[:, :r] * s[:r]) @ vt[:r]
            h = h @ w.T + b
            if i + 1 < len(self.layers):
                h = np.maximum(h, 0.0)
        return float((h.argmax(1) == self.y).mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("model")
    ap.add_argument("target")
    ap.add_argument("--grid", default="0.01:0.6:0.01")
    ap.add_argument("--error-norm", default="spectral")
    ap.add_argument("--lathe-opt", default="build/bin/lathe-opt")
    args = ap.parse_args()
    lo, hi, step = (float(v) for v in args.grid.split(":"))
    grid = [round(e, 6) for e in np.arange(lo, hi + step / 2, step)]
    mlp = Mlp(args.model)
    base = {}  # (strategy, ranks) -> (first e, pred, err)
    for e in grid:
        for strategy in ("uniform", "threshold"):
            ranks, pred, err = select(args, f"max-error={e}", strategy)
            base.setdefault((strategy, ranks), (e, pred, err))
    rows, deltas, cache = [], [], {}
    for (strategy, ranks), (e, pred, err) in sorted(base.items(), key=lambda kv: -kv[1][1]):
        if pred not in cache:
            cache[pred] = select(args, f"max-latency={pred!r}", "global")
        granks, gpred, gerr = cache[pred]
        acc_b, acc_g = mlp.accuracy(ranks), mlp.accuracy(granks)
        deltas.append(acc_g - acc_b)
        show = lambda r: str(["D" if v is None else v for v in r])  # noqa: E731
        rows.append(f"{strategy:>9} {e:>5.2f} {show(ranks):>18} {pred:>7.4f} {err:>7.4f} "
                    f"{acc_b:>7.4f} | {show(granks):>18} {gpred:>7.4f} {gerr:>7.4f} {acc_g:>7.4f} "
                    f"{(acc_g - acc_b) * 100:>+6.2f}pt")
    print(f"{len(grid)} max-error budgets, {len(base)} distinct baseline choices "
          f"(error-norm={args.error_norm}); accuracy from numpy on {len(mlp.y)} test samples")
    print(f"{'baseline':>9} {'e':>5} {'ranks':>18} {'pred':>7} {'err':>7} {'acc':>7} | "
          f"{'global ranks':>18} {'pred':>7} {'err':>7} {'acc':>7} {'d_acc':>7}")
    print("\n".join(rows))
    print(f"min accuracy delta (global - baseline) = {min(deltas):.4f}; global more accurate at "
          f"{sum(d > 0 for d in deltas)}, equal at {sum(d == 0 for d in deltas)}, less at "
          f"{sum(d < 0 for d in deltas)} of {len(deltas)}")


if __name__ == "__main__":
    main()
