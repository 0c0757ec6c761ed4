"""Checks sharded data-parallel training logs (lathe-train --ranks) against a
single-rank run of the same steps, and the bytes each rank handed to the
collectives against what sharded data parallelism must send.

usage: ranks_check.py WEIGHTS.h5 SINGLE.jsonl SHARDED.jsonl RANKS [FIRST_STEP]

The losses of every step of SHARDED (from FIRST_STEP on) must equal those of
SINGLE within 1e-5 relative (the same global batches; only the order of the
float sums differs). Bytes, per step: the flat gradient (P * S floats, S the
shard size: ceil(T / P) rounded up to a multiple of 2048, T the number of
parameters, counted from the weights file) into the reduce-scatter over grid
axes [1, 0], the shard (S floats) into the all-gather, the loss (one float)
into the all-reduce.
"""
import json
import math
import sys

import h5py

weights, single, sharded, ranks = sys.argv[1:5]
first = int(sys.argv[5]) if len(sys.argv) > 5 else 0
ranks = int(ranks)

total = 0
with h5py.File(weights, "r") as f:
    def count(name, obj):
        global total
        if isinstance(obj, h5py.Dataset):
            total += obj.size
    f.visititems(count)
shard = math.ceil(math.ceil(total / ranks) / 2048) * 2048


def steps(path):
    return {e["step"]: e for e in map(json.loads, open(path)) if "step" in e}


one, many = steps(single), steps(sharded)
checked = [k for k in sorted(many) if k >= first]
assert checked, "no steps in " + sharded
worst = 0.0
for k in checked:
    a, b = one[k]["loss"], many[k]["loss"]
    worst = max(worst, abs(a - b) / abs(a))
    comm = {(c["collective"], tuple(c["grid_axes"])): c for c in many[k]["comm"]}
    expected = {("reduce_scatter", (1, 0)): 4 * ranks * shard,
                ("all_gather", (1, 0)): 4 * shard,
                ("all_reduce", (0, 1)): 4}
    got = {key: c["bytes"] for key, c in comm.items()}
    assert got == expected, f"step {k}: bytes {got}, expected {expected}"
    assert all(c["calls"] == 1 for c in comm.values()), comm
assert worst <= 1e-5, f"largest relative loss difference {worst}"
print(f"ranks={ranks} steps={len(checked)} params={total} shard={shard} "
      f"max_rel_loss_diff={worst:.2e}")
