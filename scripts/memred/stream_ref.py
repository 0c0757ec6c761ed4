#!/usr/bin/python3
"""Independent numpy model of gen_stream.py's streaming model, with and without banks.

    stream_ref.py make DIR --frames T [--tokens F --width C --queries Lq --layers L --seed S]
        writes DIR/frames.npy, DIR/query.npy, DIR/w.npy
    stream_ref.py run DIR OUT_PREFIX [--report REPORT.json]
        writes OUT_PREFIX{0..L}.npy: every layer's state, then the final layer-0 cache (or
        bank rows). With --report, the memred.bank_append decisions of lathe-run's report give
        each layer's capacity, recent and keep fractions (the parameters the pass chose;
        the semantics below are written from the op's definition, not from the code);
        without it the caches are unbounded.

Bank semantics (AdaCM²): append the frame's rows; if the rows exceed the capacity,
score each row j by sum over query rows of softmax_j(q · row_j / sqrt(C)) (f64), keep the
newest ceil(recent · n) rows and the ceil(keep · (n − that)) older rows with the highest
scores (ties: the newer), in order.
"""
import argparse
import json
import math
import os

import numpy as np


def ceil_frac(f, m):
    return min(m, math.ceil(f * m - 1e-9))


def softmax(s):
    p = np.exp(s - s.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True)


def attention(q, k, scale):
    return softmax((q @ k.T) * scale) @ k


def append(bank, frame, query, scale, layer):
    rows = np.concatenate([bank, frame])
    if layer is None or rows.shape[0] <= layer["capacity"]:
        return rows
    n = rows.shape[0]
    score = softmax((query @ rows.T) * scale).sum(0)
    recent = ceil_frac(layer["recent"], n)
    older = n - recent
    keep = ceil_frac(layer["keep"], older)
    top = sorted(range(older), key=lambda j: (-score[j], -j))[:keep]
    kept = sorted(top) + list(range(older, n))
    assert len(kept) <= layer["capacity"], (len(kept), layer)
    return rows[kept]


def run(frames, query, w, layers):
    c = frames.shape[2]
    scale = 1.0 / math.sqrt(c)
    caches = [np.zeros((0, c)) for _ in layers]
    states = [None] * len(layers)
    for frame in frames:
        q = query
        for l, layer in enumerate(layers):
            tokens = frame if l == 0 else frame @ w[l - 1]
            caches[l] = append(caches[l], tokens, q, scale, layer)
            states[l] = q = attention(q, caches[l], scale)
    return states + [caches[0]]


def layers_from_report(path, count):
    report = json.load(open(path))
    banks = [d["decision"] for d in report["decisions"]
             if d["decision"].get("action") == "bounded streaming cache"]
    banks.sort(key=lambda d: d["layer"])
    assert [d["layer"] for d in banks] == list(range(count)), banks
    return banks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--frames", type=int, required=True)
    m.add_argument("--tokens", type=int, default=16)
    m.add_argument("--width", type=int, default=32)
    m.add_argument("--queries", type=int, default=4)
    m.add_argument("--layers", type=int, default=2)
    m.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("out_prefix")
    r.add_argument("--report")
    args = parser.parse_args()
    if args.cmd == "make":
        rng = np.random.default_rng(args.seed)
        os.makedirs(args.dir, exist_ok=True)
        c = args.width
        np.save(f"{args.dir}/frames.npy",
                rng.standard_normal((args.frames, args.tokens, c)).astype(np.float32))
        np.save(f"{args.dir}/query.npy",
                (2.0 * rng.standard_normal((args.queries, c))).astype(np.float32))
        np.save(f"{args.dir}/w.npy",
                (rng.standard_normal((args.layers - 1, c, c)) / math.sqrt(c)).astype(np.float32))
        return
    frames, query, w = (np.load(f"{args.dir}/{n}.npy").astype(np.float64)
                        for n in ("frames", "query", "w"))
    count = w.shape[0] + 1
    layers = layers_from_report(args.report, count) if args.report else [None] * count
    for i, out in enumerate(run(frames, query, w, layers)):
        np.save(f"{args.out_prefix}{i}.npy", out.astype(np.float32))
    if args.report:
        # Fractions rounded: the check is on the decision, not the last bits.
        print("layers", [(d["capacity"], round(d["recent"], 6), round(d["keep"], 6))
                         for d in layers])


if __name__ == "__main__":
    main()
