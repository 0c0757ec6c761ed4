#!/usr/bin/python3
"""Regenerates the CPU target's shipped lowrank latency table from lathe-calibrate.

usage: /usr/bin/python3 scripts/recalibrate_cpu_target.py [--write | --out FILE.inc]
           [--repeat 50] [--threads 1] [--stat median|min] [--calibration FILE.json]

The table that lowrank-select-ranks uses when a module has no `#lathe.target` lives in
lib/Target/CPU/CpuLowRankTable.inc (the table as JSON in a C++ raw string, included and
parsed by lib/Target/CPU/Target.cpp). This script makes it reproducible:

1. `lathe-calibrate` measures the dense and candidate kernels of a fixed set of layers
   (LAYERS below: linear layers N x K in {64, 256, 1024}^2, the convolutions of
   bench/lowrank.py's digits CNN and CNN32) at batch 1 and 64 through the runtime's
   oneDNN entry points (--threads, default 1, --repeat calls, the median). The raw
   measurement is written to build/calibration/cpu-lowrank.json (--calibration reuses
   one instead of measuring).
2. The roofline for shapes outside the measured rows
     t = call_overhead + max(2 M N K / (peak * eff), 4 (M K + K N + M N) / bandwidth),
     eff = min(1, N / 16) * min(1, K / 16)
   is fitted to the measured matmul rows: peak_gflops, bandwidth_gbps and
   call_overhead_us minimise the mean squared log error over a grid (numpy), not the
   extremes lathe-calibrate writes (best throughput, cheapest call).
3. The table (fitted roofline, the measured `matmul` and `conv` rows, a provenance
   naming the date, the CPU, the load average, the command) is printed as the .inc; with
   --write it replaces lib/Target/CPU/CpuLowRankTable.inc, with --out FILE it goes to FILE.
   Review `git diff`, rebuild, rerun the lowrank tests (test/Dialect/LowRank, the lowrank
   e2e tests and docs/Dialects/LowRank.md's doc-tests print latencies of the default
   table) and update their expectations and the cost-model section of
   docs/Dialects/LowRank.md in the same commit.

Measure on a quiet machine: the table is only as good as the timings (the script prints
the load average and records it in the provenance).
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INC = os.path.join(ROOT, "lib", "Target", "CPU", "CpuLowRankTable.inc")

# Linear layers (N, K) and convolutions (C, H, W, F, KH, KW) whose dense and candidate
# kernels are measured: a grid of linear shapes, and the convolutions of the digits CNN
# (conv2) and of CNN32 (conv2-conv4) in bench/lowrank.py (scripts/lowrank/gen_models.py).
LAYERS = {
    "matmul": [f"{n},{k}" for n in (64, 256, 1024) for k in (64, 256, 1024)],
    "conv": ["32,6,6,64,3,3", "32,15,15,64,3,3", "64,13,13,64,3,3", "64,5,5,64,3,3"],
}
MIN_EFFICIENT_DIM = 16
GRANULARITY = 16


def build_dir():
    return os.environ.get("LATHE_BUILD_DIR", os.path.join(ROOT, "build"))


def calibrate(args, out):
    tool = os.path.join(build_dir(), "bin", "lathe-calibrate")
    if not os.access(tool, os.X_OK):
        sys.exit(f"recalibrate_cpu_target: {tool} not found (build first or set LATHE_BUILD_DIR)")
    cmd = [tool, "-o", out, "--batches=1,64", f"--repeat={args.repeat}",
           f"--threads={args.threads}", f"--stat={args.stat}", f"--granularity={GRANULARITY}"]
    cmd += [f"--matmul={m}" for m in LAYERS["matmul"]]
    cmd += [f"--conv={c}" for c in LAYERS["conv"]]
    print("  " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"recalibrate_cpu_target: lathe-calibrate failed:\n{p.stderr[-3000:]}")


def roofline(rows, peak, bw, overhead):
    """The lowrank cost model's roofline (LatencyModel::matmulUs) for rows [m, n, k]."""
    m, n, k = rows[:, 0], rows[:, 1], rows[:, 2]
    eff = np.minimum(1, n / MIN_EFFICIENT_DIM) * np.minimum(1, k / MIN_EFFICIENT_DIM)
    compute = 2.0 * m * n * k / (peak * 1e3 * np.maximum(eff, 1e-3))
    memory = 4.0 * (m * k + k * n + m * n) / (bw * 1e3)
    return overhead + np.maximum(compute, memory)


