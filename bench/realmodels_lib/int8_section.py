"""bench/realmodels' int8 section: Lathe --precision=int8 against onnxruntime's static
quantization on sklearn's digits (Debian's python3-sklearn).

Models: the digits MLP (64-64-10, ReLU) and CNN (conv 16 + ReLU + max-pool, conv 32 + ReLU +
max-pool, linear 10) of scripts/train/make_digits.py, trained here with PyTorch
(scripts/training.py's fit_classifier, Adam, seed 0) on the 1437 training images of
scripts/training.py's digits_split (seed 0) and exported to ONNX with a dynamic batch; run on the
360-image test split as one batch. Both int8 contenders calibrate on the training images only:
Lathe with `--calibration-data` (min/max per kernel input), onnxruntime with quantize_static (QDQ,
per-channel, MinMax; bench/realmodels_lib/ort_quantize.py). Outputs are checked first (each int8
contender's test accuracy against its model's f32 accuracy and its logits against f32's), then
timed in interleaved rounds. int8_accuracy_delta = Lathe int8 test accuracy - Lathe f32 test
accuracy (worst model by magnitude); int8_ratio_vs_ort = Lathe int8 median / onnxruntime int8
median (worst model).
"""
import hashlib
import os
import statistics
import subprocess
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts"))

MODELS = ("digits_mlp", "digits_cnn")


