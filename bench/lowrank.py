#!/usr/bin/python3
"""lowrank (HALOC) benchmark: lathe-compress on normally trained models, and the max-error study.

usage: /usr/bin/python3 bench/lowrank.py [--mode compress|sweep] [--models DIR] [--repeat N]
                                         [--models-only mlp,cnn,cnn32]
                                         [--target calibrate|cpu|FILE.json]
                                         [--max-accuracy-drop 0.005]
                                         [--objective latency|flops|measured]
                                         [--finetune-steps N] [--cnn32-epochs 15]

--mode=compress (the default) uses Lathe the way HALOC-style compression is used: the digits
MLP 64-256-256-10 (dynamic batch) and CNN conv(1->32) conv(32->64) fc(1024->10) (static batch
64) are trained normally (Adam, lr 1e-3, 30 epochs, no weight decay) on the digits training
split minus a stratified 20 % validation split; so is the larger CNN32 (gen_models.CNN32:
conv(1->32) pool conv(32->64) conv(64->64) pool conv(64->64) fc(576->10), static batch 64)
on the same images upsampled to 32x32 (bilinear), 15 epochs. Each model's weights are
cached in DIR/compress/{mlp,cnn,cnn32}_weights.npz with its recipe (the training takes
minutes on a busy machine; a run with the same recipe reuses them);
`lathe-calibrate` measures each model's
latency table (--target=calibrate); `lathe-compress --val-data=val.h5
--max-accuracy-drop=0.005` picks the ranks on the validation split (optionally fine-tuning,
--finetune-steps); then lathe-run re-measures the latency at batch 64 (interleaved rounds,
best of each) and, only at the end, the accuracy of the dense and compressed models on the
360-image test split. Ends with
  RESULT mlp_flops_kept=… mlp_test_acc_delta=… cnn_flops_kept=… cnn_test_acc_delta=… cnn_speedup=…
         cnn32_flops_kept=… cnn32_test_acc_delta=… cnn32_speedup=…
(flops_kept: lathe-compress's count of matmul/convolution FLOPs at batch 64; test_acc_delta:
compressed minus dense test accuracy, a fraction; cnn_speedup: dense / compressed latency).

--mode=sweep is the older study below: every number in it is chosen on the test split.

Models (scripts/lowrank/gen_models.py, generated into DIR when missing; the wide model's
training takes minutes on a busy 2-core machine): the foundation's digits MLP
64-256-256-10, a wide 64-1024-1024-10 MLP and a small CNN (Tucker-2 path), each at static
batch 1, 64 and 360 (the whole test split), so that `lathe-run --report` counts every FLOP.

For every max-error the IR goes through `lathe-opt --lowrank-select-ranks="max-error=E
batch=64 error-norm=spectral"` (the same decisions at every batch; --error-norm=frobenius or relative for
the pass's default norm or the per-layer relative one) and `lathe-run --repeat=N --report`:
  flops_kept   = report.flops(factorized) / report.flops(dense), batch 64
  p1_x, p64_x  = predicted speedup at batch 1 and 64: Σ latency_before / Σ latency_after over
                 the pass's decisions (its cost model, the same ranks priced at either batch)
  b1_x, b64_x  = measured latency ratio dense / factorized (speedup, same run; the median of
                 lathe-run's repeats, or the minimum with --stat=min)
  acc          = test accuracy (360 samples) through lathe-run
By default (--target=calibrate) `lathe-calibrate` first measures every model's dense and
candidate kernels (batch 1 and 64, the same --threads and statistic) and the pass prices with
that table; --target=cpu uses the CPU target's shipped table instead (measured rows for these
models' layers on the machine it was measured on, scripts/recalibrate_cpu_target.py; elsewhere
a roofline that prices convolutions as implicit GEMMs, wrong for oneDNN's small convolutions).
Latencies of the dense model are re-measured between every variant's runs and the best is
kept, so a busy machine penalises both sides alike.
Baselines (on --baselines-on models; --no-baselines skips them): the same sweep with
strategy=uniform (one rank for all layers) and strategy=threshold (per-layer energy threshold).
Equal-latency comparison: for every baseline point, the global allocation runs under
`max-latency=` that point's predicted latency fraction (the pass's model_latency: Σ predicted
latency of the analysed layers / Σ dense, same target table, batch=64), so both sides have the
same predicted latency; both are measured and printed side by side (pred, the model-level
error `err` the pass minimises, measured b64_x, accuracy, and whether global >= baseline).
A global choice with the same ranks as a measured variant is the same program and is not
measured again (the table then shows the baseline's numbers on both sides, "same ranks").
(The older table, each global max-error point beside the baseline point with the nearest
measured batch-64 latency, is printed too.)
scripts/lowrank/equal_latency_grid.py does the same comparison on a fine max-error grid,
without timing (numpy accuracy), in a few minutes per model.

Ends with: RESULT flops_kept_mlp=… flops_kept_wide=… speedup_wide_b64=… acc_drop_wide=…
global_vs_baselines_min_acc_delta_wide=…  (the first four for the largest max-error ≤ 0.3
whose accuracy drop is ≤ 0.5 pt, else the smallest drop; the last is the least accuracy
difference global − baseline over the equal-latency points, a fraction: ≥ 0 means the global
choice is at least as accurate at every point).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_dir():
    return os.environ.get("LATHE_BUILD_DIR", os.path.join(ROOT, "build"))


def tool(name):
    path = os.path.join(build_dir(), "bin", name)
    if not os.access(path, os.X_OK):
        sys.exit(f"bench/lowrank: {path} not found (set LATHE_BUILD_DIR or build first)")
    return path


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench/lowrank: command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return p


def lathe_run(mlir, x, repeat, tmp, tag):
    out = os.path.join(tmp, f"{tag}.npy")
    rep = os.path.join(tmp, f"{tag}.json")
    run([tool("lathe-run"), mlir, f"--input={x}", f"--output={out}", f"--repeat={repeat}",
         f"--report={rep}", f"--threads={THREADS}"])
    with open(rep) as f:
        return json.load(f), np.load(out)


ERROR_NORM = "frobenius"
TARGET = "cpu"


def select(src, dst, budget, strategy, target):
    """budget: a max-error value, or ("max-latency", fraction) for the global latency budget."""
    if isinstance(budget, tuple):
        option = f"{budget[0]}={budget[1]!r}"
    else:
        option = f"max-error={budget}"
    attach = [] if target == "cpu" else [f"--lathe-attach-target={target}"]
    run([tool("lathe-opt"), src, *attach, f"--lowrank-select-ranks={option} batch=64 "
         f"strategy={strategy} error-norm={ERROR_NORM}", "-o", dst])


def calibrate(mlir, out, repeat):
    """lathe-calibrate on one model: its layers' dense and candidate kernels at batch 1 and 64."""
    run([tool("lathe-calibrate"), mlir, "-o", out, "--batches=1,64", f"--repeat={repeat}",
         f"--threads={THREADS}", f"--stat={STAT}"])
    return out


