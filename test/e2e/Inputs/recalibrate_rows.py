"""Writes a lathe-calibrate JSON whose matmul rows follow a known roofline (peak 100
GFLOP/s, bandwidth 20 GB/s, call overhead 2 us: the cost model's own formula, from
scripts/recalibrate_cpu_target.py) and one measured convolution row (7 us), for
test/e2e/recalibrate-cpu-target.test. usage: recalibrate_rows.py OUT.json SCRIPTS_DIR"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from recalibrate_cpu_target import roofline
rows = [(m, n, k) for m in (1, 64) for n in (16, 64, 256, 1024) for k in (16, 64, 256, 1024)]
us = roofline(np.array(rows, dtype=float), 100.0, 20.0, 2.0)
json.dump({"name": "cpu-calibrated", "threads": 1, "lowrank": {
    "provenance": "synthetic", "peak_gflops": 1, "bandwidth_gbps": 1, "call_overhead_us": 1,
    "matmul": [{"m": m, "n": n, "k": k, "us": round(float(u), 3)} for (m, n, k), u in zip(rows, us)],
    "conv": [{"n": 1, "c": 16, "h": 10, "w": 10, "f": 32, "kh": 3, "kw": 3, "sh": 1, "sw": 1, "dh": 1, "dw": 1, "us": 7.0}]}},
    open(sys.argv[1], "w"))