def _key(extra):
    h = hashlib.sha256(extra.encode())
    for path in (__file__, os.path.join(REPO, "scripts", "training.py")):
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def prepare_models(cache, log):
    """Trains and exports both models once per (this file, training.py, torch version); returns
    {name: {"onnx", "test_x" (.npy), "calib_h5", "calib_npy", "labels"}}."""
    import torch
    from training import digits_split, fit_classifier
    folder = os.path.join(cache, "int8-digits", _key(torch.__version__))
    done = os.path.join(folder, "done")
    x_tr, x_te, y_tr, y_te = digits_split()
    out = {}
    for name in MODELS:
        shape = (-1, 64) if name == "digits_mlp" else (-1, 1, 8, 8)
        out[name] = {"onnx": os.path.join(folder, f"{name}.onnx"),
                     "test_x": os.path.join(folder, f"{name}.test_x.npy"),
                     "calib_h5": os.path.join(folder, f"{name}.train.h5"),
                     "calib_npy": os.path.join(folder, f"{name}.train_x.npy"),
                     "labels": y_te, "shape": shape}
    if os.path.exists(done):
        return out
    os.makedirs(folder, exist_ok=True)
    torch.set_num_threads(2)
    for name, m in out.items():
        xtr, xte = x_tr.reshape(m["shape"]), x_te.reshape(m["shape"])
        np.save(m["test_x"], xte)
        np.save(m["calib_npy"], xtr)
        with h5py.File(m["calib_h5"], "w") as f:
            f["x"] = xtr
        torch.manual_seed(0)
        if name == "digits_mlp":
            net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                      torch.nn.Linear(64, 10))
        else:
            net = torch.nn.Sequential(
                torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                torch.nn.Flatten(), torch.nn.Linear(32 * 2 * 2, 10))
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        fit_classifier(net, opt, xtr, y_tr, epochs=20, seed=0)
        torch.onnx.export(net, torch.zeros(1, *m["shape"][1:]), m["onnx"], input_names=["x"],
                          output_names=["logits"], opset_version=13,
                          dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
        log(f"  {name}: trained (PyTorch f32 test accuracy "
            f"{float((net(torch.from_numpy(xte)).argmax(1).numpy() == y_te).mean()):.4f})")
    open(done, "w").close()
    return out


def accuracy(logits, labels):
    return float((np.asarray(logits).argmax(1) == labels).mean())


def run_section(ctx):
    """ctx: dict with log, table, fmt, run_lathe, tool, Worker, Failed, py, tmp, cache, threads,
    rounds, lathe_extra (list), first_line. Returns (int8_ratio_vs_ort, int8_accuracy_delta) as
    strings ("nan" where not measured)."""
    log, table, fmt = ctx["log"], ctx["table"], ctx["fmt"]
    run_lathe, Failed, first_line = ctx["run_lathe"], ctx["Failed"], ctx["first_line"]
    tmp, threads = ctx["tmp"], ctx["threads"]
    models = prepare_models(ctx["cache"], log)
    importer = os.path.join(ctx["build"], "bin", "lathe-import-onnx")
    ort = ctx["Worker"]("ort-int8", ctx["py"], os.path.join(REPO, "bench", "peers_lib",
                                                           "ort_worker.py"), tmp)
    status, rows, jobs, iters = {}, [], [], {}
    acc, note = {}, {}
    for name, m in models.items():
        mlir = os.path.join(tmp, f"{name}.mlir")
        p = subprocess.run([importer, m["onnx"], "-o", mlir], capture_output=True, text=True)
        if p.returncode:
            status[name] = f"lathe-import-onnx failed: {first_line(p.stderr)}"
            continue
        m["mlir"] = mlir
        calib = [f"--calibration-data={m['calib_h5']}"]
        try:
            f32_out = os.path.join(tmp, f"{name}.f32.npy")
            rep, _ = run_lathe(mlir, tmp, f"{name}.lathe-f32", inputs=[m["test_x"]], repeat=2,
                               output=f32_out, extra=ctx["lathe_extra"])
            acc[(name, "lathe-f32")] = accuracy(np.load(f32_out), m["labels"])
            i8_out = os.path.join(tmp, f"{name}.int8.npy")
            rep, _ = run_lathe(mlir, tmp, f"{name}.lathe-int8", inputs=[m["test_x"]], repeat=2,
                               output=i8_out, extra=ctx["lathe_extra"] +
                               ["--precision=int8"] + calib)
            acc[(name, "lathe-int8")] = accuracy(np.load(i8_out), m["labels"])
            ks = rep["int8"]["kernels"]
            k8 = [k for k in ks if k["precision"].startswith("int8")]
            note[name] = (f"{len(k8)}/{len(ks)} sites int8 "
                          f"({k8[0]['precision'].split(', ', 1)[-1].rstrip(')')})"
                          if k8 else f"0/{len(ks)} sites int8")
            err_l = float(np.abs(np.load(i8_out) - np.load(f32_out)).max() /
                          np.abs(np.load(f32_out)).max())
            iters[(name, "lathe-int8")] = rep["latency_ms"]["median"]
        except Exception as e:  # noqa: BLE001
            status[name] = f"lathe failed: {first_line(str(e).split(chr(10), 1)[-1])}"
            continue
        q = os.path.join(tmp, f"{name}.ort-int8.onnx")
        p = subprocess.run([ctx["py"], os.path.join(HERE, "ort_quantize.py"), m["onnx"],
                            m["calib_npy"], q], capture_output=True, text=True)
        if p.returncode:
            status[name] = f"ort quantize_static failed: {first_line(p.stderr)}"
            continue
        try:
            o_out = os.path.join(tmp, f"{name}.ort-int8.out.npy")
            ort.ask({"cmd": "load", "key": name + "-f32", "onnx": m["onnx"], "input": m["test_x"],
                     "output": os.path.join(tmp, f"{name}.ort-f32.out.npy"), "threads": threads})
            acc[(name, "ort-f32")] = accuracy(np.load(os.path.join(tmp, f"{name}.ort-f32.out.npy")),
                                              m["labels"])
            ort.ask({"cmd": "load", "key": name, "onnx": q, "input": m["test_x"],
                     "output": o_out, "threads": threads})
            acc[(name, "ort-int8")] = accuracy(np.load(o_out), m["labels"])
            err_o = float(np.abs(np.load(o_out) - np.load(f32_out)).max() /
                          np.abs(np.load(f32_out)).max())
            iters[(name, "ort-int8")] = ort.ask({"cmd": "time", "key": name, "iters": 3,
                                                 "warmup": 1})["median_ms"]
        except Failed as e:
            status[name] = f"onnxruntime failed: {first_line(e)}"
            continue
        # Outputs checked first: int8 keeps the f32 model's accuracy within 2 points.
        bad = [lab for lab in ("lathe-int8", "ort-int8")
               if abs(acc[(name, lab)] - acc[(name, lab.split('-')[0] + "-f32")]) > 0.02]
        status[name] = "ok" if not bad else f"accuracy check failed: {', '.join(bad)}"
        rows.append([name, f"{acc[(name, 'lathe-f32')]:.4f}", f"{acc[(name, 'lathe-int8')]:.4f}",
                     f"{acc[(name, 'ort-f32')]:.4f}", f"{acc[(name, 'ort-int8')]:.4f}",
                     f"{err_l:.2e}", f"{err_o:.2e}", note[name]])
        if status[name] == "ok":
            jobs += [(name, "lathe-int8"), (name, "ort-int8")]
    table(["model", "lathe f32 acc", "lathe int8 acc", "ort f32 acc", "ort int8 acc",
           "lathe int8 err", "ort int8 err", "lathe int8 kernels"], rows,
          "[6a] int8 on digits: test accuracy (360 images) and max |int8 - Lathe f32| / max|f32| "
          "of the logits, both calibrated on the 1437 training images", left=(7,))
    for name, st in status.items():
        if st != "ok":
            log(f"  {name}: {st}")

    samples = {}
    for r in range(ctx["rounds"]):
        order = jobs[r % max(1, len(jobs)):] + jobs[:r % max(1, len(jobs))]
        for name, lab in order:
            n = int(min(100, max(5, 400 / max(iters[(name, lab)], 1e-3))))
            try:
                if lab == "lathe-int8":
                    rep, _ = run_lathe(models[name]["mlir"], tmp, f"{name}.{lab}.t",
                                       inputs=[models[name]["test_x"]], repeat=n,
                                       extra=ctx["lathe_extra"] + ["--precision=int8",
                                       f"--calibration-data={models[name]['calib_h5']}"])
                    ms = rep["latency_ms"]["median"]
                else:
                    ms = ort.ask({"cmd": "time", "key": name, "iters": n,
                                  "warmup": 2})["median_ms"]
                samples.setdefault((name, lab), []).append(ms)
            except Exception as e:  # noqa: BLE001
                log(f"  round {r + 1}: {name}/{lab} failed: {first_line(e)}")
    ort.close()
    rows, ratios, deltas = [], {}, {}
    for name in models:
        if status.get(name) != "ok":
            continue
        a, b = samples.get((name, "lathe-int8")), samples.get((name, "ort-int8"))
        if not a or not b:
            continue
        la, ob = statistics.median(a), statistics.median(b)
        ratios[name] = la / ob
        deltas[name] = acc[(name, "lathe-int8")] - acc[(name, "lathe-f32")]
        rows.append([name, f"{la:.3f}", f"{ob:.3f}", f"{ratios[name]:.2f}",
                     f"{deltas[name]:+.4f}"])
    table(["model", "lathe int8 ms", "ort int8 ms", "Lathe/ort", "Lathe int8 - f32 acc"], rows,
          f"[6b] int8 latency per call (batch 360), median over {ctx['rounds']} interleaved "
          f"rounds, {threads} threads")
    if not ratios:
        return "nan", "nan"
    worst_delta = max(deltas.values(), key=abs)
    log(f"  int8_accuracy_delta goal |delta| <= 0.005: "
        f"{'met' if abs(worst_delta) <= 0.005 else 'missed'} ({worst_delta:+.4f})")
    return f"{max(ratios.values()):.3f}", f"{worst_delta:+.4f}"
