#!/usr/bin/python3
"""Checks lowrank-select-ranks' global allocation against an exhaustive numpy reference.

usage: check_allocation.py WORKDIR [--lathe-opt PATH] [--seed N]

Writes a module of four linear layers (`linalg.matmul`, 4 rows, weights W = Q1·diag(s)·Q2ᵀ with
random orthogonal Q1, Q2 and chosen spectra) and a target description that prices every shape
the pass can ask for by a measured (here: random) latency, so the latency of every choice is
known without the pass's roofline. Then, for the three error norms and a grid of budgets:

  max-latency=f: the pass's choice must meet Σ latency ≤ f·Σ dense latency, and its model error
                 must be the least over all choices that meet it (enumerated here: every layer
                 dense or at every candidate rank, numpy's own SVD for the errors);
  max-error=e:   the pass's model error must be ≤ e and its latency the least over all choices
                 within e.

The model-level errors are the documented definitions (docs/Dialects/LowRank.md):
  frobenius  E = sqrt(Σ_l ‖W_l − Ŵ_l‖²_F / Σ_l ‖W_l‖²_F),   ‖W − Ŵ_r‖²_F = Σ_{i>r} σ_i²
  relative   E = sqrt(Σ_l ‖W_l − Ŵ_l‖²_F / ‖W_l‖²_F)
  spectral   E = sqrt(Σ_l (σ_{r_l+1,l} / σ_{1,l})²)
Candidate ranks (granularity 1): 1 ≤ r < min(N, K) with r·(N + K) < N·K, taken only when
cheaper than the dense layer. The decisions' model_error / model_latency must match the
reference's values of the chosen ranks.

The script also runs a latency-per-error greedy (the pass's former search) on the same
budgets and requires that it is suboptimal on at least one of them, so the grid can tell an
exact search from a greedy one.
"""
import argparse
import itertools
import json
import os
import re
import subprocess
import sys

import numpy as np

ROWS = 4
# (N, K) of each layer's weight [N, K] and its singular values (min(N, K) of them).
LAYERS = [
    ((12, 8), [9.0, 5.0, 2.0, 1.2, 0.5, 0.2, 0.1, 0.05]),
    ((8, 12), [4.0, 3.5, 3.0, 0.4, 0.3, 0.2, 0.1, 0.1]),
    ((10, 10), [6.0, 1.0, 0.9, 0.8, 0.7, 0.2, 0.1, 0.1, 0.05, 0.01]),
    ((16, 6), [3.0, 2.9, 0.3, 0.2, 0.1, 0.05]),
]


def candidates(n, k):
    return [r for r in range(1, min(n, k)) if r * (n + k) < n * k]


def write_inputs(work, rng):
    weights, funcs, table = [], [], {}

    def price(m, n, k):
        key = (m, n, k)
        if key not in table:
            table[key] = float(np.round(rng.uniform(1.0, 10.0), 3))
        return table[key]

    for i, ((n, k), s) in enumerate(LAYERS):
        q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
        q2, _ = np.linalg.qr(rng.standard_normal((k, k)))
        p = min(n, k)
        w = (q1[:, :p] * np.array(s)) @ q2[:, :p].T  # [N, K]
        w = w.astype(np.float32)
        weights.append(w.astype(np.float64))
        # Dense layers cost more than any single kernel, so most candidates are cheaper.
        table[(ROWS, n, k)] = float(np.round(rng.uniform(12.0, 20.0), 3))
        for r in candidates(n, k):
            price(ROWS, r, k)
            price(ROWS, n, r)
        wk = w.T  # the matmul's right operand [K, N]
        lit = "[" + ", ".join("[" + ", ".join(repr(float(v)) for v in row) + "]" for row in wk) + "]"
        funcs.append(f"""
func.func @layer{i}(%x: tensor<{ROWS}x{k}xf32>) -> tensor<{ROWS}x{n}xf32> {{
  %w = arith.constant dense<{lit}> : tensor<{k}x{n}xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{ROWS}x{n}xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<{ROWS}x{n}xf32>) -> tensor<{ROWS}x{n}xf32>
  %y = linalg.matmul ins(%x, %w : tensor<{ROWS}x{k}xf32>, tensor<{k}x{n}xf32>) outs(%fill : tensor<{ROWS}x{n}xf32>) -> tensor<{ROWS}x{n}xf32>
  return %y : tensor<{ROWS}x{n}xf32>
}}
""")
    mlir = os.path.join(work, "layers.mlir")
    with open(mlir, "w") as f:
        f.write("".join(funcs))
    target = os.path.join(work, "target.json")
    with open(target, "w") as f:
        json.dump({"name": "random-table", "provenance": "check_allocation.py: random latencies",
                   "peak_gflops": 1, "bandwidth_gbps": 1, "call_overhead_us": 1000,
                   "min_efficient_dim": 1, "granularity": 1,
                   "matmul": [{"m": m, "n": n, "k": k, "us": us} for (m, n, k), us in table.items()]},
                  f)
    return mlir, target, weights, table


