#!/usr/bin/env python3
"""Model, data and checks for precision-int8.test.

usage: int8_digits.py make DIR    trains a small CNN on sklearn's digits with
                                  PyTorch (scripts/training.py's split, seed
                                  0; inputs scaled to [-1, 1]; no ReLU after
                                  the first convolution, so the second
                                  convolution's input is signed) and writes
                                  DIR/cnn.onnx, DIR/train.h5 (x [1437, 1, 8, 8]
                                  f32, labels), DIR/test.h5 (the 360-image
                                  test split), and bad calibration files
       int8_digits.py check DIR   checks DIR/int8.npy (lathe-run
                                  --precision=int8 on the test split, report
                                  DIR/int8.json) against DIR/f32.npy and
                                  against numpy's own int8 simulation of the
                                  network with the report's ranges; prints
                                  the accuracies
"""
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "scripts"))


def make(d):
    import torch
    from training import digits_split, fit_classifier
    torch.set_num_threads(2)
    x_tr, x_te, y_tr, y_te = digits_split()
    x_tr = (x_tr * 2 - 1).reshape(-1, 1, 8, 8)
    x_te = (x_te * 2 - 1).reshape(-1, 1, 8, 8)
    for name, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
        with h5py.File(f"{d}/{name}.h5", "w") as f:
            f["x"], f["labels"] = x, y
    with h5py.File(f"{d}/wrong_name.h5", "w") as f:
        f["images"] = x_tr
    bad = x_tr.copy()
    bad[3, 0, 2, 2] = np.nan
    with h5py.File(f"{d}/nan.h5", "w") as f:
        f["x"] = bad
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 2 * 2, 10))
    opt = torch.optim.Adam(cnn.parameters(), lr=3e-3)
    fit_classifier(cnn, opt, x_tr, y_tr, epochs=15, seed=0)
    torch.onnx.export(cnn, torch.zeros(1, 1, 8, 8), f"{d}/cnn.onnx",
                      input_names=["x"], output_names=["logits"],
                      opset_version=13,
                      dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})


def quantize(x, lo, hi):
    """The runtime's per-tensor input quantization: u8 for a non-negative
    range, s8 symmetric otherwise; returns integers and the step."""
    if lo >= 0:
        s, qmin, qmax = (hi / 255 if hi > 0 else 1.0), 0, 255
    else:
        s, qmin, qmax = max(-lo, hi) / 127, -128, 127
    s = np.float32(s)
    q = np.clip(np.rint(x.astype(np.float32) * (np.float32(1) / s)), qmin, qmax)
    return q.astype(np.int64), np.float64(s)


def quantize_weights(w, qmax):
    """Symmetric s8 per output channel (dimension 0), |q| <= qmax."""
    m = np.abs(w).reshape(w.shape[0], -1).max(1)
    s = np.where(m > 0, m / qmax, 1).astype(np.float32)
    q = np.clip(np.rint(w / s.reshape(-1, *[1] * (w.ndim - 1))), -qmax, qmax)
    return q.astype(np.int64), s.astype(np.float64)


