#!/usr/bin/env python3
"""Exports one small PyTorch module that uses ConvTranspose, Resize, LSTM or GRU.

usage: torch_resample_rnn.py KIND OUTDIR [--opset N] [--dynamic]

Writes OUTDIR/model.onnx, the inputs OUTDIR/x0.npy, x1.npy, ... (in the model's input
order) and PyTorch's eager outputs OUTDIR/ref0.npy, ref1.npy, ... (computed in float64,
stored as float32). --dynamic exports the first input's batch dimension as symbolic (both
sequence and batch for the recurrent modules). KIND is one of the keys of MODELS.
"""
import argparse
import os
import warnings

import numpy as np
import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore")


class Interp(torch.nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.kw = kw

    def forward(self, x):
        return F.interpolate(x, **self.kw)


class Rnn(torch.nn.Module):
    """All of an LSTM's / GRU's outputs, with the initial state as inputs when asked."""

    def __init__(self, rnn, state_inputs):
        super().__init__()
        self.rnn = rnn
        self.state_inputs = state_inputs

    def forward(self, x, *state):
        if not self.state_inputs:
            y, s = self.rnn(x)
        elif isinstance(self.rnn, torch.nn.LSTM):
            y, s = self.rnn(x, (state[0], state[1]))
        else:
            y, s = self.rnn(x, state[0])
        return (y,) + (tuple(s) if isinstance(s, tuple) else (s,))


def rnn_case(cls, seq, batch, inp, hidden, state_inputs=False, **kw):
    m = Rnn(cls(inp, hidden, **kw), state_inputs)
    bf = kw.get("batch_first", False)
    x = torch.randn(batch, seq, inp) if bf else torch.randn(seq, batch, inp)
    inputs = [x]
    if state_inputs:
        dirs = 2 if kw.get("bidirectional") else 1
        n = dirs * kw.get("num_layers", 1)
        inputs.append(0.5 * torch.randn(n, batch, hidden))
        if cls is torch.nn.LSTM:
            inputs.append(0.5 * torch.randn(n, batch, hidden))
    return m, inputs


MODELS = {
    # ConvTranspose: strides, pads, output_padding, groups, dilation, bias.
    "convt2d": lambda: (torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1,
                                                 groups=2, dilation=2), [torch.randn(2, 4, 5, 6)]),
    # Padding beyond the kernel span (crops), rectangular kernel, no bias.
    "convt2d_crop": lambda: (torch.nn.ConvTranspose2d(3, 5, (3, 2), stride=(2, 3), padding=(3, 0),
                                                      bias=False), [torch.randn(1, 3, 5, 4)]),
    "convt1d": lambda: (torch.nn.ConvTranspose1d(3, 4, 5, stride=3, padding=2, output_padding=1),
                        [torch.randn(2, 3, 7)]),
    # Resize as PyTorch exports nn.Upsample / F.interpolate.
    "up_nearest": lambda: (torch.nn.Upsample(scale_factor=2, mode="nearest"),
                           [torch.randn(1, 2, 3, 4)]),
    "up_nearest_size": lambda: (Interp(size=(5, 7), mode="nearest"), [torch.randn(2, 3, 3, 4)]),
    "down_nearest_size": lambda: (Interp(size=(2, 3), mode="nearest"), [torch.randn(1, 2, 5, 7)]),
    "up_nearest_1d": lambda: (Interp(scale_factor=3, mode="nearest"), [torch.randn(2, 3, 4)]),
    "up_bilinear_ac": lambda: (torch.nn.Upsample(scale_factor=2, mode="bilinear",
                                                 align_corners=True), [torch.randn(1, 2, 3, 4)]),
    "up_bilinear": lambda: (Interp(scale_factor=2, mode="bilinear", align_corners=False),
                            [torch.randn(2, 3, 3, 4)]),
    "up_bilinear_size": lambda: (Interp(size=(5, 7), mode="bilinear", align_corners=False),
                                 [torch.randn(1, 2, 3, 4)]),
    "down_bilinear_ac_size": lambda: (Interp(size=(3, 2), mode="bilinear", align_corners=True),
                                      [torch.randn(1, 2, 6, 5)]),
    # Recurrent modules: every output (Y, and the final states).
    "lstm_bidir2": lambda: rnn_case(torch.nn.LSTM, 5, 3, 4, 6, num_layers=2, bidirectional=True),
    "lstm_state_bf": lambda: rnn_case(torch.nn.LSTM, 4, 2, 3, 5, state_inputs=True,
                                      batch_first=True),
    "gru_bidir2": lambda: rnn_case(torch.nn.GRU, 5, 3, 4, 6, num_layers=2, bidirectional=True),
    "gru_state_bf": lambda: rnn_case(torch.nn.GRU, 4, 2, 3, 5, state_inputs=True,
                                     batch_first=True, bidirectional=True),
    # One layer, one direction, no initial state; two layers with states.
    "lstm_1l": lambda: rnn_case(torch.nn.LSTM, 7, 3, 8, 16),
    "gru_1l": lambda: rnn_case(torch.nn.GRU, 7, 3, 8, 16),
    "lstm_2l_state": lambda: rnn_case(torch.nn.LSTM, 6, 4, 5, 9, state_inputs=True, num_layers=2),
    "gru_2l_state": lambda: rnn_case(torch.nn.GRU, 6, 4, 5, 9, state_inputs=True, num_layers=2),
    # Batch 1 (the importer's reshapes of x fold the unit batch differently).
    "lstm_b1_bidir2": lambda: rnn_case(torch.nn.LSTM, 5, 1, 4, 6, num_layers=2, bidirectional=True),
    "lstm_b1_bf": lambda: rnn_case(torch.nn.LSTM, 4, 1, 3, 5, batch_first=True),
    "gru_b1_bidir2": lambda: rnn_case(torch.nn.GRU, 5, 1, 4, 6, num_layers=2, bidirectional=True),
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=sorted(MODELS))
    p.add_argument("outdir")
    p.add_argument("--opset", type=int, default=13)
    p.add_argument("--dynamic", action="store_true")
    a = p.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    torch.manual_seed(sum(map(ord, a.kind)))
    model, inputs = MODELS[a.kind]()
    model.eval()
    with torch.no_grad():
        refs = model.double()(*[t.double() for t in inputs])
    if isinstance(refs, torch.Tensor):
        refs = (refs,)
    model.float()
    names = [f"x{i}" for i in range(len(inputs))]
    outs = [f"y{i}" for i in range(len(refs))]
    rnn = a.kind.startswith(("lstm", "gru"))
    dyn = {names[0]: {0: "d0", 1: "d1"} if rnn else {0: "d0"}} if a.dynamic else None
    torch.onnx.export(model, tuple(inputs), os.path.join(a.outdir, "model.onnx"),
                      opset_version=a.opset, input_names=names, output_names=outs,
                      dynamic_axes=dyn)
    for i, t in enumerate(inputs):
        np.save(os.path.join(a.outdir, f"x{i}.npy"), t.numpy())
    for i, r in enumerate(refs):
        np.save(os.path.join(a.outdir, f"ref{i}.npy"), r.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