class Reference:
    """Every layer's options: (rank or None for dense, latency, squared error per norm)."""

    def __init__(self, weights, table):
        self.options = []
        self.energy = 0.0
        self.dense = 0.0
        for w in weights:
            n, k = w.shape
            s = np.linalg.svd(w, compute_uv=False)
            self.energy += float((s ** 2).sum())
            dense = table[(ROWS, n, k)]
            self.dense += dense
            energy = float((s ** 2).sum())
            opts = [(None, dense, {"frobenius": 0.0, "relative": 0.0, "spectral": 0.0})]
            for r in candidates(n, k):
                lat = table[(ROWS, r, k)] + table[(ROWS, n, r)]
                if lat < dense:
                    tail = float((s[r:] ** 2).sum())
                    opts.append((r, lat, {"frobenius": tail, "relative": tail / energy,
                                          "spectral": float((s[r] / s[0]) ** 2)}))
            self.options.append(opts)

    def evaluate(self, ranks, norm):
        lat, err = 0.0, 0.0
        for opts, r in zip(self.options, ranks):
            match = [o for o in opts if o[0] == r]
            assert match, f"rank {r} is not an option of its layer: {opts}"
            lat += match[0][1]
            err += match[0][2][norm]
        scale = self.energy if norm == "frobenius" else 1.0
        return lat / self.dense, np.sqrt(err / scale)

    def all_choices(self, norm):
        for combo in itertools.product(*[[o[0] for o in opts] for opts in self.options]):
            yield combo, *self.evaluate(combo, norm)

    def greedy_latency(self, budget, norm):
        """Former search, other constraint: best latency saved per error added until within."""
        ranks = [None] * len(self.options)
        while self.evaluate(ranks, norm)[0] > budget * (1 + 1e-6):
            lat0, err0 = self.evaluate(ranks, norm)
            best = None
            for i, opts in enumerate(self.options):
                for o in opts:
                    trial = ranks[:i] + [o[0]] + ranks[i + 1:]
                    lat, err = self.evaluate(trial, norm)
                    if lat < lat0:
                        score = (lat0 - lat) / max(err ** 2 - err0 ** 2, 1e-30)
                        if best is None or score > best[0]:
                            best = (score, trial)
            if best is None:
                return None
            ranks = best[1]
        return ranks


