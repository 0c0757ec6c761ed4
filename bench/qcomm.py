#!/usr/bin/python3
"""bench/qcomm: SDP4Bit's quantized communication in sharded data-parallel
training, against full precision and ZeRO++, on the same training runs.

The character-level GPT of bench/train (4 layers, width 128, 4 heads,
sequence 128, byte vocabulary) is trained by lathe-train on the text of
Debian's fortunes package, 4 Open MPI ranks as 2 nodes x 2 ranks (loopback),
global batch 8 x 128 characters (2 per rank), AdamW with SDP4Bit's GPT
schedule (1% linear warm-up, cosine decay to a tenth of the peak; peak lr
3e-3), the same seed and data order, for 300 steps, under four communication
schemes:

  fp32     sharded data parallelism in full precision (reduce-scatter of the
           gradients, all-gather of the weights)
  sdp4bit  SDP4Bit: 4-bit weight differences (qWD, group 2048) + two-hop
           gradients, 8-bit inside the node (group 512) then 4-bit across
           nodes (group 128), Hadamard smoothing (TLq-HS)
  qw       SDP4Bit's ablation: the weights themselves at 4 bits (group 2048),
           gradients in full precision
  zeropp   ZeRO++: 8-bit weights (qwZ, group 2048) + 4-bit gradients on both
           hops (qgZ, group 128), no smoothing

Per scheme: the bits per value each rank hands to the weight all-gather and
to each gradient hop, and the bytes per step, all from the runtime's
counters (lathe-train's log), the validation loss at the end, the measured
step time on this machine (4 ranks on its cores: not the paper's regime),
and a modeled step time for the paper's regime: compute = the FLOPs of one
rank's step as Lathe counts them (the `flops` of lathe-train's log: the
step function before the CPU pipeline) at 150 TFLOP/s per rank,
communication = inter-node bytes at 100 or 25 Gb/s plus intra-node bytes at
300 GB/s, no overlap (a model, not a measurement). Then the quantization
kernels' throughput on the CPU's best instruction-set path
(lathe-quant-bench with LATHE_QUANT_ISA=native) beside a STREAM-like copy on
this machine. Every phase prints its elapsed time.

The schedule and peak learning rate were chosen on the fp32 run's own
validation loss only (never on a gap): LATHE_BENCH_QCOMM_LR_SWEEP=1 first
trains fp32 over the grid of FP32_SWEEP and prints its validation losses.
Measured (Intel Xeon, 2 cores, load 13-27): constant lr 3e-3 2.5731; cosine
peak 1.5e-3 2.5369, 3e-3 2.5308, 6e-3 2.5434 (docs/Dialects/QComm.md, "The
qW ablation").

Run from the repository root after the build: /usr/bin/python3 bench/qcomm.py
(LATHE_BENCH_QCOMM_STEPS changes the number of steps for a quick look).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import warnings

import h5py
import numpy as np
import torch

warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BenchError, cpu_name, load_average, table, tool  # noqa: E402
import train as tb  # noqa: E402  (the GPT and the fortunes data of bench/train)

STEPS = int(os.environ.get("LATHE_BENCH_QCOMM_STEPS", "300"))
RANKS, PER_NODE, BATCH, T = 4, 2, 8, tb.GPT_T
# SDP4Bit's GPT runs (Megatron-LM): linear warm-up over 1% of the steps,
# cosine decay to a tenth of the peak learning rate.
LR = 3e-3
SCHEDULE, WARMUP, MIN_LR = "cosine", max(1, STEPS // 100), LR / 10
# (schedule, peak lr) pairs of the optional fp32 sweep.
FP32_SWEEP = (("constant", 3e-3), ("cosine", 1.5e-3), ("cosine", 3e-3), ("cosine", 6e-3))
SCHEMES = ("fp32", "sdp4bit", "qw", "zeropp")
TFLOPS = 150e12           # accelerator rate of the model, per rank
INTER_GBPS = (100, 25)    # inter-node link, Gb/s
INTRA_BYTES_S = 300e9     # intra-node link (NVLink class), bytes/s


def log(msg):
    print(msg, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


def export_gpt(d):
    """The bench/train GPT with a static batch of BATCH / RANKS (per rank)."""
    torch.manual_seed(0)
    model = tb.GPT()
    model.train()
    example = torch.zeros(BATCH // RANKS, T, dtype=torch.long)
    torch.onnx.export(model, example, f"{d}/model.onnx", input_names=["x"],
                      output_names=["logits"], opset_version=14,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False)
    p = sh([tool("lathe-import-onnx"), f"{d}/model.onnx", f"--weights={d}/w.h5",
            "--all-float-weights", "-o", f"{d}/model.mlir"])
    if p.returncode != 0:
        raise BenchError(f"import: {p.stderr[-800:]}")
    names = []
    with h5py.File(f"{d}/w.h5") as f:
        f.visititems(lambda k, v: names.append(k) if isinstance(v, h5py.Dataset) else None)
    frozen = [k for k in names if k.endswith(".mask")]
    return frozen


def run_scheme(d, scheme, frozen, schedule=SCHEDULE, lr=LR):
    logf = f"{d}/{scheme}-{schedule}-{lr}.jsonl"
    cmd = [tool("lathe-train"), f"{d}/model.mlir", "--loss=cross-entropy",
           f"--freeze={','.join(frozen)}", f"--data={d}/train.h5",
           f"--val-data={d}/val.h5", "--shuffle=false", f"--batch={BATCH}",
           f"--steps={STEPS}", f"--lr={lr}", f"--schedule={schedule}",
           f"--warmup-steps={WARMUP}", f"--min-lr={lr / 10}", "--weight-decay=0.01", "--seed=0",
           f"--ranks={RANKS}", f"--ranks-per-node={PER_NODE}", f"--comm={scheme}",
           f"--log={logf}"]
    t0 = time.time()
    # Four ranks share the cores: on a loaded machine a rank can wait for a
    # descheduled peer longer than the runtime's default 20 s stall watchdog
    # (that happened at load 16), so the benchmark allows 300 s unless the
    # user set LATHE_COMM_TIMEOUT.
    env = dict(os.environ)
    env.setdefault("LATHE_COMM_TIMEOUT", "300")
    p = sh(cmd, timeout=1200, env=env)
    if p.returncode != 0:
        raise BenchError(f"lathe-train --comm={scheme} failed:\n{p.stdout[-800:]}\n"
                         f"{p.stderr[-1500:]}")
    wall = time.time() - t0
    entries = [json.loads(line) for line in open(logf)]
    steps = [e for e in entries if "step" in e]
    vals = [e for e in entries if "val_loss" in e]
    if len(steps) != STEPS or not vals:
        raise BenchError(f"{scheme}: {len(steps)} steps and {len(vals)} validations logged")
    # Bytes of one step by collective and grid axes (every step sends the
    # same: check, then take the last).
    def comm_of(e):
        return {(c["collective"], tuple(c["grid_axes"])): c["bytes"] for c in e["comm"]}
    per_step = comm_of(steps[-1])
    if any(comm_of(e) != per_step for e in steps):
        raise BenchError(f"{scheme}: bytes differ between steps")
    train_s = sum(e["ms"] for e in steps) / 1e3
    log(f"  --comm={scheme}: {wall:.0f} s ({train_s:.0f} s in the {STEPS} steps; the rest "
        f"compiling, starting the ranks and validating); load {load_average()}")
    return {"comm": per_step, "val_loss": vals[-1]["val_loss"],
            "loss": [e["loss"] for e in steps],
            "ms": statistics.median(e["ms"] for e in steps[1:]),
            "flops": steps[-1].get("flops"), "wall_s": wall}


def bits(r, shard, flat):
    """Bits per value on the wire: weights (S values per rank), gradient hop 1
    (L values per rank: the intra-node all-to-all, or the fp32 reduce-scatter)
    and hop 2 (L / ranks-per-node values: the inter-node all-to-all)."""
    c = r["comm"]
    w = 8 * c[("all_gather", (1, 0))] / shard
    if ("reduce_scatter", (1, 0)) in c:
        g1 = g2 = 8 * c[("reduce_scatter", (1, 0))] / flat
    else:
        g1 = 8 * c[("all_to_all", (1,))] / flat
        g2 = 8 * c[("all_to_all", (0,))] / (flat / PER_NODE)
    return w, g1, g2


def modeled_ms(r, flops, gbps):
    """Compute at TFLOPS per rank + inter-node bytes at `gbps` + intra-node
    bytes at INTRA_BYTES_S, no overlap. Collectives over the node axis (0) or
    over both axes cross the inter-node link; those over axis 1 only do not."""
    inter = sum(b for (_, axes), b in r["comm"].items() if 0 in axes)
    intra = sum(b for (_, axes), b in r["comm"].items() if 0 not in axes)
    return 1e3 * (flops / TFLOPS + inter * 8 / (gbps * 1e9) + intra / INTRA_BYTES_S)


def quant_kernels():
    exe = os.path.join(os.path.dirname(tool("lathe-run")), "lathe-quant-bench")
    if not os.path.exists(exe):
        return "lathe-quant-bench not built"
    # 512 MiB: larger than the last-level caches of the machines this runs on,
    # so the copy measures memory bandwidth (the tool says when it does not).
    # Only the best instruction-set path the CPU has (the narrower paths,
    # which the tool compares otherwise, take twice as long and are not
    # reported here).
    p = sh([exe, "512"], timeout=400, env=dict(os.environ, LATHE_QUANT_ISA="native"))
    if p.returncode != 0:
        return f"failed: {p.stderr[-400:]}"
    lines = (p.stdout + p.stderr).strip().splitlines()
    # The header, the copies and the best instruction-set path (the first one
    # listed; the only one with LATHE_QUANT_ISA=native).
    isas = [w.split("=")[1] for line in lines for w in line.split() if w.startswith("isa=")]
    best = next((i for i in isas if i != "-"), None)
    return "\n".join(line for line in lines
                     if "isa=" not in line or "isa=-" in line or f"isa={best}" in line)


def main():
    t_start = time.time()
    log(f"bench/qcomm on {cpu_name()}, {os.cpu_count()} CPUs, load {load_average()}")
    tmp = tempfile.mkdtemp(prefix="lathe-bench-qcomm-")
    try:
        frozen = export_gpt(tmp)
        train, val, nfiles = tb.fortunes_text()
        rng = np.random.default_rng(0)
        x, y = tb.windows(train, STEPS * BATCH, rng)
        vx, vy = tb.windows(val, 16 * BATCH, rng)
        with h5py.File(f"{tmp}/train.h5", "w") as f:
            f["x"], f["labels"] = x, y
        with h5py.File(f"{tmp}/val.h5", "w") as f:
            f["x"], f["labels"] = vx, vy
        log(f"char GPT, {STEPS} steps of {BATCH} x {T} bytes on {RANKS} ranks "
            f"({RANKS // PER_NODE} nodes x {PER_NODE}); {len(train)} train / {len(val)} "
            f"validation bytes from {nfiles} fortunes files "
            f"({time.time() - t_start:.0f} s so far)")
        total = 0
        with h5py.File(f"{tmp}/w.h5") as f:
            def count(name, obj):
                nonlocal total
                if isinstance(obj, h5py.Dataset) and not name.endswith(".mask"):
                    total += obj.size
            f.visititems(count)
        if os.environ.get("LATHE_BENCH_QCOMM_LR_SWEEP") == "1":
            rows = []
            for schedule, lr in FP32_SWEEP:
                log(f"fp32 sweep: {schedule} lr {lr:g} ...")
                r = run_scheme(tmp, "fp32", frozen, schedule, lr)
                rows.append([schedule, f"{lr:g}", f"{r['val_loss']:.4f}"])
            table(["schedule", "peak lr", "fp32 val loss"], rows,
                  title=f"fp32 sweep ({STEPS} steps; load {load_average()})")
        log(f"schedule: {SCHEDULE}, peak lr {LR:g}, warm-up {WARMUP} steps, final lr {MIN_LR:g}")
        results = {}
        for scheme in SCHEMES:
            log(f"training with --comm={scheme} ...")
            results[scheme] = run_scheme(tmp, scheme, frozen)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    flops = results["fp32"]["flops"]
    if not flops:
        raise BenchError("lathe-train logged no FLOP count for the fp32 step")

    shard = results["fp32"]["comm"][("all_gather", (1, 0))] / 4
    flat = shard * RANKS
    rows, summary = [], {}
    for scheme, r in results.items():
        w, g1, g2 = bits(r, shard, flat)
        step_bytes = sum(r["comm"].values())
        m100, m25 = (modeled_ms(r, flops, g) for g in INTER_GBPS)
        summary[scheme] = dict(w=w, g1=g1, g2=g2, bytes=step_bytes, m25=m25, m100=m100)
        rows.append([scheme, f"{w:.3f}", f"{g1:.3f}", f"{g2:.3f}", f"{step_bytes:,}",
                     f"{r['val_loss']:.4f}", f"{r['ms']:.1f}", f"{m100:.3f}", f"{m25:.3f}"])
    table(["scheme", "weight bits", "grad hop-1 bits", "grad hop-2 bits", "bytes/step/rank",
           "val loss", "ms/step (here)", "model ms @100Gb/s", "model ms @25Gb/s"], rows,
          title=f"{total:,} parameters; shard {int(shard):,} values per rank; counted "
                f"{flops / 1e9:.2f} GFLOP per rank-step")
    print(f"model: compute {flops / 1e9:.2f} GFLOP at {TFLOPS / 1e12:.0f} TFLOP/s per rank; "
          f"collectives over the node axis at 100 or 25 Gb/s, intra-node at "
          f"{INTRA_BYTES_S / 1e9:.0f} GB/s; bytes as handed to the collectives (the "
          f"runtime's counters); no overlap of compute and communication")
    t_kernels = time.time()
    print("quantization kernels on this machine (lathe-quant-bench 512: GB/s read + written):")
    print(quant_kernels())
    print(f"({time.time() - t_kernels:.0f} s for the kernels)")
    base = results["fp32"]["val_loss"]
    gap = {s: (results[s]["val_loss"] - base) / base for s in SCHEMES}
    sdp = summary["sdp4bit"]
    print(f"({time.time() - t_start:.0f} s in all; load {load_average()})")
    print("RESULT " + " ".join([
        f"weight_bits={sdp['w']:.3f}",
        f"grad_intra_bits={sdp['g1']:.3f}",
        f"grad_inter_bits={sdp['g2']:.3f}",
        f"comm_bytes_ratio={summary['fp32']['bytes'] / sdp['bytes']:.3f}",
        f"sdp4bit_loss_gap={gap['sdp4bit']:.4f}",
        f"qw_loss_gap={gap['qw']:.4f}",
        f"zeropp_loss_gap={gap['zeropp']:.4f}",
        f"modeled_speedup_25gbps={summary['fp32']['m25'] / sdp['m25']:.3f}"]))


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"bench/qcomm: error: {e}", file=sys.stderr)
        sys.exit(1)