STAT = "median"
ROUNDS = 2
THREADS = 1


def latency(mlir, x, repeat, tmp, tag):
    report, _ = lathe_run(mlir, x, repeat, tmp, tag)
    return report["latency_ms"][STAT]


def measure(d, variant, mlirs, dense, repeat, tmp, labels):
    """Measures one variant ({batch: mlir}); `dense` is the dense model's {batch: mlir} and
    `dense["best"]` its best latency so far, re-measured between the variant's runs so that a
    busy machine slows both alike (ratios are taken against the final best)."""
    r360, logits = lathe_run(mlirs[360], os.path.join(d, "test_x.npy"), 1, tmp, variant + "_b360")
    decisions = [x["decision"] for x in r360["decisions"]
                 if x["decision"].get("pass") == "lowrank-select-ranks"]
    pred = {}
    for b in (1, 64):
        before = sum(x[f"latency_before_b{b}_us"] for x in decisions)
        after = sum(x[f"latency_after_b{b}_us"] for x in decisions)
        pred[b] = before / after if after > 0 else 1.0
    r64, _ = lathe_run(mlirs[64], os.path.join(d, "x64.npy"), repeat, tmp, variant + "_b64")
    ms = {64: r64["latency_ms"][STAT], 1: float("inf")}
    for b, x, rep in ((64, "x64.npy", repeat), (1, "x1.npy", repeat * 4)):
        for i in range(ROUNDS):
            dense["best"][b] = min(dense["best"][b],
                                   latency(dense[b], os.path.join(d, x), rep, tmp, f"dense{b}_{i}"))
            ms[b] = min(ms[b], latency(mlirs[b], os.path.join(d, x), rep, tmp, f"{variant}_{b}_{i}"))
    return {
        "flops": r64["flops"], "complete": r64["flops_complete"],
        "b64_ms": ms[64], "b1_ms": ms[1],
        "acc": float((logits.argmax(1) == labels).mean()),
        "p1": pred[1], "p64": pred[64],
        "ranks": [x["rank"] if x["action"] == "factorize" else "D" for x in decisions],
        # What the pass predicted for the whole allocation (at batch=64): the latency of the
        # analysed layers as a fraction of dense, and the model-level error (error-norm).
        "pred_frac": decisions[0]["model_latency"] if decisions else 1.0,
        "model_error": decisions[0]["model_error"] if decisions else 0.0,
    }


