"""Checks test/e2e/mlp-splat-bias-bf16.test's bf16 run.

usage: mlp-splat-bias-check.py OUT.npy REF.npy REPORT.json KERNELS.mlir

NaN and infinities exactly where the float64 reference has them; finite values
within 2e-2 of max|finite ref| (bf16 operands, f32 accumulation). Where the
report says bf16 ran (a CPU with bf16 instructions), all 3 matmuls ran in
bf16 and the IR after the kernels phase has the bias and ReLU in the matmuls
and the hidden activations in bf16; elsewhere they ran in f32.
"""
import json
import sys

import numpy as np


def main():
    out, ref = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2])
    assert out.shape == ref.shape, (out.shape, ref.shape)
    assert (np.isnan(out) == np.isnan(ref)).all(), "NaN positions differ"
    fin = np.isfinite(ref)
    assert (np.isfinite(out) == fin).all() and (out[~fin & ~np.isnan(ref)] ==
                                                ref[~fin & ~np.isnan(ref)]).all(), "infinities"
    err = np.abs(out[fin] - ref[fin]).max()
    scale = np.abs(ref[fin]).max()
    assert err <= 2e-2 * scale, (err, scale)
    report = json.load(open(sys.argv[3]))
    kernels, precision = report["kernels"], report["precision"]["effective"]
    ir = open(sys.argv[4]).read()
    assert ir.count("lathe.matmul") == 3 and "linalg.generic" not in ir, ir
    assert ir.count("activation = #lathe<activation relu>") == 2, ir
    assert ir.count("bias(") == 3, ir
    if precision == "bf16":
        assert kernels["matmul_bf16"]["calls"] == 3, kernels
        assert ir.count("tensor<32x64xbf16>") >= 4, ir
    else:
        assert kernels["matmul"]["calls"] == 3, kernels
        assert "bf16" not in ir, ir
    print(f"ok: {precision}, max abs err {err:.3g} (max|ref| {scale:.3g})")


if __name__ == "__main__":
    main()
