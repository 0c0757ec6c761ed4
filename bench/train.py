#!/usr/bin/python3
"""bench/train: training with Lathe (lathe-train) against JAX/XLA.

Three models, each defined once in PyTorch, exported to ONNX (training mode,
so parameters keep their names) and imported by Lathe; the JAX side
(bench/train_lib/jax_worker.py) is the same function written in jax.numpy,
jit-compiled by XLA. Both start from the same initial weights (one HDF5
file), see the same batches in the same order, and apply the same AdamW
update (PyTorch's formula, hand-written on the JAX side, lr constant, weight
decay 0.01), in f32 on 2 threads:

  digits MLP   64-64-10, sklearn digits (1437 train / 360 test images),
               batch 32, 20 epochs
  digits CNN   2 x (conv 3x3 + ReLU + max-pool 2), linear; same data
  char GPT     4 layers, width 128, 4 heads, sequence 128, batch 16, byte
               vocabulary, 500 steps on the text of Debian's fortunes package
               (files split train/validation by name); validation bits per
               character beside a character-bigram model's on the same split

Prints per model the gradient error against JAX at step 0, the losses at
steps 0/100/final for both, the median step time and the peak memory (max
RSS of the process), and ends with one RESULT line. The CNN's and the GPT's
step times are medians over interleaved runs (the full run, then short runs
alternating which side goes first). Run from the repository
root after the build: /usr/bin/python3 bench/train.py. JAX comes from PyPI
into ~/.cache/lathe-bench-venv-jax (LATHE_BENCH_JAX_VENV), created once.
"""
import glob
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, BenchError, load_average, table, tool  # noqa: E402

WORKER = os.path.join(ROOT, "bench", "train_lib", "jax_worker.py")
LR = {"mlp": 0.01, "cnn": 0.01, "gpt": 0.003}
GPT_STEPS = int(os.environ.get("LATHE_BENCH_TRAIN_GPT_STEPS", "500"))
GPT_BATCH, GPT_T = 16, 128
# Step times: the full runs give round 0; TIMING_ROUNDS more short runs per
# side follow, alternating which side goes first, and the reported step time
# is the median of the per-run medians (interleaved rounds on a shared CPU).
TIMING_ROUNDS = int(os.environ.get("LATHE_BENCH_TRAIN_ROUNDS", "2"))
TIMING_STEPS = {"cnn": 60, "gpt": 40}


def log(msg):
    print(msg, flush=True)


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def ensure_jax_venv():
    root = os.environ.get("LATHE_BENCH_JAX_VENV") or \
        os.path.join(os.path.expanduser("~"), ".cache", "lathe-bench-venv-jax")
    py = os.path.join(root, "bin", "python")
    if os.access(py, os.X_OK) and sh([py, "-c", "import jax, numpy"]).returncode == 0:
        return py
    log(f"train: creating {root} and installing jax from PyPI (one time)")
    p = sh(["/usr/bin/python3", "-m", "venv", root])
    if p.returncode != 0:
        raise BenchError(f"python3 -m venv failed (apt-get install python3-venv): {p.stderr[-500:]}")
    p = sh([py, "-m", "pip", "install", "-q", "jax", "jaxlib", "numpy"], timeout=1200)
    if p.returncode != 0:
        raise BenchError(f"pip install jax failed: {p.stdout[-800:]}{p.stderr[-800:]}")
    return py


# ---------------------------------------------------------------- models

class Block(torch.nn.Module):
    def __init__(self, d, h, t):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.fc, self.out = torch.nn.Linear(d, 4 * d), torch.nn.Linear(4 * d, d)
        self.register_buffer("mask", torch.triu(torch.full((t, t), float("-inf")), 1))

    def forward(self, x):
        b, t, d = x.shape
        hd = d // self.h
        q, k, v = self.qkv(self.ln1(x)).split(d, 2)
        q, k, v = (z.reshape(b, t, self.h, hd).transpose(1, 2) for z in (q, k, v))
        a = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(hd) + self.mask, -1) @ v
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.out(torch.nn.functional.gelu(self.fc(self.ln2(x))))


class GPT(torch.nn.Module):
    def __init__(self, vocab=256, d=128, h=4, t=GPT_T, layers=4):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Parameter(torch.randn(t, d) * 0.02)
        self.blocks = torch.nn.Sequential(*[Block(d, h, t) for _ in range(layers)])
        self.ln = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, vocab)

    def forward(self, idx):
        return self.head(self.ln(self.blocks(self.tok(idx) + self.pos)))


def make_model(name):
    torch.manual_seed(0)
    if name == "mlp":
        return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                   torch.nn.Linear(64, 10)), torch.zeros(32, 64)
    if name == "cnn":
        return torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(32 * 2 * 2, 10)), torch.zeros(32, 1, 8, 8)
    return GPT(), torch.zeros(GPT_BATCH, GPT_T, dtype=torch.long)