def measure_equal_latency(d, name, dense_paths, dense, results, repeat, tmp, labels, target):
    """For every uniform / threshold point: the global allocation under max-latency equal to
    that point's predicted latency fraction (same target table, batch=64). Returns
    {fraction: measurement}; a global choice with the same ranks as a measured variant reuses
    that measurement (it is the same program; the table shows the baseline's own measurement
    on both sides when the ranks agree)."""
    seen = {tuple(m["ranks"]): m for ms in results.values() for m in ms}
    out = {}
    for s in ("uniform", "threshold"):
        for m in results.get(s, []):
            f = m["pred_frac"]
            if f in out:
                continue
            paths = {}
            for b in (1, 64, 360):
                paths[b] = os.path.join(tmp, f"{name}_lat_{f:.9f}_b{b}.mlir")
                select(dense_paths[b], paths[b], ("max-latency", f), "global", target)
            ranks = ranks_of(paths[64])
            if tuple(ranks) in seen:
                g = dict(seen[tuple(ranks)], same_as=True)
            else:
                g = measure(d, f"{name}_lat_{f:.9f}", paths, dense, repeat, tmp, labels)
                g["same_as"] = False
                seen[tuple(ranks)] = g
            out[f] = g
            print(f"  measured {name} global max-latency={f:.4f}", flush=True)
    return out


def ranks_of(mlir):
    """The ranks lowrank-select-ranks chose, in IR order (D: dense), from its decisions."""
    import re
    text = open(mlir).read()
    ranks = []
    for d in re.findall(r"lathe\.decision = #lowrank\.decision<([^>]*)>", text):
        action = re.search(r'action = "(\w+)"', d).group(1)
        ranks.append(int(re.search(r"rank = (\d+)", d).group(1)) if action == "factorize" else "D")
    return ranks


