#!/usr/bin/python3
"""Measure oneDNN matmul latencies through lathe-run and write a lowrank target description.

usage: /usr/bin/python3 scripts/lowrank/calibrate.py OUT.json --layer N,K [--layer N,K ...]
           [--batch 64] [--granularity 16] [--repeat 200] [--threads 1] [--build DIR]

For every layer (a weight [N, K]) it measures, at M = batch rows, the dense matmul
[M,K]·[K,N] and both matmuls of every candidate rank r = g, 2g, ... with r·(N+K) < N·K:
[M,K]·[K,r] and [M,r]·[r,N]. Each shape is one lathe-run of a one-matmul module (weight a
constant, used transposed as in the models), `--repeat` calls, the minimum latency.
The JSON has the measured table (which lowrank-select-ranks prefers for exact shapes) and a
roofline fitted to it for other shapes. Pass it as --lowrank-select-ranks="target=OUT.json".
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def module(m, n, k):
    mm = ("indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, "
          "affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>]")
    return f"""func.func @main(%x: tensor<{m}x{k}xf32>) -> tensor<{m}x{n}xf32> {{
  %w = arith.constant dense<0.5> : tensor<{n}x{k}xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %y = linalg.matmul {mm} ins(%x, %w : tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>) outs(%f : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  return %y : tensor<{m}x{n}xf32>
}}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("out")
    ap.add_argument("--layer", action="append", required=True, help="N,K of a weight [N, K]")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--granularity", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--build", default=os.environ.get("LATHE_BUILD_DIR", os.path.join(ROOT, "build")))
    args = ap.parse_args()
    m, g = args.batch, args.granularity
    shapes = set()
    for layer in args.layer:
        n, k = map(int, layer.split(","))
        shapes.add((m, n, k))
        r = g
        while r < min(n, k) and r * (n + k) < n * k:
            shapes.update({(m, r, k), (m, n, r)})
            r += g
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    table = []
    with tempfile.TemporaryDirectory(prefix="lowrank-calib-") as tmp:
        for i, (mm, n, k) in enumerate(sorted(shapes)):
            src = os.path.join(tmp, "mm.mlir")
            with open(src, "w") as f:
                f.write(module(mm, n, k))
            x = os.path.join(tmp, "x.npy")
            np.save(x, np.ones((mm, k), np.float32))
            rep = os.path.join(tmp, "r.json")
            p = subprocess.run([os.path.join(args.build, "bin", "lathe-run"), src, f"--input={x}",
                                f"--output={tmp}/y.npy", f"--repeat={args.repeat}",
                                f"--threads={args.threads}", f"--report={rep}"],
                               capture_output=True, text=True, env=env)
            if p.returncode != 0:
                sys.exit(f"calibrate: lathe-run failed on {mm}x{n}x{k}:\n{p.stderr[-2000:]}")
            us = json.load(open(rep))["latency_ms"]["min"] * 1000.0
            table.append({"m": mm, "n": n, "k": k, "us": round(us, 3)})
            print(f"[{i + 1}/{len(shapes)}] M={mm} N={n} K={k}: {us:.2f} us", flush=True)
    big = max(table, key=lambda t: t["m"] * t["n"] * t["k"])
    small = min(table, key=lambda t: t["m"] * t["n"] * t["k"])
    desc = {
        "name": "cpu-calibrated",
        "provenance": f"scripts/lowrank/calibrate.py: lathe-run min latency of {args.repeat} calls, "
                      f"{args.threads} thread(s), batch {m}",
        "peak_gflops": round(2e-3 * big["m"] * big["n"] * big["k"] / max(big["us"], 1e-3), 3),
        "bandwidth_gbps": 12,
        "call_overhead_us": round(small["us"], 3),
        "min_efficient_dim": 32,
        "granularity": g,
        "matmul": table,
    }
    with open(args.out, "w") as f:
        json.dump(desc, f, indent=1)
    print(f"wrote {args.out}: peak {desc['peak_gflops']} GFLOP/s, overhead {desc['call_overhead_us']} us")


if __name__ == "__main__":
    main()