def export(name, d):
    model, example = make_model(name)
    model.train()
    dyn = {} if name == "gpt" else {"dynamic_axes": {"x": {0: "n"}, "logits": {0: "n"}}}
    torch.onnx.export(model, example, f"{d}/model.onnx", input_names=["x"],
                      output_names=["logits"], opset_version=14,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False, **dyn)
    p = sh([tool("lathe-import-onnx"), f"{d}/model.onnx", f"--weights={d}/w.h5",
            "--all-float-weights", "-o", f"{d}/model.mlir"])
    if p.returncode != 0:
        raise BenchError(f"import of {name}: {p.stderr[-800:]}")
    params = {}
    with h5py.File(f"{d}/w.h5") as f:
        f.visititems(lambda k, v: params.__setitem__(k, np.asarray(v))
                     if isinstance(v, h5py.Dataset) else None)
    np.savez(f"{d}/params.npz", **params)
    return [k for k in params if k.endswith(".mask")]


# ------------------------------------------------------------------ data

def digits_data(d, image):
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from training import digits_split
    x_tr, x_te, y_tr, y_te = digits_split()
    if image:
        x_tr, x_te = x_tr.reshape(-1, 1, 8, 8), x_te.reshape(-1, 1, 8, 8)
    rng = np.random.default_rng(0)
    order = np.concatenate([rng.permutation(len(x_tr)) for _ in range(20)])
    return x_tr[order], y_tr[order], x_te, y_te


def fortunes_text():
    files = sorted(f for f in glob.glob("/usr/share/games/fortunes/*")
                   if os.path.isfile(f) and not f.endswith((".dat", ".u8")))
    if not files:
        raise BenchError("no fortunes files in /usr/share/games/fortunes "
                         "(apt-get install fortunes; scripts/setup.sh does)")
    train = b"".join(open(f, "rb").read() for i, f in enumerate(files) if i % 5 != 4)
    val = b"".join(open(f, "rb").read() for i, f in enumerate(files) if i % 5 == 4)
    return np.frombuffer(train, np.uint8), np.frombuffer(val, np.uint8), len(files)


def windows(text, count, rng):
    starts = rng.integers(0, len(text) - GPT_T - 1, count)
    w = np.stack([text[s:s + GPT_T + 1] for s in starts]).astype(np.int64)
    return w[:, :-1], w[:, 1:]


def bigram_bpc(train, val_x, val_y):
    counts = np.ones((256, 256))
    np.add.at(counts, (train[:-1], train[1:]), 1)
    logp = np.log2(counts / counts.sum(1, keepdims=True))
    return float(-logp[val_x, val_y].mean())


def write_data(d, x, y, tx=None, ty=None, val=None):
    np.save(f"{d}/x.npy", x)
    np.save(f"{d}/labels.npy", y)
    with h5py.File(f"{d}/train.h5", "w") as f:
        f["x"], f["labels"] = x, y
    if tx is not None:
        np.save(f"{d}/test_x.npy", tx)
        np.save(f"{d}/test_labels.npy", ty)
        with h5py.File(f"{d}/test.h5", "w") as f:
            f["x"], f["labels"] = tx, ty
    if val is not None:
        np.save(f"{d}/val_x.npy", val[0])
        np.save(f"{d}/val_labels.npy", val[1])
        with h5py.File(f"{d}/test.h5", "w") as f:
            f["x"], f["labels"] = val


# ------------------------------------------------------------------ runs

def timed(cmd, what):
    """Runs `cmd` under /usr/bin/time; returns (stdout, max RSS in MiB)."""
    p = sh(["/usr/bin/time", "-f", "MAXRSS %M"] + cmd)
    if p.returncode != 0:
        raise BenchError(f"{what} failed:\n{p.stdout[-1500:]}\n{p.stderr[-1500:]}")
    rss = [int(line.split()[1]) for line in p.stderr.splitlines() if line.startswith("MAXRSS")]
    return p.stdout, (rss[-1] / 1024 if rss else float("nan"))


