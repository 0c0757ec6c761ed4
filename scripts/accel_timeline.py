#!/usr/bin/env python3
"""Draws the engine timelines of a simulated run (lathe-run --accel-trace) as a PNG.

usage: accel_timeline.py TRACE.json OUT.png [--title TEXT]
One row per engine (MMEs, vector cores, DMA engines, HBM), one bar per tile, coloured by
engine op kind. Needs matplotlib (/usr/bin/python3 has it).
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"mme_matmul": "tab:blue", "tpc_matmul": "tab:cyan", "tpc_softmax": "tab:red",
          "tpc_layernorm": "tab:orange", "tpc_elementwise": "tab:olive", "tpc_reduce": "tab:brown",
          "dma_load": "tab:green", "dma_store": "tab:purple", "sparse_spmm": "tab:pink"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("png")
    ap.add_argument("--title", default="simulated engine timelines")
    args = ap.parse_args()
    events = json.load(open(args.trace))["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M"}
    tids = sorted(names)
    row = {tid: i for i, tid in enumerate(tids)}
    bars = {}
    for e in events:
        if e["ph"] == "X":
            bars.setdefault((e["tid"], e["name"]), []).append((e["ts"], e["dur"]))
    fig, ax = plt.subplots(figsize=(12, 0.25 * len(tids) + 1.5))
    seen = set()
    for (tid, kind), spans in bars.items():
        ax.broken_barh(spans, (row[tid] - 0.4, 0.8), facecolors=COLORS.get(kind, "gray"),
                       label=None if kind in seen else kind)
        seen.add(kind)
    ax.set_yticks(range(len(tids)))
    ax.set_yticklabels([names[t] for t in tids], fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("simulated time (us)")
    ax.set_title(args.title)
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(args.png, dpi=120)


if __name__ == "__main__":
    main()