def run_pass(lathe_opt, mlir, target, option, norm):
    p = subprocess.run([lathe_opt, mlir, "--mlir-elide-elementsattrs-if-larger=4",
                        f"--lathe-attach-target={target}",
                        f"--lowrank-select-ranks={option} error-norm={norm}"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"lathe-opt failed for {option} {norm}:\n{p.stderr[-2000:]}")
    ranks, summary = [], None
    for i in range(len(LAYERS)):
        body = p.stdout.split(f"func.func @layer{i}(")[1].split("func.func @")[0]
        d = re.search(r"lathe\.decision = #lowrank\.decision<([^>]*)>", body).group(1)
        action = re.search(r'action = "(\w+)"', d).group(1)
        ranks.append(int(re.search(r"rank = (\d+)", d).group(1)) if action == "factorize" else None)
        ml = float(re.search(r"model_latency = ([-0-9.eE+]+)", d).group(1))
        me = float(re.search(r"model_error = ([-0-9.eE+]+)", d).group(1))
        key = option.split("=")[0].replace("-", "_")
        assert f'budget = "{key}"' in d, f"decision not under {key}: {d}"
        val = float(re.search(r"budget_limit = ([-0-9.eE+]+)", d).group(1))
        if summary is None:
            summary = (ml, me, val)
        assert summary == (ml, me, val), f"decisions disagree on the allocation: {d}"
    return ranks, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--lathe-opt", default="lathe-opt")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    mlir, target, weights, table = write_inputs(args.work, rng)
    ref = Reference(weights, table)
    checked, greedy_worse = 0, 0
    for norm in ("frobenius", "relative", "spectral"):
        choices = list(ref.all_choices(norm))
        fastest = min(c[1] for c in choices)
        # Latency budgets: 12 steps between the fastest choice and dense, and every achievable
        # latency of the 8 most accurate choices per step region (exact ties are the hard case).
        fractions = sorted(set(np.round(np.linspace(fastest, 1.0, 12), 6)) |
                           {round(c[1], 9) for c in sorted(choices, key=lambda c: c[2])[:40]})
        for f in fractions:
            ranks, (ml, me, val) = run_pass(args.lathe_opt, mlir, target, f"max-latency={f!r}", norm)
            lat, err = ref.evaluate(ranks, norm)
            feasible = [c for c in choices if c[1] <= f * (1 + 1e-6)]
            best = min(c[2] for c in feasible)
            assert lat <= f * (1 + 1e-6), (norm, f, ranks, lat)
            assert err <= best * (1 + 1e-6) + 1e-9, (norm, f, ranks, err, best,
                                                     min(feasible, key=lambda c: c[2]))
            # The decision prints its floats at six significant digits (a relative
            # rounding of at most 5e-6).
            assert abs(ml - lat) <= 1e-5 * lat and abs(me - err) <= 1e-5 * max(err, 1e-3), \
                (norm, f, ranks, (ml, me), (lat, err))
            assert abs(val - f) <= 5e-6 * f, (val, f)
            g = ref.greedy_latency(f, norm)
            if g is not None and ref.evaluate(g, norm)[1] > best * (1 + 1e-6) + 1e-9:
                greedy_worse += 1
            checked += 1
        errors = sorted({round(float(e), 6) for e in np.linspace(0.0, 0.9, 10)} |
                        {round(c[2] * 1.000001, 9) for c in choices[::12]})
        for e in errors:
            if not 0 <= e < 1:
                continue
            ranks, (ml, me, val) = run_pass(args.lathe_opt, mlir, target, f"max-error={e!r}", norm)
            lat, err = ref.evaluate(ranks, norm)
            feasible = [c for c in choices if c[2] <= e * (1 + 1e-9)]
            best = min(c[1] for c in feasible)
            assert err <= e * (1 + 1e-6), (norm, e, ranks, err)
            assert lat <= best * (1 + 1e-9), (norm, e, ranks, lat, best,
                                              min(feasible, key=lambda c: c[1]))
            assert abs(ml - lat) <= 1e-5 * lat, (ml, lat)
            checked += 1
    print(f"checked {checked} budgets against {len(choices)} enumerated choices; "
          f"the greedy was suboptimal on {greedy_worse} latency budgets")
    assert greedy_worse > 0, "no budget separates the exact search from the greedy one"


if __name__ == "__main__":
    main()