def equal_latency_table(results, eq, base, best64):
    """Prints every baseline point beside the global choice at its predicted latency; returns
    the accuracy deltas (global - baseline, fractions)."""
    if not eq:
        return []
    print("at equal predicted latency (global under max-latency = the baseline's predicted "
          "fraction, batch 64):")
    print(f"{'baseline':>9} {'e':>5} {'ranks':>16} {'pred':>6} {'err':>6} {'b64_x':>6} {'acc':>7}"
          f" | {'global ranks':>16} {'pred':>6} {'err':>6} {'b64_x':>6} {'acc':>7} "
          f"{'d_acc':>7} global>=")
    deltas = []
    for s in ("uniform", "threshold"):
        for m in results.get(s, []):
            g = eq[m["pred_frac"]]
            if g["ranks"] == m["ranks"]:
                g = m  # the same program: the same measurement on both sides
            delta = g["acc"] - m["acc"]
            deltas.append(delta)
            same = " (same ranks)" if g["ranks"] == m["ranks"] else ""
            print(f"{s:>9} {m['e']:>5.2f} {str(m['ranks']):>16} {m['pred_frac']:>6.4f} "
                  f"{m['model_error']:>6.4f} {best64 / m['b64_ms']:>6.2f} {m['acc']:>7.4f} | "
                  f"{str(g['ranks']):>16} {g['pred_frac']:>6.4f} {g['model_error']:>6.4f} "
                  f"{best64 / g['b64_ms']:>6.2f} {g['acc']:>7.4f} {delta * 100:>+6.2f}pt "
                  f"{'yes' if delta >= 0 else 'NO'}{same}", flush=True)
    return deltas


# ---------------------------------------------------------------------------------------
# --mode=compress (the default): lathe-compress the way HALOC-style compression is used.
# ---------------------------------------------------------------------------------------
# What each model's training does; a cached model is reused only when its recipe,
# epoch count and image count match.
RECIPE = "{name} v1: Adam lr 1e-3, batch 32, seed 0, no weight decay"


def train_cached(outdir, name, make, x_fit, y_fit, epochs):
    """Trains `make()` normally on x_fit (Adam, lr 1e-3, no weight decay), caching the
    weights in OUTDIR/{name}_weights.npz with the recipe and the epoch count, so a second
    run skips the training (minutes on a busy 2-core machine)."""
    import time
    import torch
    from training import fit_classifier, setup_torch
    cache = os.path.join(outdir, f"{name}_weights.npz")
    recipe = f"{RECIPE.format(name=name)}, {epochs} epochs, {len(x_fit)} images"
    model = make()
    if os.path.exists(cache):
        z = np.load(cache)
        if str(z["recipe"]) == recipe:
            model.load_state_dict({k: torch.from_numpy(z[k]) for k in model.state_dict()})
            model.eval()
            print(f"  {name}: weights from the cache {cache} ({recipe})", flush=True)
            return model
    setup_torch(0)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.time()
    fit_classifier(model, opt, x_fit, y_fit, epochs=epochs, seed=0)
    params = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    np.savez(cache, recipe=np.array(recipe), **params)
    print(f"  {name}: trained in {time.time() - t0:.0f} s ({recipe}); cached in {cache}",
          flush=True)
    return model