def lathe_grads(d, frozen, batch):
    freeze = f" frozen={','.join(frozen)}" if frozen else ""
    p = sh([tool("lathe-opt"), f"--lathe-append-loss=kind=cross-entropy{freeze}",
            "--lathe-differentiate=function=loss", f"{d}/model.mlir", "-o", f"{d}/grad.mlir"])
    if p.returncode != 0:
        raise BenchError(f"lathe-differentiate: {p.stderr[-800:]}")
    text = open(f"{d}/grad.mlir").read()
    sig = text[text.index("func.func @loss_grad("):]
    sig = sig[:sig.index(") ->")]
    import re
    names = [n for n in re.findall(r'lathe\.name = "([^"]*)"', sig) if n != "labels"]
    np.save(f"{d}/x0.npy", np.load(f"{d}/x.npy")[:batch])
    np.save(f"{d}/y0.npy", np.load(f"{d}/labels.npy")[:batch])
    cmd = [tool("lathe-run"), f"{d}/grad.mlir", "--entry=loss_grad", "--threads=2"]
    cmd += [f"--input={d}/w.h5:{n}" for n in names]
    cmd += [f"--input={d}/x0.npy", f"--input={d}/y0.npy", f"--output={d}/lloss.npy"]
    cmd += [f"--output={d}/lg{i}.npy" for i in range(len(names))]
    p = sh(cmd)
    if p.returncode != 0:
        raise BenchError(f"lathe-run loss_grad: {p.stderr[-800:]}")
    return {n.lstrip("/"): np.load(f"{d}/lg{i}.npy") for i, n in enumerate(names)}


def run_model(name, d, steps, batch, frozen, jax_py):
    lathe_g = lathe_grads(d, frozen, batch)
    freeze = [f"--freeze={','.join(frozen)}"] if frozen else []
    cmd = [tool("lathe-train"), f"{d}/model.mlir", "--loss=cross-entropy", *freeze,
           f"--data={d}/train.h5", f"--val-data={d}/test.h5", "--shuffle=false",
           f"--batch={batch}", f"--steps={steps}", f"--lr={LR[name]}", "--weight-decay=0.01",
           "--threads=2", f"--log={d}/lathe.jsonl"]
    _, lathe_rss = timed(cmd, f"lathe-train {name}")
    env_cmd = ["env", "OMP_NUM_THREADS=2",
               "XLA_FLAGS=--xla_cpu_multi_thread_eigen=true",
               jax_py, WORKER, name, d, str(steps), str(batch), str(LR[name])]
    _, jax_rss = timed(env_cmd, f"JAX {name}")
    jax_out = json.load(open(f"{d}/jax.json"))
    jax_g = dict(np.load(f"{d}/jax_grads.npz"))
    errs = []
    for k, g in jax_g.items():
        if k not in lathe_g:
            raise BenchError(f"{name}: no Lathe gradient for {k}")
        errs.append(float(np.abs(lathe_g[k] - g).max() / max(np.abs(g).max(), 1e-30)))
    entries = [json.loads(line) for line in open(f"{d}/lathe.jsonl")]
    lathe_steps = [e for e in entries if "step" in e]
    vals = [e for e in entries if "val_loss" in e]
    return {
        "grad_err": max(errs),
        "lathe_loss": [e["loss"] for e in lathe_steps],
        "jax_loss": jax_out["losses"],
        "lathe_ms": statistics.median(e["ms"] for e in lathe_steps[1:]),
        "jax_ms": statistics.median(jax_out["step_ms"]),
        "lathe_rss": lathe_rss, "jax_rss": jax_rss,
        "lathe_val": vals[-1] if vals else {},
        "jax_val": jax_out.get("val_loss"), "jax_acc": jax_out.get("test_acc"),
        "jax_version": jax_out.get("jax"),
    }


def timing_rounds(name, d, batch, frozen, jax_py, r):
    """Adds TIMING_ROUNDS short interleaved runs per side to r's step times."""
    freeze = [f"--freeze={','.join(frozen)}"] if frozen else []
    steps = TIMING_STEPS[name]
    lathe_runs, jax_runs = [r["lathe_ms"]], [r["jax_ms"]]
    for k in range(TIMING_ROUNDS):
        def lathe():
            log_file = f"{d}/lathe-t{k}.jsonl"
            timed([tool("lathe-train"), f"{d}/model.mlir", "--loss=cross-entropy", *freeze,
                   f"--data={d}/train.h5", "--shuffle=false", f"--batch={batch}",
                   f"--steps={steps}", f"--lr={LR[name]}", "--weight-decay=0.01",
                   "--threads=2", f"--log={log_file}"], f"lathe-train {name} (timing)")
            ms = [json.loads(line)["ms"] for line in open(log_file) if '"step"' in line]
            lathe_runs.append(statistics.median(ms[1:]))

        def jax():
            timed(["env", "OMP_NUM_THREADS=2", "XLA_FLAGS=--xla_cpu_multi_thread_eigen=true",
                   jax_py, WORKER, name, d, str(steps), str(batch), str(LR[name])],
                  f"JAX {name} (timing)")
            jax_runs.append(statistics.median(json.load(open(f"{d}/jax.json"))["step_ms"]))

        for side in ((lathe, jax) if k % 2 else (jax, lathe)):
            side()
    r["lathe_ms"], r["jax_ms"] = statistics.median(lathe_runs), statistics.median(jax_runs)
    r["lathe_runs"], r["jax_runs"] = lathe_runs, jax_runs
    log(f"  {name} step ms per run: Lathe {', '.join(f'{v:.2f}' for v in lathe_runs)}; "
        f"JAX {', '.join(f'{v:.2f}' for v in jax_runs)}")


