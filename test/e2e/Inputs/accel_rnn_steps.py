"""Checks that the steps of one unrolled recurrence run one after the other in
the simulated timeline (lathe-run --accel-trace of a single-direction,
single-layer LSTM or GRU on --backend=accel).

usage: accel_rnn_steps.py TRACE.json STEPS

Every engine op's source is `op#index`, the index in the expanded function's
walk order (accel-expand-recurrences emits the input projection, then per
step the recurrent product and the gate kernels). Each recurrent product
after the first step's (every lathe.matmul after the first two) reads the
previous step's h, so its first tile starts no earlier than the last tile of
every gate kernel (linalg.generic) issued before it ends.
"""
import json
import sys

trace, steps = sys.argv[1], int(sys.argv[2])
t = json.load(open(trace))
first, last = {}, {}
for e in t["traceEvents"]:
    if e["ph"] != "X" or e["cat"] in ("DMA", "HBM"):
        continue
    src = e["args"]["op"].split(":", 1)[1]
    first[src] = min(first.get(src, float("inf")), e["ts"])
    last[src] = max(last.get(src, 0.0), e["ts"] + e["dur"])


def index(src):
    return int(src.rsplit("#", 1)[1])


products = sorted((s for s in first if s.startswith("lathe.matmul#")), key=index)
gates = [s for s in first if s.startswith("linalg.generic#")]
assert len(products) == steps + 1, products
for p in products[2:]:
    before = [g for g in gates if index(g) < index(p)]
    assert before, p
    end = max(last[g] for g in before)
    assert first[p] >= end - 1e-9, (p, first[p], end)
print(f"{steps} steps, each recurrent product after the gates of the step before")