def conv_int8(x, w, b, rng, qmax):
    """3x3 convolution, padding 1, in integers; dequantized f64 output. With
    qmax 63 (no VNNI/AMX-INT8) an s8 input keeps 8-bit weights, which
    oneDNN's AVX2 kernels halve (rounding half to even), as the runtime
    expects."""
    qx, sx = quantize(x, *rng)
    signed = rng[0] < 0
    qw, sw = quantize_weights(w, 127 if signed else qmax)
    if signed and qmax == 63:
        qw = np.rint(qw * 0.5) * 2
    n, c, h, wd = x.shape
    p = np.pad(qx, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([p[:, :, i:i + h, j:j + wd] for i in range(3)
                     for j in range(3)], axis=2)  # n, c, 9, h, w
    acc = np.einsum("nckhw,fck->nfhw", cols, qw.reshape(qw.shape[0], c, 9))
    return acc * (sx * sw).reshape(1, -1, 1, 1) + b.reshape(1, -1, 1, 1)


def pool(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def conv_f64(x, w, b):
    """3x3 convolution, padding 1, in float64."""
    n, c, h, wd = x.shape
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([p[:, :, i:i + h, j:j + wd] for i in range(3)
                     for j in range(3)], axis=2)  # n, c, 9, h, w
    acc = np.einsum("nckhw,fck->nfhw", cols, w.reshape(w.shape[0], c, 9))
    return acc + b.reshape(1, -1, 1, 1)


def simulate(params, x, ranges, qmax):
    """The network in integers, except the first convolution (one input
    channel), which the runtime keeps in f32 (simulated in float64); weights
    in 7 bits (qmax 63) where the CPU has no VNNI/AMX-INT8, as the runtime
    does."""
    w1, b1, w2, b2, wl, bl = params
    y = pool(conv_f64(x, w1, b1))
    y = pool(np.maximum(conv_int8(y, w2, b2, ranges[1], qmax), 0))
    y = y.reshape(len(y), -1)
    qy, sy = quantize(y, *ranges[2])
    qw, sw = quantize_weights(wl, qmax)  # [10, 128]: channels are the outputs
    return (qy @ qw.T) * (sy * sw) + bl


def check(d):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(f"{d}/cnn.onnx")
    init = {t.name: numpy_helper.to_array(t).astype(np.float64)
            for t in m.graph.initializer}
    names = [n for n in init]
    ws = [init[n] for n in names if init[n].ndim > 1]
    bs = [init[n] for n in names if init[n].ndim == 1]
    params = (ws[0], bs[0], ws[1], bs[1], ws[2], bs[2])
    rep = json.load(open(f"{d}/int8.json"))
    assert rep["precision"]["requested"] == "int8", rep["precision"]
    kernels = rep["int8"]["kernels"]
    assert len(kernels) == 3, kernels
    # One input channel: f32, which is faster there (Int8.h).
    assert kernels[0]["precision"] == ("f32 (fewer than 8 input channels: "
                                       "oneDNN's f32 kernel is faster)"), \
        kernels[0]
    for k in kernels[1:]:
        assert k["precision"].startswith("int8 ("), k
    ranges = [tuple(k["input_range"]) for k in kernels]
    assert ranges[1][0] < 0 and ranges[2][0] >= 0, ranges  # s8, then u8
    calls = rep["kernels"]
    assert calls["conv2d_pool"]["calls"] == 1, calls
    assert calls["conv2d_pool_int8"]["calls"] == 1, calls
    assert calls["matmul_int8"]["calls"] == 1, calls
    with h5py.File(f"{d}/test.h5") as f:
        x, y = np.asarray(f["x"]), np.asarray(f["labels"])
    got, f32 = np.load(f"{d}/int8.npy"), np.load(f"{d}/f32.npy")
    qmax = 127 if rep["int8"]["vnni_or_amx"] else 63
    sim = simulate(params, x.astype(np.float64), ranges, qmax)
    scale = np.abs(f32).max()
    err_sim = np.abs(got - sim).max() / scale
    err_f32 = np.abs(got - f32).max() / scale
    # Same integers, same scales: only float rounding (and a rare rounding
    # tie of an input) may differ from the simulation.
    assert err_sim <= 2e-3, f"int8 vs numpy int8 simulation: {err_sim}"
    assert err_f32 <= 5e-2, f"int8 vs f32: {err_f32}"
    acc8 = float((got.argmax(1) == y).mean())
    acc32 = float((f32.argmax(1) == y).mean())
    assert acc32 >= 0.9, acc32
    assert abs(acc8 - acc32) <= 0.005, (acc8, acc32)
    err = rep["int8"]["error_vs_f32_first_batch"][0]
    assert 0 < err["rel_err"] <= 5e-2, err
    print(f"int8 vs simulation {err_sim:.2e}, vs f32 {err_f32:.2e}; "
          f"accuracy f32 {acc32:.4f} int8 {acc8:.4f}")


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
