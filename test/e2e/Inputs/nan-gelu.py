"""Input with NaN/Inf (and products that overflow) for the GELU model of
scripts/onnx/export_torch.py (Linear 16->32 + GELU), and PyTorch's output.

usage: nan-gelu.py MODEL.onnx {gelu,gelu_tanh} X_OUT REF_OUT

Row 0 holds +-1e30 (the product overflows to +-Inf before the activation),
row 1 a NaN, row 2 a +Inf; the rest are randn. The reference is PyTorch in
float64 on the model's float32 weights, with the pre-activation rounded to
float32 (where the float32 product overflows to +-Inf).
"""
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

F = torch.nn.functional


def main():
    model, kind, x_out, ref_out = sys.argv[1:5]
    init = {i.name: numpy_helper.to_array(i) for i in onnx.load(model).graph.initializer}
    w, b = init["fc.weight"].copy(), init["fc.bias"].copy()
    x = np.random.default_rng(3).standard_normal((4, w.shape[1])).astype(np.float32)
    x[0, :] = 1e30
    x[0, 1::2] = -1e30
    x[1, 3] = np.nan
    x[2, 4] = np.inf
    with np.errstate(over="ignore"):
        pre = F.linear(torch.from_numpy(x).double(), torch.from_numpy(w).double(),
                       torch.from_numpy(b).double()).numpy().astype(np.float32)
    y = F.gelu(torch.from_numpy(pre).double(),
               approximate="tanh" if kind == "gelu_tanh" else "none")
    np.save(x_out, x)
    np.save(ref_out, y.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
