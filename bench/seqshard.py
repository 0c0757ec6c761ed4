#!/usr/bin/python3
"""bench/seqshard: DeepSpeed-Ulysses sequence parallelism (seqshard-ulysses)
on Open MPI ranks (loopback), against the same model on one rank.

The model: a pre-LN transformer stack, 2 layers, hidden h = 256 as 8 heads x
32, batch 1, written as linalg on tensors with random weights from a seed
(test/e2e/Inputs/seqshard_model.py; bidirectional attention, since a causal
mask as a dense [N, N] constant is 1 GiB at N = 16k), compiled by Lathe with
memred's chunked attention (memred-bound-memory, 4 MiB of scratch per
attention) as the local attention.

  (a) forward outputs at P = 2 and 4 against P = 1 for N = 1k ... 16k
      (max|a - b| / max|b|);
  (b) the bytes each rank hands to the all-to-alls (the runtime's counters,
      lathe-run's report) against 16 * N * h / P bytes per attention layer
      (4 all-to-alls of N/P * h f32 values, own block included), and along
      the diagonal (N, P) = (4k, 1), (8k, 2), (16k, 4), where they must stay
      constant; beside them what a Megatron-style sequence-parallel layer
      moves (all-gather + reduce-scatter of the full N * h activations twice
      per layer: 16 * N * h bytes whatever P, a formula);
  (c) peak memory per rank (the runtime allocator's peak_memory_bytes, rank
      0, weights included) at P = 1, 2, 4 for the longest sequence;
  (d) the all-to-alls quantized by qcomm (seqshard-ulysses quantize=8,
      groups of 128, without and with the Hadamard transform) at N = 4k,
      P = 2: the counted all-to-all bytes against the f32 run's
      (quant_a2a_bytes_ratio; (8 + 32/128) / 32 = 0.258 expected) and the
      output's error against P = 1 in f32;
  (e) training: the loss mean((y - t)^2) of the same model at N = 1024 with
      its weights as lathe.param arguments (seqshard_model.py --train),
      sharded (P = 2, 4) then differentiated (lathe-differentiate: the
      output all-gather's adjoint is the rank's slice, the weight gradients
      are all-reduced), 20 SGD steps each one lathe-run of @loss_grad, the
      losses against single-rank training of the unsharded loss.

Run from the repository root after the build: /usr/bin/python3 bench/seqshard.py
(LATHE_BENCH_SEQSHARD_MAX_N caps the longest sequence for a quick look).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, BenchError, cpu_name, load_average, table, tool  # noqa: E402

MODEL = os.path.join(ROOT, "test", "e2e", "Inputs", "seqshard_model.py")
LAYERS, HIDDEN, HEADS, BATCH = 2, 256, 8, 1
MAX_N = int(os.environ.get("LATHE_BENCH_SEQSHARD_MAX_N", "16384"))
SEQS = [n for n in (1024, 2048, 4096, 8192, 16384) if n <= MAX_N]
DEGREES = (1, 2, 4)
# The quantized all-to-alls: one (N, P) point, 8 bits in groups of 128.
QUANT_N, QUANT_P = min(4096, max(SEQS)), 2
QUANTS = (("8-bit, group 128", "quantize=8 quant-group-size=128"),
          ("8-bit, group 128, hadamard", "quantize=8 quant-group-size=128 hadamard=true"))
TRAIN_N = 1024
TRAIN_STEPS = int(os.environ.get("LATHE_BENCH_SEQSHARD_TRAIN_STEPS", "20"))


def log(msg):
    print(msg, flush=True)


def sh(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if p.returncode != 0:
        raise BenchError(f"{' '.join(cmd[:3])} ... failed:\n{p.stderr[-1500:]}")
    return p


def build_model(d, n):
    sh(["/usr/bin/python3", MODEL, d, f"--layers={LAYERS}", f"--batch={BATCH}",
        f"--seq={n}", f"--hidden={HIDDEN}", f"--heads={HEADS}", "--seed=0", "--mask=none",
        "--no-ref"])


def run(d, n, p, quant=""):
    """Compiles the model sharded over p ranks with chunked attention (and
    the seqshard-ulysses quantization options `quant`) and runs it once;
    returns (output, report)."""
    tag = f"n{n}_p{p}" + "".join("_" + o.replace("=", "") for o in quant.split())
    sh([tool("lathe-opt"), f"{d}/model.mlir", f"--seqshard-ulysses=degree={p} {quant}".strip(),
        "--memred-bound-memory=budget=4MiB", "-o", f"{d}/{tag}.mlir"])
    cmd = [tool("lathe-run"), f"{d}/{tag}.mlir", f"--input={d}/x.npy",
           f"--output={d}/{tag}.npy", f"--report={d}/{tag}.json", "--repeat=1", "--no-cache"]
    if p > 1:
        cmd.insert(2, f"--ranks={p}")
    sh(cmd, timeout=1200)
    return np.load(f"{d}/{tag}.npy"), json.load(open(f"{d}/{tag}.json"))


def train(tmp):
    """TRAIN_STEPS SGD steps at N = TRAIN_N on P = 1, 2, 4 ranks; returns the
    losses per P."""
    d = os.path.join(tmp, "train")
    os.makedirs(d)
    sh(["/usr/bin/python3", MODEL, d, "--train", f"--layers={LAYERS}", f"--batch={BATCH}",
        f"--seq={TRAIN_N}", f"--hidden={HIDDEN}", f"--heads={HEADS}", "--seed=0", "--mask=none"])
    nparams = int(open(f"{d}/params.txt").read())
    losses = {}
    for p in DEGREES:
        shard = [f"--seqshard-ulysses=degree={p} function=loss seq-arg={nparams}"] if p > 1 else []
        sh([tool("lathe-opt"), f"{d}/model.mlir"] + shard + ["--lathe-differentiate",
           "-o", f"{d}/grad{p}.mlir"])
        work = f"{d}/p{p}"
        os.makedirs(work)
        t = time.time()
        sh(["/usr/bin/python3", MODEL, d, "--sgd", f"{d}/grad{p}.mlir", f"--ranks={p}",
            f"--steps={TRAIN_STEPS}", "--lr=0.1", f"--work={work}",
            f"--lathe-run={tool('lathe-run')}"], timeout=600)
        losses[p] = np.load(f"{work}/losses.npy")
        log(f"  training N = {TRAIN_N}, P = {p}: losses {losses[p][0]:.6f} -> "
            f"{losses[p][-1]:.6f} ({time.time() - t:.0f} s)")
    return losses


def a2a_bytes(report):
    return sum(c["bytes"] for c in report.get("comm", []) if c["collective"] == "all_to_all")


def main():
    t0 = time.time()
    log(f"bench/seqshard on {cpu_name()}, {os.cpu_count()} CPUs, load {load_average()}")
    log(f"transformer: {LAYERS} layers, h = {HIDDEN} ({HEADS} heads x {HIDDEN // HEADS}), "
        f"batch {BATCH}, N = {', '.join(str(n) for n in SEQS)}; P = {DEGREES} ranks")
    tmp = tempfile.mkdtemp(prefix="lathe-bench-seqshard-")
    rows, errs, bytes_at, peak_at = [], {2: 0.0, 4: 0.0}, {}, {}
    worst_formula = 0.0
    quant_rows, quant_ratio = [], float("nan")
    try:
        for n in SEQS:
            d = os.path.join(tmp, f"n{n}")
            os.makedirs(d)
            build_model(d, n)
            base = None
            for p in DEGREES:
                if n % p:
                    continue
                t = time.time()
                out, rep = run(d, n, p)
                wall = time.time() - t
                if base is None:
                    base = out
                err = float(np.abs(out - base).max() / np.abs(base).max())
                if p in errs:
                    errs[p] = max(errs[p], err)
                got = a2a_bytes(rep)
                formula = LAYERS * 16 * BATCH * n * HIDDEN // p
                worst_formula = max(worst_formula, abs(got - formula) / formula)
                bytes_at[(n, p)] = got
                peak_at[(n, p)] = rep.get("peak_memory_bytes", float("nan"))
                rows.append([n, p, f"{err:.2e}", f"{got:,}", f"{formula:,}",
                             f"{LAYERS * 16 * BATCH * n * HIDDEN:,}",
                             f"{peak_at[(n, p)] / 2**20:.1f}",
                             f"{rep['latency_ms']['median']:.0f}", f"{wall:.1f}"])
                log(f"  N = {n}, P = {p}: rel err {err:.2e}, a2a {got:,} bytes, "
                    f"peak {peak_at[(n, p)] / 2**20:.1f} MiB")
            if n == QUANT_N and (n, QUANT_P) in bytes_at:
                for name, opts in QUANTS:
                    out, rep = run(d, n, QUANT_P, opts)
                    err = float(np.abs(out - base).max() / np.abs(base).max())
                    got = a2a_bytes(rep)
                    ratio = got / bytes_at[(n, QUANT_P)]
                    if "hadamard" not in opts:
                        quant_ratio = ratio
                    quant_rows.append([n, QUANT_P, name, f"{err:.2e}", f"{got:,}",
                                       f"{bytes_at[(n, QUANT_P)]:,}", f"{ratio:.4f}"])
                    log(f"  N = {n}, P = {QUANT_P}, {name}: rel err {err:.2e}, "
                        f"a2a {got:,} bytes ({ratio:.4f} of f32)")
        losses = train(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    train_diff = max(float(np.max(np.abs(losses[p] - losses[1]) / np.abs(losses[1])))
                     for p in (2, 4))

    table(["N", "P", "max rel err vs P=1", "a2a bytes/rank (counted)", "formula 16Nh/P",
           "Megatron-SP bytes (formula)", "peak MiB/rank", "ms (here)", "wall s"], rows,
          title="forward; bytes per rank for all layers; peak memory of rank 0")
    table(["N", "P", "all-to-alls", "max rel err vs P=1 (f32)", "a2a bytes/rank (counted)",
           "f32 a2a bytes/rank", "ratio"], quant_rows,
          title="quantized all-to-alls (qcomm bytes + f32 scales per group)")
    diagonal = [(4096, 1), (8192, 2), (16384, 4)]
    diag = [bytes_at[k] for k in diagonal if k in bytes_at]
    constant = max(diag) / min(diag) if len(diag) == 3 else float("nan")
    nmax = max(SEQS)
    peak_ratio = (peak_at.get((nmax, 4), float("nan")) / peak_at[(nmax, 1)]
                  if (nmax, 1) in peak_at else float("nan"))
    print(f"training: {TRAIN_STEPS} SGD steps at N = {TRAIN_N}; losses of P = 1: "
          + " ".join(f"{l:.6f}" for l in losses[1]))
    print("the P ranks share this machine's cores: times are not the method's speed-up")
    print(f"({time.time() - t0:.0f} s in all; load {load_average()})")
    print("RESULT " + " ".join([
        f"max_rel_err_p2={errs[2]:.3g}",
        f"max_rel_err_p4={errs[4]:.3g}",
        f"train_loss_max_rel_diff={train_diff:.3g}",
        f"a2a_bytes_vs_formula={1 + worst_formula:.4f}",
        f"bytes_constant_ratio={constant:.4f}",
        f"peak_mem_per_rank_ratio_p4={peak_ratio:.3f}",
        f"quant_a2a_bytes_ratio={quant_ratio:.4f}",
        f"quant_max_rel_err={float(quant_rows[0][3]) if quant_rows else float('nan'):.3g}"]))


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"bench/seqshard: error: {e}", file=sys.stderr)
        sys.exit(1)
