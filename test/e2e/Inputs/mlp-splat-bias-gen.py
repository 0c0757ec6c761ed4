"""Writes the MLP of test/e2e/mlp-splat-bias-bf16.test and its reference.

usage: mlp-splat-bias-gen.py OUTDIR

  mlp.mlir  x [32,48] -> linear 48->64 + splat bias 0.25 + ReLU (cmpf ugt +
            select, as torch-mlir writes it) -> linear 64->64 + splat bias
            -0.125 + ReLU -> linear 64->10 + splat bias 0.5 -> y [32,10].
            Random weights (resources), splat biases as torch-mlir writes a
            model whose biases are constant: canonicalization folds each into
            a scalar add in the element-wise body.
  x.npy     the input; row 3 holds a NaN (ReLU keeps it: `ugt` is true for
            NaN), row 5 a +Inf.
  ref.npy   the reference in float64 (numpy) from the same float32 weights.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "scripts"))
from mlir_emit import resource_hex  # noqa: E402

LAYERS = [(48, 64, 0.25, True), (64, 64, -0.125, True), (64, 10, 0.5, False)]
BATCH = 32


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(7)
    x = rng.standard_normal((BATCH, LAYERS[0][0])).astype(np.float32)
    x[3, 5] = np.nan
    x[5, 7] = np.inf
    lines = ["func.func @main(%x: tensor<32x48xf32>) -> tensor<32x10xf32> {"]
    resources = []
    ref = x.astype(np.float64)
    cur = "%x"
    for i, (k, n, b, relu) in enumerate(LAYERS):
        w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
        resources.append(f"      w{i}: \"{resource_hex(w)}\"")
        h = ref @ w.astype(np.float64).T + b
        ref = np.where(~(h <= 0), h, 0.0) if relu else h  # cmpf ugt keeps NaN
        lines += [
            f"  %w{i} = arith.constant dense_resource<w{i}> : tensor<{n}x{k}xf32>",
            f"  %b{i} = arith.constant dense<{b}> : tensor<{n}xf32>",
            f"  %e{i} = tensor.empty() : tensor<{BATCH}x{n}xf32>",
            f"  %f{i} = linalg.fill ins(%zero_{i} : f32) outs(%e{i} : tensor<{BATCH}x{n}xf32>)"
            f" -> tensor<{BATCH}x{n}xf32>",
            f"  %m{i} = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,"
            " affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>]"
            f" ins({cur}, %w{i} : tensor<{BATCH}x{k}xf32>, tensor<{n}x{k}xf32>)"
            f" outs(%f{i} : tensor<{BATCH}x{n}xf32>) -> tensor<{BATCH}x{n}xf32>",
            f"  %y{i} = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,"
            " affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>],"
            " iterator_types = [\"parallel\", \"parallel\"]}"
            f" ins(%m{i}, %b{i} : tensor<{BATCH}x{n}xf32>, tensor<{n}xf32>)"
            f" outs(%e{i} : tensor<{BATCH}x{n}xf32>) {{",
            "  ^bb0(%a: f32, %c: f32, %o: f32):",
            "    %s = arith.addf %a, %c : f32",
        ]
        if relu:
            lines += ["    %z = arith.constant 0.0 : f32",
                      "    %gt = arith.cmpf ugt, %s, %z : f32",
                      "    %r = arith.select %gt, %s, %z : f32",
                      "    linalg.yield %r : f32"]
        else:
            lines.append("    linalg.yield %s : f32")
        lines.append(f"  }} -> tensor<{BATCH}x{n}xf32>")
        lines.insert(1, f"  %zero_{i} = arith.constant 0.0 : f32")
        cur = f"%y{i}"
    lines += [f"  return {cur} : tensor<{BATCH}x10xf32>", "}", "",
              "{-#", "  dialect_resources: {", "    builtin: {", ",\n".join(resources),
              "    }", "  }", "#-}"]
    with open(os.path.join(out, "mlp.mlir"), "w") as f:
        f.write("\n".join(lines) + "\n")
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "ref.npy"), ref)


if __name__ == "__main__":
    main()
