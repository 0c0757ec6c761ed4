#!/usr/bin/python3
"""memred benchmark: naive vs chunked attention, and AdaCM² on a video-question task.

(Lathe's attention against real peers — JAX and onnxruntime, multiple heads, mask and pair
bias — is bench/attention.py.)

usage (from the repository root, after the build):  /usr/bin/python3 bench/memred.py
      (or bench/memred; tools from $LATHE_BUILD_DIR, else ./build)

Attention, L = 1k ... 16k (one head, D = 64, f32; Q, K, V are function arguments filled by
lathe-run --fill-missing with the same seed for both paths):
  naive    the generated module (scripts/memred/gen_attention.py: batch_matmul with K
           transposed by indexing_maps, scale generic, linalg.softmax, batch_matmul) through
           the CPU pipeline WITHOUT memred-raise-attention: oneDNN matmuls and softmax, the
           L x L scores materialised (twice: scaled scores and probabilities).
  chunked  the same module after `lathe-opt --memred-raise-attention
           --memred-bound-memory{budget=16MiB}` (the decision, with its chunk sizes, is printed),
           through the default CPU pipeline: one lathe_rt_chunked_attention_f32 call.
Both through lathe-run --report: latency = lathe-run's median over --repeat timed calls after
a warm-up; peak = the runtime allocator's high-water mark (every buffer generated code and the
runtime allocate; caller-owned inputs are not counted). Error = max|chunked - naive| /
max|naive| on the same inputs.

IR stream (scripts/memred/gen_stream.py): the streaming loop written in MLIR, an scf.for
over T frames with 3 layers whose caches of 32 visual tokens per frame (width 64, 9 query
rows, random weights) grow by tensor.concat, each read by cross-attention. banked =
after `memred-bound-memory{budget=IR_BUDGET}` (memred.bank_append banks, recent 0.1, keep
0.1 in layer 0, less deeper); unbounded = the same module with the caches growing (its loop
returns new allocations, so it is bufferized with allow-return-allocs-from-loops). Both run
by lathe-run on the same random inputs: peak = the runtime allocator's high-water mark of
the whole program, latency = one timed call after the warm-up, for T = 64 ... 1024 (the
unbounded one up to 512, timed up to 128: it copies its caches every frame). The banked
outputs are checked against the numpy model scripts/memred/stream_ref.py at T = 64.
stream_peak_reduction in the RESULT line is this measurement at T = 512.

AdaCM² accuracy (scripts/memred/videoqa_bench.py, see its docstring and videoqa.py's): a
procedurally generated video-question task (colour / shape of the object when an event
happened, order of two events; targets uniform over the stream), a streaming Q-Former-style
model trained with the answer's cross-entropy only (PyTorch; weights cached in
$LATHE_BUILD_DIR/memred/, trained on the first run), compiled by Lathe: one MLIR module runs
all 512 evaluation episodes (an episode loop around the frame loop), memred-bound-memory
bounds each layer's cache with a budget and a policy (adacm2, recent, random, merge), and
lathe-run runs it. The full-memory run is checked against PyTorch first. Accuracy with 95%
Wilson intervals at 5 budgets for the four policies, plus full memory.

The RESULT line is taken at L = 8192 and T = 512 (stream_peak_reduction), and the budgets of
videoqa_bench.py:
  RESULT attn_peak_reduction=... attn_max_rel_err=... attn_speedup=... stream_peak_reduction=...
         full_acc=... adacm2_acc_at_2KiB=... recent_only_acc_at_2KiB=...
         random_keep_acc_at_2KiB=... merge_acc_at_2KiB=... (and 4, 8, 16, 24 KiB)
(stream fields are `nan`, with the reason printed, when the stream part fails).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, BenchError, tool  # noqa: E402

SEQS = [1024, 2048, 4096, 8192, 16384]
RESULT_SEQ = 8192
RESULT_T = 512
BUDGET = "16MiB"
DIM = 64


def repeats(seq):
    return 5 if seq <= 2048 else 3 if seq <= 8192 else 1


def naive_pipeline():
    """The CPU pipeline without memred-raise-attention in its kernels phase (the pipeline's
    raise-attention option)."""
    return "builtin.module(lathe-cpu-pipeline{raise-attention=false})"


def run(cmd, what):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise BenchError(f"{what} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p.stdout


def lathe_run(module, out, report, repeat, pipeline=None):
    cmd = [tool("lathe-run"), module, "--fill-missing", "--seed=7", f"--output={out}",
           f"--repeat={repeat}", f"--report={report}"]
    if pipeline:
        cmd.append(f"--pass-pipeline={pipeline}")
    run(cmd, f"lathe-run {os.path.basename(module)}")
    r = json.load(open(report))
    return r["latency_ms"]["median"], r["peak_memory_bytes"], r


def attention(tmp):
    gen = os.path.join(ROOT, "scripts", "memred", "gen_attention.py")
    naive = naive_pipeline()
    rows = []
    print(f"attention: 1 head, D={DIM}, f32; budget {BUDGET} for memred-bound-memory")
    print(f"{'L':>6} {'naive ms':>10} {'chunked ms':>11} {'speedup':>8} {'naive peak MiB':>15} "
          f"{'chunked peak MiB':>17} {'peak red.':>10} {'max rel err':>12}  chunks")
    for seq in SEQS:
        src = os.path.join(tmp, f"attn_{seq}.mlir")
        run([sys.executable, gen, src, "--seq", str(seq), "--dim", str(DIM)], "gen_attention")
        bounded = os.path.join(tmp, f"attn_{seq}_bounded.mlir")
        run([tool("lathe-opt"), src, "--pass-pipeline=builtin.module(func.func("
             f"memred-raise-attention,memred-bound-memory{{budget={BUDGET}}}))", "-o", bounded],
            "lathe-opt memred-raise-attention,memred-bound-memory")
        ir = open(bounded).read()
        m = re.search(r"chunks\((\d+), (\d+)\)", ir)
        chunks = (f"{m.group(1)}x{m.group(2)}" if m else
                  "fits budget: memred.attention, runtime default 64x256")
        rep = repeats(seq)
        n_out, c_out = os.path.join(tmp, "naive.npy"), os.path.join(tmp, "chunked.npy")
        n_ms, n_peak, _ = lathe_run(src, n_out, os.path.join(tmp, "n.json"), rep, naive)
        c_ms, c_peak, c_rep = lathe_run(bounded, c_out, os.path.join(tmp, "c.json"), rep)
        if "attention" not in c_rep["kernels"]:
            raise BenchError(f"L={seq}: the chunked module made no attention kernel call")
        a, b = np.load(n_out).astype(np.float64), np.load(c_out).astype(np.float64)
        err = float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30))
        row = dict(seq=seq, naive_ms=n_ms, chunked_ms=c_ms, naive_peak=n_peak,
                   chunked_peak=c_peak, err=err, chunks=chunks,
                   decisions=c_rep.get("decisions", []))
        rows.append(row)
        print(f"{seq:>6} {n_ms:>10.1f} {c_ms:>11.1f} {n_ms / c_ms:>8.2f} {n_peak / 2**20:>15.1f} "
              f"{c_peak / 2**20:>17.2f} {1 - c_peak / n_peak:>10.4f} {err:>12.2e}  {chunks}",
              flush=True)
    return rows


def stream(tmp):
    """The AdaCM² part (scripts/memred/videoqa_bench.py): returns a dict of RESULT fields."""
    script = os.path.join(ROOT, "scripts", "memred", "videoqa_bench.py")
    p = subprocess.run([sys.executable, script, "--tmp", tmp], text=True, capture_output=True)
    sys.stdout.write(p.stdout)
    if p.returncode != 0:
        print(f"stream: {os.path.basename(script)} failed ({p.returncode}): stream fields are "
              f"nan\n{p.stderr[-2000:]}")
        return {}
    m = re.search(r"^STREAM (.*)$", p.stdout, re.M)
    return dict(kv.split("=") for kv in m.group(1).split()) if m else {}


# The budgets of scripts/memred/videoqa_bench.py (its RESULT keys).
STREAM_BUDGETS_KIB = [2, 4, 8, 16, 24]


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return "unknown"


IR_T = [64, 128, 256, 512, 1024]
IR_UNBOUNDED_MAX_T = 512
IR_UNBOUNDED_TIMED_MAX_T = 128
IR_BUDGET = "512KiB"
IR_DIMS = ["--tokens", "32", "--width", "64", "--queries", "9", "--layers", "3"]
UNBOUNDED_PIPELINE = (
    "builtin.module(lathe-cpu-import,lathe-cpu-kernels,one-shot-bufferize{"
    "bufferize-function-boundaries=true function-boundary-type-conversion=identity-layout-map "
    "allow-return-allocs-from-loops=true},buffer-deallocation-pipeline,"
    "convert-bufferization-to-memref,canonicalize,lathe-cpu-runtime-calls,lathe-cpu-loops,"
    "lathe-cpu-llvm)")


def ir_stream(tmp):
    """The streaming loop in MLIR through lathe-run, banked vs unbounded: peak per T."""
    gen = os.path.join(ROOT, "scripts", "memred", "gen_stream.py")
    ref = os.path.join(ROOT, "scripts", "memred", "stream_ref.py")
    print(f"IR stream (gen_stream.py {' '.join(IR_DIMS)}; banked = memred-bound-memory"
          f"{{budget={IR_BUDGET}}}), lathe-run, peak = runtime high-water mark:")
    print(f"{'T':>6} {'unbounded peak MiB':>19} {'banked peak MiB':>16} {'estimate MiB':>13} "
          f"{'unbounded ms/frame':>19} {'banked ms/frame':>16} {'peak red.':>10}")
    rows = {}
    for t in IR_T:
        data = os.path.join(tmp, f"ir{t}")
        run([sys.executable, ref, "make", data, "--frames", str(t), *IR_DIMS,
             "--seed", str(t)], "stream_ref make")
        inputs = [f"--input={data}/{n}.npy" for n in ("frames", "query", "w")]
        src = os.path.join(tmp, f"ir{t}.mlir")
        run([sys.executable, gen, src, "--frames", str(t), *IR_DIMS], "gen_stream")
        banked = os.path.join(tmp, f"ir{t}_banked.mlir")
        run([tool("lathe-opt"), src, "--pass-pipeline=builtin.module(func.func("
             f"memred-bound-memory{{budget={IR_BUDGET}}}))", "-o", banked],
            "lathe-opt memred-bound-memory")
        outs = [f"--output={data}/b{i}.npy" for i in range(3)]
        run([tool("lathe-run"), banked, *inputs, *outs, "--repeat=1",
             f"--report={data}/b.json"], f"lathe-run banked T={t}")
        b = json.load(open(f"{data}/b.json"))
        row = dict(banked_peak=b["peak_memory_bytes"], banked_ms=b["latency_ms"]["median"],
                   estimate=b.get("peak_memory_estimate_bytes"))
        if t == IR_T[0]:
            run([sys.executable, ref, "run", data, f"{data}/r", "--report", f"{data}/b.json"],
                "stream_ref run")
            for i in range(3):
                run([sys.executable, os.path.join(ROOT, "scripts", "compare_npy.py"),
                     f"{data}/b{i}.npy", f"{data}/r{i}.npy"], f"banked T={t} output {i} vs numpy")
        if t <= IR_UNBOUNDED_MAX_T:
            repeat = 1 if t <= IR_UNBOUNDED_TIMED_MAX_T else 0
            run([tool("lathe-run"), src, *inputs, f"--repeat={repeat}", f"--report={data}/u.json",
                 f"--pass-pipeline={UNBOUNDED_PIPELINE}"], f"lathe-run unbounded T={t}")
            u = json.load(open(f"{data}/u.json"))
            row.update(unbounded_peak=u["peak_memory_bytes"],
                       unbounded_ms=u["latency_ms"]["median"] if repeat else None)
        rows[t] = row
        mib = lambda v: f"{v / 2**20:.2f}" if v is not None else "-"  # noqa: E731
        per = lambda v: f"{v / t:.3f}" if v is not None else "-"  # noqa: E731
        red = (f"{1 - row['banked_peak'] / row['unbounded_peak']:.4f}"
               if "unbounded_peak" in row else "-")
        print(f"{t:>6} {mib(row.get('unbounded_peak')):>19} {mib(row['banked_peak']):>16} "
              f"{mib(row['estimate']):>13} {per(row.get('unbounded_ms')):>19} "
              f"{per(row['banked_ms']):>16} {red:>10}", flush=True)
    peaks = {row["banked_peak"] for row in rows.values()}
    print(f"banked peak over T = {IR_T[0]} ... {IR_T[-1]}: "
          f"{'flat' if len(peaks) == 1 else 'NOT flat'} ({sorted(peaks)} bytes)")
    return rows


def main():
    start = time.time()
    ir_rows = {}
    try:
        with tempfile.TemporaryDirectory(prefix="lathe-memred-") as tmp:
            rows = attention(tmp)
            try:
                ir_rows = ir_stream(tmp)
            except BenchError as e:
                print(f"IR stream failed: {e}")
            s = stream(tmp)
    except BenchError as e:
        sys.exit(f"bench/memred: {e}")
    r = next(x for x in rows if x["seq"] == RESULT_SEQ)
    print(f"decision at L={RESULT_SEQ}: {json.dumps(r['decisions'])}")
    print(f"(total {time.time() - start:.0f} s)")
    fields = [("attn_peak_reduction", f"{1 - r['chunked_peak'] / r['naive_peak']:.4f}"),
              ("attn_max_rel_err", f"{r['err']:.2e}"),
              ("attn_speedup", f"{r['naive_ms'] / r['chunked_ms']:.2f}")]
    ir = ir_rows.get(RESULT_T, {})
    fields.append(("stream_peak_reduction",
                   f"{1 - ir['banked_peak'] / ir['unbounded_peak']:.4f}"
                   if "unbounded_peak" in ir else "nan"))
    keys = ["full_acc"] + [f"{p}_acc_at_{kib}KiB" for kib in STREAM_BUDGETS_KIB
                           for p in ("adacm2", "recent_only", "random_keep", "merge")]
    for key in keys:
        fields.append((key, s.get(key, "nan")))
    print(f"CPU: {cpu_name()}")
    print("RESULT " + " ".join(f"{k}={v}" for k, v in fields))


if __name__ == "__main__":
    main()