def compress_models(outdir, epochs, names, cnn32_epochs):
    """The digits MLP (64-256-256-10, dynamic batch) and CNN (conv 1->32, conv 32->64,
    fc 1024->10, static batch 64) trained normally (Adam, lr 1e-3, no weight decay) on the
    digits training split minus a stratified 20 % validation split (seed 1), and the larger
    CNN32 on the same images upsampled to 32x32 (gen_models.CNN32: four convolutions up to
    64 channels, static batch 64; cached). Writes OUTDIR/{mlp,cnn,cnn32}.mlir and per model
    OUTDIR/{name}_{val,train}.h5 (validation and training data, 'input0' and 'labels'),
    {name}_test_x.npy; test_y.npy. Returns the PyTorch test accuracies."""
    import h5py
    import torch
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    sys.path.insert(0, os.path.join(ROOT, "scripts", "lowrank"))
    from sklearn.model_selection import train_test_split
    import gen_examples
    import gen_models
    from training import digits_split
    x_tr, x_te, y_tr, y_te = digits_split()
    x_fit, x_val, y_fit, y_val = train_test_split(x_tr, y_tr, test_size=0.2, random_state=1,
                                                  stratify=y_tr)
    acc = {}
    for name, make, emit in (("mlp", gen_examples.MLP, lambda p: gen_examples.emit_mlp(p)),
                             ("cnn", gen_models.CNN, lambda p: gen_models.emit_cnn(p, 64)),
                             ("cnn32", gen_models.CNN32, lambda p: gen_models.emit_cnn32(p, 64))):
        if name not in names:
            continue
        up = gen_models.upsample32 if name == "cnn32" else (lambda x: x)
        model = train_cached(outdir, name, make, up(x_fit), y_fit,
                             cnn32_epochs if name == "cnn32" else epochs)
        params = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
        with open(os.path.join(outdir, f"{name}.mlir"), "w") as f:
            f.write(emit(params))
        with torch.no_grad():
            acc[name] = float((model(torch.from_numpy(up(x_te))).argmax(1).numpy() == y_te).mean())
        # The entry's argument has no lathe.name: its dataset is input0.
        for split, x, y in (("val", x_val, y_val), ("train", x_fit, y_fit)):
            with h5py.File(os.path.join(outdir, f"{name}_{split}.h5"), "w") as f:
                f["input0"], f["labels"] = up(x).astype(np.float32), y.astype(np.int64)
        np.save(os.path.join(outdir, f"{name}_test_x.npy"), up(x_te).astype(np.float32))
    np.save(os.path.join(outdir, "test_y.npy"), y_te.astype(np.int64))
    print(f"  trained on {len(x_fit)} images, validation {len(x_val)}, test {len(x_te)} "
          f"(held back until the end)", flush=True)
    return acc


def run_chunks(mlir, x, batch, tmp, tag):
    """Logits of `mlir` on x; a static batch runs in chunks (the last one zero-padded)."""
    if batch is None:
        path = os.path.join(tmp, f"{tag}_x.npy")
        np.save(path, x)
        return lathe_run(mlir, path, 1, tmp, tag)[1]
    out = []
    for i in range(0, len(x), batch):
        chunk = np.zeros((batch,) + x.shape[1:], np.float32)
        chunk[:len(x[i:i + batch])] = x[i:i + batch]
        path = os.path.join(tmp, f"{tag}_{i}_x.npy")
        np.save(path, chunk)
        out.append(lathe_run(mlir, path, 1, tmp, f"{tag}_{i}")[1][:len(x[i:i + batch])])
    return np.concatenate(out)


def timed(mlir, x64, repeat, tmp, tag):
    report, _ = lathe_run(mlir, x64, repeat, tmp, tag)
    return report["latency_ms"][STAT], report["flops"]


