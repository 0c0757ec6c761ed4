#!/usr/bin/python3
"""The AdaCM² part of bench/memred: accuracy versus memory on the video-question task.

    videoqa_bench.py [--tmp DIR] [--episodes N]

Task and model: scripts/memred/videoqa.py (its docstring). The weights come from
$LATHE_BUILD_DIR/memred/videoqa-<hash>.npz (hash of videoqa.py and its settings), trained
there first when missing (PyTorch, answer cross-entropy only, all frames in memory).

Everything below is run by Lathe: videoqa.py gen writes the streaming model for all N
evaluation episodes as one MLIR module (an scf.for over episodes around the scf.for over
frames; weights and episodes are lathe-run inputs); `lathe-opt
--memred-bound-memory{budget=B policy=P seed=1}` turns each layer's growing cache into a
memred.bank_append bank of the capacity the budget allows (recent = keep = 0.1, depth-decay
0.75: the pass's defaults, AdaCM²'s reported setting); `lathe-run --report` runs it and
reports the decisions (capacities) and the runtime allocator's peak.

  full         a budget that holds every frame (the pass caps each bank at the whole
               stream, so no reduction runs): checked first against PyTorch's forward
  adacm2       keep the newest 10% + the top 10% of the older rows by the queries'
               cross-attention (summed over query rows)
  recent_only  the newest rows, as many as the others keep
  random_keep  the newest 10% + older rows drawn at random (seed 1, anew every frame)
  merge        MA-LMM: average the most cosine-similar adjacent rows until as many remain

All policies of a budget keep the same number of rows at each reduction; the capacities
differ only by each policy's reduction scratch, which the budget also pays for (printed).
Accuracy over the same N episodes for every run, with 95% Wilson intervals.
Prints the table and `STREAM key=value ...` for bench/memred.py.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import videoqa as vq  # noqa: E402

BUDGETS_KIB = [2, 4, 8, 16, 24]
FULL_BUDGET = "64MiB"
POLICIES = [("adacm2", "adacm2"), ("recent", "recent_only"), ("random", "random_keep"),
            ("merge", "merge")]
SEED = 1


def tool(name):
    return os.path.join(vq.build_dir(), "bin", name)


def run(cmd, what):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"videoqa_bench: {what} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p.stdout


def wilson(k, n, z=1.96):
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return p, mid - half, mid + half


def lathe(tmp, module, data, wdir, budget, policy, tag):
    bounded = os.path.join(tmp, f"{tag}.mlir")
    run([tool("lathe-opt"), module, "--pass-pipeline=builtin.module(func.func("
         f"memred-bound-memory{{budget={budget} policy={policy} seed={SEED}}}))", "-o", bounded],
        f"lathe-opt memred-bound-memory ({tag})")
    out, rep = os.path.join(tmp, f"{tag}.npy"), os.path.join(tmp, f"{tag}.json")
    inputs = [f"--input={data}/frames.npy", f"--input={data}/text.npy"]
    inputs += [f"--input={p}" for p in vq.weight_inputs(wdir, vq.FULL)]
    t0 = time.time()
    run([tool("lathe-run"), bounded, *inputs, f"--output={out}", "--repeat=0",
         f"--report={rep}"], f"lathe-run ({tag})")
    wall = time.time() - t0
    report = json.load(open(rep))
    layers = vq.layers_from_report(rep, vq.FULL["layers"])
    return np.load(out), layers, report["peak_memory_bytes"], wall


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tmp", default=None)
    parser.add_argument("--episodes", type=int, default=512)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="videoqa-", dir=args.tmp)
    cfg = vq.FULL
    start = time.time()
    w, path, trained = vq.load_or_train(cfg, log=lambda m: print(m, flush=True))
    print(f"weights: {path} ({'trained now' if trained else 'cached'}, "
          f"{time.time() - start:.0f} s)", flush=True)
    wdir, data = os.path.join(tmp, "w"), os.path.join(tmp, "data")
    vq.save_weights(w, wdir, cfg)
    vq.save_episodes(data, args.episodes, 7, cfg)
    ans = np.load(f"{data}/answers.npy")
    qtype = np.load(f"{data}/qtype.npy")
    target = np.load(f"{data}/target.npy")
    module = os.path.join(tmp, "stream.mlir")
    with open(module, "w") as f:
        f.write(vq.generate(args.episodes, cfg))
    n, t_, f_ = args.episodes, cfg["frames"], cfg["tokens"]
    print(f"video QA: {n} episodes of T={t_} frames x {f_} tokens (D={cfg['feat']}), "
          f"model width {cfg['width']}, {cfg['queries']}+2 query rows, {cfg['layers']} layers; "
          f"questions colour / shape / order, chance (knowing the type) "
          f"{(1 / cfg['colors'] + 1 / cfg['shapes'] + 0.5) / 3:.3f}", flush=True)

    # Full memory, against PyTorch first.
    full, layers, full_peak, wall = lathe(tmp, module, data, wdir, FULL_BUDGET, "adacm2", "full")
    caps = [d["capacity"] for d in layers]
    if caps != [t_ * f_] * cfg["layers"]:
        sys.exit(f"videoqa_bench: the full-memory budget gave capacities {caps}, not the whole "
                 f"stream ({t_ * f_} rows)")
    import torch
    with torch.no_grad():
        ref = vq.forward_full(torch, {k: torch.tensor(v) for k, v in w.items()},
                              torch.tensor(np.load(f"{data}/frames.npy")),
                              torch.tensor(np.load(f"{data}/text.npy")), cfg).numpy()
    err = float(np.abs(full - ref).max() / np.abs(ref).max())
    agree = float((full.argmax(-1) == ref.argmax(-1)).mean())
    print(f"full memory: Lathe (lathe-run, banks of the whole stream) vs PyTorch forward: "
          f"max |diff| / max |ref| = {err:.2e}, same answer on {agree:.4f} of the episodes "
          f"({wall:.1f} s for {n} episodes)", flush=True)
    if err > 1e-4:
        sys.exit(f"videoqa_bench: Lathe's full-memory logits differ from PyTorch's ({err:.2e})")
    full_ok = full.argmax(-1) == ans
    p, lo, hi = wilson(int(full_ok.sum()), n)
    per_type = " ".join(f"{name} {full_ok[qtype == k].mean():.3f}"
                        for k, name in enumerate(["colour", "shape", "order"]))
    print(f"full-memory accuracy {p:.3f} [{lo:.3f}, {hi:.3f}] ({per_type}); peak "
          f"{full_peak / 1024:.1f} KiB", flush=True)
    fields = {"full_acc": f"{p:.4f}"}

    rows = []
    for kib in BUDGETS_KIB:
        row = dict(kib=kib, res={})
        for policy, key in POLICIES:
            out, layers, peak, wall = lathe(tmp, module, data, wdir, f"{kib}KiB", policy,
                                            f"{policy}{kib}")
            ok = out.argmax(-1) == ans
            row["res"][key] = dict(acc=wilson(int(ok.sum()), n), ok=ok, peak=peak, wall=wall,
                                   caps=[d["capacity"] for d in layers])
            fields[f"{key}_acc_at_{kib}KiB"] = f"{ok.mean():.4f}"
        rows.append(row)
        print(f"  budget {kib} KiB done ({time.time() - start:.0f} s)", flush=True)

    print(f"\naccuracy over {n} episodes [95% Wilson interval]; caps = bank rows of layers "
          f"0/1 (whole stream: {t_ * f_}); full memory {p:.3f} [{lo:.3f}, {hi:.3f}]")
    head = f"{'budget':>7} " + " ".join(f"{key:>27}" for _, key in POLICIES)
    print(head)
    for row in rows:
        cells = []
        for _, key in POLICIES:
            a, l, h = row["res"][key]["acc"]
            cells.append(f"{a:.3f} [{l:.3f},{h:.3f}] {'/'.join(map(str, row['res'][key]['caps'])):>7}")
        print(f"{row['kib']:>4} KiB " + " ".join(f"{c:>27}" for c in cells))
    print("\nrecall by where the target frame lies (colour and shape questions; share of "
          "the stream from its end):")
    attr = qtype < 2
    age = (t_ - 1 - target) / t_
    bins = [(0, 0.25), (0.25, 0.5), (0.5, 1.01)]
    print(f"{'budget':>7} {'policy':>12} " + " ".join(f"{f'{a:.2f}-{min(b, 1):.2f}':>10}"
                                                      for a, b in bins))
    for row in rows:
        for _, key in POLICIES:
            ok = row["res"][key]["ok"]
            cells = [f"{ok[attr & (age >= a) & (age < b)].mean():.3f}" for a, b in bins]
            print(f"{row['kib']:>4} KiB {key:>12} " + " ".join(f"{c:>10}" for c in cells))
    print(f"{'full':>7} {'':>12} " + " ".join(
        f"{full_ok[attr & (age >= a) & (age < b)].mean():>10.3f}" for a, b in bins))
    print("\npeak memory (runtime allocator high-water mark, KiB) per budget and policy: " +
          "; ".join(f"{row['kib']} KiB: " + " ".join(
              f"{key} {row['res'][key]['peak'] / 1024:.1f}" for _, key in POLICIES)
              for row in rows) + f"; full {full_peak / 1024:.1f}")
    fields["stream_lathe_vs_torch_err"] = f"{err:.2e}"
    print(f"(video QA part: {time.time() - start:.0f} s)")
    print("STREAM " + " ".join(f"{k}={v}" for k, v in fields.items()))


if __name__ == "__main__":
    main()
