"""Checks sharded data-parallel training logs (lathe-train --ranks) against a
single-rank run of the same steps, and the bytes each rank handed to the
collectives against what the communication scheme must send.

usage: ranks_check.py WEIGHTS.h5 SINGLE.jsonl SHARDED.jsonl RANKS
           [--per-node R] [--first-step K] [--comm SCHEME] [--loss-tol TOL]

Losses: every step of SHARDED from K on must be within TOL relative of
SINGLE's (default 1e-5: the same global batches, only the order of the float
sums differs; quantized schemes need a looser TOL). Bytes per step, with T
the number of parameters (counted from the weights file), S the shard size
(ceil(T / P) rounded up to a multiple of 2048), L = P * S the padded flat
vector, R ranks per node, and a quantized block of n values at b bits with
group g taking n * b / 8 bytes of data + n / g * 4 bytes of f32 scales:
  fp32:    reduce-scatter [1, 0] 4 L, all-gather [1, 0] 4 S
  sdp4bit: all-to-all [1] L at 8 bits g 512, all-to-all [0] L / R at 4 bits
           g 128, all-gather [1, 0] S at 4 bits g 2048 (with one node only
           the first hop; with one rank per node only the second, over L)
  qw:      reduce-scatter [1, 0] 4 L, all-gather [1, 0] S at 4 bits g 2048
  zeropp:  all-to-all [1] L at 4 bits g 128, all-to-all [0] L / R at 4 bits
           g 128, all-gather [1, 0] S at 8 bits g 2048
and the loss through the all-reduce [0, 1] (4 bytes; with --clip also the
squared norm of the gradient shards).
"""
import argparse
import json
import math

import h5py

ap = argparse.ArgumentParser()
ap.add_argument("weights")
ap.add_argument("single")
ap.add_argument("sharded")
ap.add_argument("ranks", type=int)
ap.add_argument("--per-node", type=int, default=0)
ap.add_argument("--first-step", type=int, default=0)
ap.add_argument("--comm", default="fp32")
ap.add_argument("--loss-tol", type=float, default=1e-5)
ap.add_argument("--clip", action="store_true",
                help="clipping by the global norm: one more 4-byte all-reduce")
a = ap.parse_args()
per_node = a.per_node or a.ranks
nodes = a.ranks // per_node

total = 0
with h5py.File(a.weights, "r") as f:
    def count(name, obj):
        global total
        if isinstance(obj, h5py.Dataset):
            total += obj.size
    f.visititems(count)
S = math.ceil(math.ceil(total / a.ranks) / 2048) * 2048
L = a.ranks * S


def q(n, bits, group):
    return n * bits // 8 + n // group * 4


expected = {("all_reduce", (0, 1)): (2, 8) if a.clip else (1, 4)}
if a.comm in ("fp32", "qw"):
    expected[("reduce_scatter", (1, 0))] = (1, 4 * L)
else:
    # A hop over one process is left out: one node has only the intra-node
    # hop, one rank per node only the inter-node one (at its bits).
    b1, g1 = (8, 512) if a.comm == "sdp4bit" else (4, 128)
    if per_node > 1:
        expected[("all_to_all", (1,))] = (2, q(L, b1, g1))
    if nodes > 1:
        n = L // per_node if per_node > 1 else L
        expected[("all_to_all", (0,))] = (2, q(n, 4, 128))
if a.comm == "fp32":
    expected[("all_gather", (1, 0))] = (1, 4 * S)
else:
    bits = 8 if a.comm == "zeropp" else 4
    expected[("all_gather", (1, 0))] = (2, q(S, bits, 2048))


def steps(path):
    return {e["step"]: e for e in map(json.loads, open(path)) if "step" in e}


one, many = steps(a.single), steps(a.sharded)
checked = [k for k in sorted(many) if k >= a.first_step]
assert checked, "no steps in " + a.sharded
worst = 0.0
for k in checked:
    x, y = one[k]["loss"], many[k]["loss"]
    assert math.isfinite(y), f"step {k}: loss {y}"
    worst = max(worst, abs(x - y) / abs(x))
    got = {(c["collective"], tuple(c["grid_axes"])): (c["calls"], c["bytes"])
           for c in many[k]["comm"]}
    assert got == expected, f"step {k}: (calls, bytes) {got}, expected {expected}"
assert worst <= a.loss_tol, f"largest relative loss difference {worst} > {a.loss_tol}"
print(f"comm={a.comm} ranks={a.ranks} steps={len(checked)} params={total} shard={S} "
      f"max_rel_loss_diff={worst:.2e}")