def fit(matmuls):
    """(peak_gflops, bandwidth_gbps, call_overhead_us, rms log error) minimising the mean
    squared log error of the roofline over the measured matmul rows (grid search)."""
    rows = np.array([[r["m"], r["n"], r["k"]] for r in matmuls], dtype=np.float64)
    us = np.array([r["us"] for r in matmuls], dtype=np.float64)
    overheads = np.linspace(0, 10, 41)
    best = None
    for peak in np.geomspace(5, 500, 61):
        for bw in np.geomspace(1, 300, 61):
            t = roofline(rows, peak, bw, 0.0)[:, None] + overheads[None, :]
            err = np.mean(np.log(t / us[:, None]) ** 2, axis=0)
            i = int(np.argmin(err))
            if best is None or err[i] < best[3]:
                best = (float(peak), float(bw), float(overheads[i]), float(err[i]))
    peak, bw, overhead, err = best
    return round(peak, 1), round(bw, 1), round(overhead, 2), float(np.sqrt(err))


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def render(table, description):
    """The .inc: the table as JSON in a raw string literal (the JSON alone is also a
    target description lathe-opt --lathe-attach-target reads: lowrank keys at the top)."""
    lines = []
    for key, value in table.items():
        if isinstance(value, list):  # one measured row per line, for a readable diff
            rows = ",\n".join("  " + json.dumps(r) for r in value)
            lines.append(f" {json.dumps(key)}: [\n{rows}\n ]")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}")
    text = "{\n" + ",\n".join(lines) + "\n}"
    return ("// Generated by scripts/recalibrate_cpu_target.py; do not edit by hand.\n"
            f"// {description}\n"
            "// Regenerate: /usr/bin/python3 scripts/recalibrate_cpu_target.py --write\n"
            "// (then review the diff and update the tests and docs it names).\n"
            f'R"json({text}\n)json"\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--write", action="store_true", help=f"replace {os.path.relpath(INC, ROOT)}")
    ap.add_argument("--out", help="write the .inc here instead (default: print it)")
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--stat", choices=["median", "min"], default="median")
    ap.add_argument("--calibration", help="use this lathe-calibrate JSON instead of measuring")
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"recalibrate_cpu_target: {cpu_name()}, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    path = args.calibration
    if not path:
        os.makedirs(os.path.join(build_dir(), "calibration"), exist_ok=True)
        path = os.path.join(build_dir(), "calibration", "cpu-lowrank.json")
        calibrate(args, path)
    with open(path) as f:
        measured = json.load(f)
    low = measured.get("lowrank", measured)
    if not low.get("matmul"):
        sys.exit(f"recalibrate_cpu_target: '{path}' has no measured matmul rows to fit")
    peak, bw, overhead, rms = fit(low["matmul"])
    print(f"  fitted roofline: peak {peak} GFLOP/s, bandwidth {bw} GB/s, call overhead "
          f"{overhead} us; rms log error {rms:.3f} over {len(low['matmul'])} matmul rows "
          f"(lathe-calibrate's extremes: {low.get('peak_gflops')} GFLOP/s, "
          f"{low.get('bandwidth_gbps')} GB/s, {low.get('call_overhead_us')} us)", flush=True)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    description = (f"{date}, {cpu_name()}, load average {load[0]:.1f}: "
                   f"{low.get('provenance', 'lathe-calibrate')}")
    table = {
        "provenance": (f"scripts/recalibrate_cpu_target.py {date} on {cpu_name()} (load "
                       f"average {load[0]:.1f}): roofline fitted to the measured matmul rows "
                       f"(rms log error {rms:.3f}); rows from {low.get('provenance', '?')}"),
        "peak_gflops": float(peak),
        "bandwidth_gbps": float(bw),
        "call_overhead_us": float(overhead),
        "min_efficient_dim": MIN_EFFICIENT_DIM,
        "granularity": GRANULARITY,
        "matmul": low["matmul"],
    }
    if low.get("conv"):
        table["conv"] = low["conv"]
    text = render(table, description)
    target = INC if args.write else args.out
    if target:
        with open(target, "w") as f:
            f.write(text)
        print(f"  wrote {target}; review it with `git diff`", flush=True)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
