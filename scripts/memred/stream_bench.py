#!/usr/bin/python3
"""The AdaCM² part of bench/memred: accuracy and bank memory of the streaming Q-Former.

    stream_bench.py [--tmp DIR] [--episodes N]

Uses scripts/memred/stream_qformer.py (weights from $LATHE_BUILD_DIR/memred/, trained there
first when missing). Policies, all with the same bank capacity per layer (CAPACITY tokens;
after a frame pushes a bank over it, the bank is reduced):
  full     no reduction (the bank grows with T)
  adacm2   Lathe's cross-modal reduction (lathe_rt_cross_modal_reduce_f32): newest RECENT
           fraction + top KEEP fraction of the rest by text/query cross-attention
  recent   the newest tokens only, as many as adacm2 keeps
  random   adacm2's recent part + a random subset of the rest, as many as adacm2 keeps
  adacm2-depth  adacm2 with the same total bank budget split over the layers by
           stream_qformer.choose_layer_budget: deeper layers get less capacity and a smaller
           keep fraction (AdaCM²'s observation that cross-modal attention concentrates
           with depth)
Accuracy at T=512 over the same episodes for every policy (chance = 1/512). Peak memory =
the largest total bytes of the three layers' banks (cached keys, values, frame ids; f32)
during the stream, measured from the tensors held, and stream latency (wall time per frame
of the whole streaming loop, one episode) for T = 64 ... 1024.
Prints a table and `STREAM key=value ...` for bench/memred.py.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stream_qformer as sq  # noqa: E402

CAPACITY = 512
RECENT = 0.1
KEEP = 0.1
RESULT_T = 512
SWEEP_T = [64, 128, 256, 512, 1024]
POLICIES = ["full", "adacm2", "recent", "random", "adacm2-depth"]
# adacm2-depth: the same total bank budget as adacm2's peak, split over the layers by
# stream_qformer.choose_layer_budget (deeper layers get less capacity and keep less).


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tmp", default=None)
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    threads = max(1, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    model = sq.load_or_train(log=lambda m: print(m, flush=True))
    reducer = sq.Reducer()
    pats = sq.patterns()
    print(f"stream: Q-Former-style model ({sq.LAYERS} layers, width {sq.WIDTH}, "
          f"{sq.NUM_QUERIES}+1 query rows, {sq.TOKENS} tokens/frame); bank capacity "
          f"{CAPACITY} tokens/layer, recent={RECENT} keep={KEEP}", flush=True)

    budget = sq.LAYERS * (CAPACITY + sq.TOKENS) * sq.ROW_BYTES
    depth_caps, depth_keeps = sq.choose_layer_budget(budget, RECENT, KEEP)
    print(f"adacm2-depth: bank budget {budget} bytes -> per-layer capacities {depth_caps}, "
          f"keep fractions {[round(k, 4) for k in depth_keeps]}", flush=True)

    # Accuracy at T = RESULT_T, same episodes for every policy.
    gen = torch.Generator().manual_seed(2024)
    correct = {k: 0 for k in POLICIES}
    total = 0
    start = time.time()
    for _ in range(0, args.episodes, args.batch):
        frames, p, target = sq.make_batch(args.batch, RESULT_T, gen, pats)
        torch.set_num_threads(threads)
        with torch.no_grad():
            kv = model.encode(frames)
        del frames
        # The streaming loops are many small ops: one thread (no team wake-ups).
        torch.set_num_threads(1)
        for policy in POLICIES:
            rng = np.random.default_rng(total)
            cap, keep, kind = CAPACITY, KEEP, policy
            if policy == "adacm2-depth":
                cap, keep, kind = depth_caps, depth_keeps, "adacm2"
            pred, _ = sq.stream(model, kv, p, kind, cap, RECENT, keep, reducer, rng)
            correct[policy] += int((pred == target).sum())
        total += args.batch
    acc = {k: v / total for k, v in correct.items()}
    print(f"accuracy at T={RESULT_T} over {total} episodes (chance {1 / RESULT_T:.4f}; "
          f"{time.time() - start:.0f} s): " +
          " ".join(f"{k}={acc[k]:.4f}" for k in POLICIES), flush=True)

    # Peak bank memory and streaming latency vs T (one episode each).
    print(f"{'T':>6} {'full peak MiB':>14} {'adacm2 peak MiB':>16} {'reduction':>10} "
          f"{'depth peak MiB':>15} {'full ms/frame':>14} {'adacm2 ms/frame':>16}")
    peaks = {}
    for t in SWEEP_T:
        g = torch.Generator().manual_seed(t)
        frames, p, _ = sq.make_batch(1, t, g, pats)
        torch.set_num_threads(threads)
        with torch.no_grad():
            kv = model.encode(frames)
        torch.set_num_threads(1)
        row = {}
        for policy, cap, keep in (("full", CAPACITY, KEEP), ("adacm2", CAPACITY, KEEP),
                                  ("adacm2-depth", depth_caps, depth_keeps)):
            t0 = time.time()
            _, peak = sq.stream(model, kv, p, policy.split("-")[0], cap, RECENT, keep,
                                reducer, np.random.default_rng(0))
            row[policy] = (peak, (time.time() - t0) * 1e3 / t)
        peaks[t] = row
        print(f"{t:>6} {row['full'][0] / 2**20:>14.2f} {row['adacm2'][0] / 2**20:>16.2f} "
              f"{1 - row['adacm2'][0] / row['full'][0]:>10.4f} "
              f"{row['adacm2-depth'][0] / 2**20:>15.2f} {row['full'][1]:>14.2f} "
              f"{row['adacm2'][1]:>16.2f}", flush=True)
    r = peaks[RESULT_T]
    print("STREAM " + " ".join([
        f"stream_peak_reduction={1 - r['adacm2'][0] / r['full'][0]:.4f}",
        f"stream_accuracy_delta={acc['adacm2'] - acc['full']:.4f}",
        f"recent_only_accuracy_delta={acc['recent'] - acc['full']:.4f}",
        f"random_keep_accuracy_delta={acc['random'] - acc['full']:.4f}",
        f"depth_adaptive_accuracy_delta={acc['adacm2-depth'] - acc['full']:.4f}",
        f"stream_full_accuracy={acc['full']:.4f}"]))


if __name__ == "__main__":
    main()
