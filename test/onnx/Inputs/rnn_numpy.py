#!/usr/bin/env python3
"""Writes an LSTM or GRU node with random weights and its numpy reference outputs.

usage: rnn_numpy.py CASE OUTDIR

Covers what PyTorch does not export: GRU with linear_before_reset 0, reverse direction
alone, layout 1, LSTM peepholes (P), only some outputs. Writes OUTDIR/model.onnx,
OUTDIR/x0.npy and OUTDIR/ref0.npy, ref1.npy, ... (the node's requested outputs in order,
computed in float64 with the ONNX operator definitions, stored as float32).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def sig(v):
    return 1 / (1 + np.exp(-v))


def lstm_dir(x, w, r, b, h, c, p, reverse):
    hid = r.shape[-1]
    y = np.zeros((x.shape[0],) + h.shape)
    for t in (reversed(range(x.shape[0])) if reverse else range(x.shape[0])):
        g = x[t] @ w.T + h @ r.T + b[:4 * hid] + b[4 * hid:]
        i, o, f, cc = np.split(g, 4, axis=-1)
        i = sig(i + p[:hid] * c)
        f = sig(f + p[2 * hid:] * c)
        c = f * c + i * np.tanh(cc)
        h = sig(o + p[hid:2 * hid] * c) * np.tanh(c)
        y[t] = h
    return y, h, c


def gru_dir(x, w, r, b, h, lbr, reverse):
    hid = r.shape[-1]
    wb, rb = b[:3 * hid], b[3 * hid:]
    rz, rr, rh = np.split(r, 3)
    y = np.zeros((x.shape[0],) + h.shape)
    for t in (reversed(range(x.shape[0])) if reverse else range(x.shape[0])):
        xz, xr, xh = np.split(x[t] @ w.T + wb, 3, axis=-1)
        z = sig(xz + h @ rz.T + rb[:hid])
        rg = sig(xr + h @ rr.T + rb[hid:2 * hid])
        if lbr:
            n = np.tanh(xh + rg * (h @ rh.T + rb[2 * hid:]))
        else:
            n = np.tanh(xh + (rg * h) @ rh.T + rb[2 * hid:])
        h = (1 - z) * n + z * h
        y[t] = h
    return y, h


# op, direction, layout, linear_before_reset, with B, with initial state, with P, outputs
CASES = {
    "gru_lbr0_bidir": ("GRU", "bidirectional", 0, 0, True, True, False, [0, 1]),
    "gru_lbr0_reverse_layout1": ("GRU", "reverse", 1, 0, False, True, False, [0, 1]),
    "gru_lbr1_reverse": ("GRU", "reverse", 0, 1, True, False, False, [1]),
    "lstm_peepholes_bidir_layout1": ("LSTM", "bidirectional", 1, 0, True, True, True, [0, 1, 2]),
    "lstm_reverse_states_only": ("LSTM", "reverse", 0, 0, True, False, False, [1, 2]),
}


def main():
    name, out = sys.argv[1], sys.argv[2]
    op, direction, layout, lbr, with_b, with_state, with_p, outputs = CASES[name]
    os.makedirs(out, exist_ok=True)
    rng = np.random.RandomState(sum(map(ord, name)))
    seq, batch, inp, hid = 5, 3, 4, 6
    gates = 4 if op == "LSTM" else 3
    dirs = 2 if direction == "bidirectional" else 1
    f32 = lambda *s: (0.5 * rng.randn(*s)).astype(np.float32)  # noqa: E731
    x = f32(seq, batch, inp)
    w, r = f32(dirs, gates * hid, inp), f32(dirs, gates * hid, hid)
    b = f32(dirs, 2 * gates * hid) if with_b else np.zeros((dirs, 2 * gates * hid), np.float32)
    h0 = f32(dirs, batch, hid) if with_state else np.zeros((dirs, batch, hid), np.float32)
    c0 = f32(dirs, batch, hid) if with_state else np.zeros((dirs, batch, hid), np.float32)
    p = f32(dirs, 3 * hid) if with_p else np.zeros((dirs, 3 * hid), np.float32)
    d64 = lambda a: a.astype(np.float64)  # noqa: E731
    ys, hs, cs = [], [], []
    for d in range(dirs):
        rev = direction == "reverse" or d == 1
        if op == "LSTM":
            y, h, c = lstm_dir(d64(x), d64(w[d]), d64(r[d]), d64(b[d]), d64(h0[d]), d64(c0[d]),
                               d64(p[d]), rev)
            cs.append(c)
        else:
            y, h = gru_dir(d64(x), d64(w[d]), d64(r[d]), d64(b[d]), d64(h0[d]), lbr, rev)
        ys.append(y)
        hs.append(h)
    refs = [np.stack(ys, 1), np.stack(hs), np.stack(cs) if cs else None]
    xin = x
    if layout == 1:
        xin = x.transpose(1, 0, 2)
        refs = [refs[0].transpose(2, 0, 1, 3), refs[1].transpose(1, 0, 2),
                refs[2].transpose(1, 0, 2) if cs else None]
        h0, c0 = h0.transpose(1, 0, 2), c0.transpose(1, 0, 2)
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R")]
    inputs = ["X", "W", "R", "", "", ""]
    if with_b:
        inits.append(numpy_helper.from_array(b, "B"))
        inputs[3] = "B"
    if with_state:
        inits.append(numpy_helper.from_array(h0, "h0"))
        inputs[5] = "h0"
        if op == "LSTM":
            inits.append(numpy_helper.from_array(c0, "c0"))
            inputs.append("c0")
    if with_p:
        while len(inputs) < 7:
            inputs.append("")
        inits.append(numpy_helper.from_array(p, "P"))
        inputs.append("P")
    names = ["Y", "Y_h", "Y_c"]
    node_outs = [names[i] if i in outputs else "" for i in range(max(outputs) + 1)]
    attrs = dict(hidden_size=hid, direction=direction)
    if layout:
        attrs["layout"] = 1
    if op == "GRU":
        attrs["linear_before_reset"] = lbr
    node = helper.make_node(op, inputs, node_outs, name="rnn", **attrs)
    outs = [helper.make_tensor_value_info(names[i], TensorProto.FLOAT, refs[i].shape)
            for i in outputs]
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT,
                                                                      xin.shape)],
                          outs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "model.onnx"))
    np.save(os.path.join(out, "x0.npy"), xin)
    for k, i in enumerate(outputs):
        np.save(os.path.join(out, f"ref{k}.npy"), refs[i].astype(np.float32))


if __name__ == "__main__":
    main()