def main():
    t_start = time.time()
    log(f"bench/train on {cpu_name()}, {os.cpu_count()} CPUs, load {load_average()}")
    jax_py = ensure_jax_venv()
    tmp = tempfile.mkdtemp(prefix="lathe-bench-train-")
    results = {}
    try:
        for name in ("mlp", "cnn"):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            export(name, d)
            x, y, tx, ty = digits_data(d, image=name == "cnn")
            write_data(d, x, y, tx, ty)
            steps = len(x) // 32
            log(f"train: {name}: {steps} steps of 32")
            results[name] = run_model(name, d, steps, 32, [], jax_py)
            if name in TIMING_STEPS:
                timing_rounds(name, d, 32, [], jax_py, results[name])
        d = os.path.join(tmp, "gpt")
        os.makedirs(d)
        frozen = export("gpt", d)
        train, val, nfiles = fortunes_text()
        rng = np.random.default_rng(0)
        x, y = windows(train, GPT_STEPS * GPT_BATCH, rng)
        vx, vy = windows(val, 4 * GPT_BATCH, rng)
        write_data(d, x, y, val=(vx, vy))
        log(f"train: gpt: {GPT_STEPS} steps of {GPT_BATCH} x {GPT_T} bytes "
            f"({len(train)} train / {len(val)} validation bytes from {nfiles} fortunes files)")
        results["gpt"] = run_model("gpt", d, GPT_STEPS, GPT_BATCH, frozen, jax_py)
        timing_rounds("gpt", d, GPT_BATCH, frozen, jax_py, results["gpt"])
        bigram = bigram_bpc(train, vx, vy)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = []
    for name, r in results.items():
        ll, jl = r["lathe_loss"], r["jax_loss"]
        at = lambda l, i: f"{l[min(i, len(l) - 1)]:.4f}"  # noqa: E731
        rows.append([name, f"{r['grad_err']:.2e}",
                     f"{at(ll, 0)} / {at(ll, 100)} / {ll[-1]:.4f}",
                     f"{at(jl, 0)} / {at(jl, 100)} / {jl[-1]:.4f}",
                     f"{r['lathe_ms']:.2f}", f"{r['jax_ms']:.2f}",
                     f"{r['lathe_ms'] / r['jax_ms']:.2f}",
                     f"{r['lathe_rss']:.0f}", f"{r['jax_rss']:.0f}"])
    table(["model", "grad err", "Lathe loss 0/100/final", "JAX loss 0/100/final",
                 "Lathe ms/step", "JAX ms/step", "ratio", "Lathe MiB", "JAX MiB"], rows,
                title=f"training, f32, 2 threads; JAX {results['gpt']['jax_version']} (XLA CPU)")
    acc = {n: results[n]["lathe_val"].get("val_accuracy", float("nan")) for n in ("mlp", "cnn")}
    gpt = results["gpt"]
    gpt_bpc = gpt["lathe_val"].get("val_loss", float("nan")) / math.log(2)
    jax_bpc = gpt["jax_val"] / math.log(2) if gpt["jax_val"] is not None else float("nan")
    print(f"digits test accuracy: Lathe MLP {acc['mlp']:.4f} CNN {acc['cnn']:.4f}; "
          f"JAX MLP {results['mlp']['jax_acc']:.4f} CNN {results['cnn']['jax_acc']:.4f}")
    print(f"char GPT validation: Lathe {gpt_bpc:.3f} bits/char, JAX {jax_bpc:.3f}, "
          f"character bigram {bigram:.3f}")
    print(f"(step times: median over runs of each run's median step after the first; the "
          f"CNN and GPT add {TIMING_ROUNDS} short runs per side, alternating which goes first; "
          f"{time.time() - t_start:.0f} s in all; load {load_average()})")
    gap = abs(gpt["lathe_loss"][-1] - gpt["jax_loss"][-1]) / gpt["jax_loss"][-1]
    print("RESULT " + " ".join([
        f"grad_max_rel_err={max(r['grad_err'] for r in results.values()):.3g}",
        f"gpt_loss_gap={gap:.4f}",
        f"gpt_step_ratio_vs_jax={gpt['lathe_ms'] / gpt['jax_ms']:.2f}",
        f"cnn_step_ratio_vs_jax={results['cnn']['lathe_ms'] / results['cnn']['jax_ms']:.2f}",
        f"digits_test_acc={min(acc.values()):.4f}",
        f"gpt_val_bpc={gpt_bpc:.3f}",
        f"bigram_bpc={bigram:.3f}"]))


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"bench/train: error: {e}", file=sys.stderr)
        sys.exit(1)