def compress_main(args):
    import re
    outdir = os.path.join(args.models, "compress")
    os.makedirs(outdir, exist_ok=True)
    names = [n for n in (args.models_only or "mlp,cnn,cnn32").split(",")
             if n in ("mlp", "cnn", "cnn32")]
    torch_acc = compress_models(outdir, args.epochs, names, args.cnn32_epochs)
    y_te = np.load(os.path.join(outdir, "test_y.npy"))
    res = {}
    with tempfile.TemporaryDirectory(prefix="lowrank-compress-") as tmp:
        for name in names:
            x_te = np.load(os.path.join(outdir, f"{name}_test_x.npy"))
            x64 = os.path.join(tmp, f"{name}_x64.npy")
            np.save(x64, x_te[:64])
            dense = os.path.join(outdir, f"{name}.mlir")
            small = os.path.join(outdir, f"{name}_small.mlir")
            target = TARGET
            if TARGET == "calibrate":
                target = calibrate(dense, os.path.join(outdir, f"{name}_target.json"), args.repeat)
            cmd = [tool("lathe-compress"), dense,
                   f"--val-data={os.path.join(outdir, name + '_val.h5')}",
                   f"--max-accuracy-drop={args.max_accuracy_drop}", f"--target={target}",
                   f"--objective={args.objective}", f"--threads={THREADS}", "-o", small]
            if args.finetune_steps:
                cmd += ["--finetune", f"--train-data={os.path.join(outdir, name + '_train.h5')}",
                        f"--steps={args.finetune_steps}", f"--lr={args.finetune_lr}"]
            print("  " + " ".join(cmd), flush=True)
            out = run(cmd).stdout
            print("\n".join("    " + l for l in out.splitlines()), flush=True)
            kept = float(re.search(r"compressed: flops \d+ \(([0-9.]+) of dense\)", out).group(1))
            # Independent measurements: lathe-run's FLOP count and latency (batch 64,
            # interleaved rounds, the best of each), then -- only now -- the test split.
            best = {"dense": float("inf"), "small": float("inf")}
            flops = {}
            for i in range(args.rounds):
                for tag, m in (("dense", dense), ("small", small)):
                    ms, fl = timed(m, x64, args.repeat, tmp, f"{name}_{tag}_{i}")
                    best[tag] = min(best[tag], ms)
                    flops[tag] = fl
            batch = None if name == "mlp" else 64
            acc_d = float((run_chunks(dense, x_te, batch, tmp, f"{name}_dte").argmax(1) == y_te).mean())
            acc_s = float((run_chunks(small, x_te, batch, tmp, f"{name}_ste").argmax(1) == y_te).mean())
            res[name] = dict(kept=kept,
                             run_kept=(flops["small"] / flops["dense"] if flops["dense"] and flops["small"]
                                       else float("nan")),
                             delta=acc_s - acc_d, speedup=best["dense"] / best["small"],
                             acc_d=acc_d, acc_s=acc_s, ms_d=best["dense"], ms_s=best["small"])
            print(f"== {name}: flops kept {kept:.3f} (lathe-run's count at batch 64: "
                  f"{res[name]['run_kept']:.3f}; nan: dynamic batch, not counted), b64 latency {best['dense']:.4f} -> "
                  f"{best['small']:.4f} ms ({STAT} of {args.repeat}, best of {args.rounds} "
                  f"rounds: {res[name]['speedup']:.2f}x), test accuracy {acc_d:.4f} -> "
                  f"{acc_s:.4f} (PyTorch dense {torch_acc[name]:.4f}; {len(y_te)} images)",
                  flush=True)
    print(f"(target={TARGET}, objective={args.objective}, {THREADS} thread(s), "
          f"max-accuracy-drop={args.max_accuracy_drop} on validation data, "
          f"fine-tuning {args.finetune_steps or 'off'})")
    keys = []
    if "mlp" in res:
        keys += [f"mlp_flops_kept={res['mlp']['kept']:.4f}",
                 f"mlp_test_acc_delta={res['mlp']['delta']:.4f}"]
    if "cnn" in res:
        keys += [f"cnn_flops_kept={res['cnn']['kept']:.4f}",
                 f"cnn_test_acc_delta={res['cnn']['delta']:.4f}",
                 f"cnn_speedup={res['cnn']['speedup']:.3f}"]
    if "cnn32" in res:
        keys += [f"cnn32_flops_kept={res['cnn32']['kept']:.4f}",
                 f"cnn32_test_acc_delta={res['cnn32']['delta']:.4f}",
                 f"cnn32_speedup={res['cnn32']['speedup']:.3f}"]
    print("RESULT " + " ".join(keys))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--models", default=os.path.join(build_dir(), "lowrank-models"))
    ap.add_argument("--sweep", default="0.01,0.05,0.1,0.2,0.3")
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--models-only", default=None,
                    help="comma-separated models (default: mlp,cnn,cnn32 for --mode=compress, "
                         "mlp,wide,cnn for --mode=sweep)")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--threads", type=int, default=1,
                    help="lathe-run --threads (and OMP_NUM_THREADS); 1 by default: on a shared "
                         "2-core machine two OpenMP threads wait on each other and latencies "
                         "jump by 5x between identical runs")
    ap.add_argument("--error-norm", choices=["frobenius", "relative", "spectral"], default="spectral",
                    help="lowrank-select-ranks error-norm: what max-error bounds")
    ap.add_argument("--target", default="calibrate",
                    help="lowrank-select-ranks target: 'calibrate' (default: run lathe-calibrate "
                         "on each model first and use its measured table), cpu (the bundled "
                         "roofline) or a JSON target description")
    ap.add_argument("--baselines-on", default="wide",
                    help="models that also get the uniform/threshold sweeps")
    ap.add_argument("--stat", choices=["median", "min"], default="median",
                    help="latency statistic of lathe-run's repeats (min is steadier on a busy machine)")
    ap.add_argument("--mode", choices=["compress", "sweep"], default="compress",
                    help="compress (default): lathe-compress on normally trained models, ranks "
                         "chosen on validation data, test accuracy at the end; sweep: the older "
                         "max-error study on the test split (its numbers are chosen on test data)")
    ap.add_argument("--max-accuracy-drop", type=float, default=0.005)
    ap.add_argument("--objective", choices=["latency", "flops", "measured"], default="latency")
    ap.add_argument("--epochs", type=int, default=30,
                    help="training epochs of the MLP and the small CNN (--mode=compress)")
    ap.add_argument("--cnn32-epochs", type=int, default=15,
                    help="training epochs of the larger CNN (--mode=compress; cached)")
    ap.add_argument("--finetune-steps", type=int, default=0,
                    help="lathe-compress --finetune --steps=N on the training part (0: off)")
    ap.add_argument("--finetune-lr", type=float, default=1e-4)
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved dense/compressed timing rounds (--mode=compress)")
    args = ap.parse_args()
    global STAT, THREADS, ERROR_NORM, TARGET
    STAT = args.stat
    TARGET = os.path.abspath(args.target) if args.target.endswith(".json") else args.target
    if TARGET not in ("cpu", "calibrate") and not TARGET.endswith(".json"):
        sys.exit(f"bench/lowrank: --target must be cpu, calibrate or a .json file, got {TARGET}")
    ERROR_NORM = args.error_norm
    THREADS = args.threads
    os.environ["OMP_NUM_THREADS"] = str(THREADS)
    if args.mode == "compress":
        return compress_main(args)
    names = (args.models_only or "mlp,wide,cnn").split(",")
    missing = [n for n in names if not os.path.exists(os.path.join(args.models, n, "model_b360.mlir"))]
    if missing:
        mlp_h5 = os.path.join(build_dir(), "examples", "mlp", "mlp_weights.h5")
        print(f"bench/lowrank: generating {missing} into {args.models}", flush=True)
        run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "lowrank", "gen_models.py"),
             args.models, "--mlp-weights", mlp_h5, "--only", ",".join(missing)])
    sweep = [float(e) for e in args.sweep.split(",")]
    strategies = ["global"] + ([] if args.no_baselines else ["uniform", "threshold"])
    baselines = args.baselines_on.split(",")
    best, eq, min_delta = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="lowrank-bench-") as tmp:
        for name in names:
            d = os.path.join(args.models, name)
            labels = np.load(os.path.join(d, "test_y.npy"))
            dense_paths = {b: os.path.join(d, f"model_b{b}.mlir") for b in (1, 64, 360)}
            dense = dict(dense_paths, best={1: float("inf"), 64: float("inf")})
            target = TARGET
            if TARGET == "calibrate":
                target = calibrate(dense_paths[64], os.path.join(tmp, f"{name}_target.json"),
                                   args.repeat)
                print(f"  calibrated {name}: {target}", flush=True)
            base = measure(d, f"{name}_dense", dense_paths, dense, args.repeat, tmp, labels)
            results = {s: [] for s in strategies}
            for strategy in strategies:
                if strategy != "global" and name not in baselines:
                    continue
                for e in sweep:
                    paths = {}
                    for b in (1, 64, 360):
                        paths[b] = os.path.join(tmp, f"{name}_{strategy}_{e}_b{b}.mlir")
                        select(dense_paths[b], paths[b], e, strategy, target)
                    m = measure(d, f"{name}_{strategy}_{e}", paths, dense, args.repeat, tmp, labels)
                    m.update(e=e, strategy=strategy)
                    results[strategy].append(m)
                    print(f"  measured {name} {strategy} {e}", flush=True)
            if name in baselines and not args.no_baselines:
                eq[name] = measure_equal_latency(d, name, dense_paths, dense, results, args.repeat,
                                                 tmp, labels, target)
            best1, best64 = dense["best"][1], dense["best"][64]
            print(f"\n== {name}: dense flops(b64)={base['flops']} b1={best1:.4f} ms "
                  f"b64={best64:.4f} ms ({STAT}) acc={base['acc']:.4f}")
            print(f"{'strategy':>9} {'max-err':>7} {'ranks':>22} {'flops_kept':>10} "
                  f"{'p1_x':>6} {'b1_x':>6} {'p64_x':>6} {'b64_x':>6} {'acc':>7} {'drop':>6}")
            for strategy in strategies:
                for m in results[strategy]:
                    m.update(kept=m["flops"] / base["flops"], s1=best1 / m["b1_ms"],
                             s64=best64 / m["b64_ms"], drop=base["acc"] - m["acc"])
                    print(f"{strategy:>9} {m['e']:>7.3f} {str(m['ranks']):>22} {m['kept']:>10.3f} "
                          f"{m['p1']:>6.2f} {m['s1']:>6.2f} {m['p64']:>6.2f} {m['s64']:>6.2f} "
                          f"{m['acc']:>7.4f} "
                          f"{m['drop'] * 100:>5.2f}pt", flush=True)
            if results.get("uniform"):
                print("at (nearest) equal measured batch-64 latency:")
                for g in results["global"]:
                    line = f"  global e={g['e']:.3f} b64={g['b64_ms']:.4f} ms acc={g['acc']:.4f}"
                    for s in ("uniform", "threshold"):
                        near = min(results[s], key=lambda m: abs(m["b64_ms"] - g["b64_ms"]))
                        line += (f" | {s} e={near['e']:.3f} b64={near['b64_ms']:.4f} ms "
                                 f"acc={near['acc']:.4f}")
                    print(line)
                deltas = equal_latency_table(results, eq.get(name, {}), base, best64)
                if deltas:
                    min_delta[name] = min(deltas)
            ok = [m for m in results["global"] if m["e"] <= 0.3 and m["drop"] <= 0.005]
            pick = max(ok, key=lambda m: m["e"]) if ok else min(results["global"], key=lambda m: m["drop"])
            best[name] = pick
            print(f"{name}: chosen max-error={pick['e']} flops_kept={pick['kept']:.3f} "
                  f"speedup_b64={pick['s64']:.2f} acc_drop={pick['drop']:.4f}")
    mlp, wide = best.get("mlp"), best.get("wide")
    fmt = lambda m, k: f"{m[k]:.4f}" if m else "nan"  # noqa: E731
    print(f"(target={TARGET}, error-norm={ERROR_NORM}, latency statistic {STAT}, "
          f"{THREADS} thread(s))")
    delta = f"{min_delta['wide']:.4f}" if "wide" in min_delta else "nan"
    print(f"RESULT flops_kept_mlp={fmt(mlp, 'kept')} flops_kept_wide={fmt(wide, 'kept')} "
          f"speedup_wide_b64={fmt(wide, 's64')} acc_drop_wide={fmt(wide, 'drop')} "
          f"global_vs_baselines_min_acc_delta_wide={delta}")


if __name__ == "__main__":
    main()
