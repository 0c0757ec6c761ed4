#!/usr/bin/python3
"""aggregate_module.py NAME_DIR OUT_DIR [--width F]: Y = Â·X on a real LINQS graph (Cora,
CiteSeer: NAME_DIR holds NAME.content[.gz] and NAME.cites) as an MLIR module whose adjacency is
constant, so that sparsegcn-tile sees it (and may reorder it at compile time).

Writes OUT_DIR/agg.mlir (@main(%x: tensor<NxFxf32>) -> tensor<NxFxf32>, Â's CSR as arith.constant,
int64 indices), OUT_DIR/x.npy (random normal, seed F) and OUT_DIR/ref.npy (scipy's float64
product, rounded to f32)."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import graphs  # noqa: E402


def hex_dense(a):
    return '"0x' + np.ascontiguousarray(a).tobytes().hex().upper() + '"'


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("out")
    p.add_argument("--width", type=int, default=64)
    args = p.parse_args()
    name = os.path.basename(os.path.normpath(args.data))
    a = graphs.gcn_normalize(graphs.load_linqs(args.data, name)[2])
    n, nnz, f = a.shape[0], a.nnz, args.width
    os.makedirs(args.out, exist_ok=True)
    x = np.random.default_rng(f).standard_normal((n, f)).astype(np.float32)
    np.save(os.path.join(args.out, "x.npy"), x)
    np.save(os.path.join(args.out, "ref.npy"),
            (a.astype(np.float64) @ x.astype(np.float64)).astype(np.float32))
    t = f"tensor<{n}x{f}xf32>"
    with open(os.path.join(args.out, "agg.mlir"), "w") as fh:
        fh.write(f"""// Â·X on {name} ({n} nodes, {nnz} non-zeros), written by aggregate_module.py
func.func @main(%x: {t}) -> {t} {{
  %rp = arith.constant dense<{hex_dense(a.indptr.astype(np.int64))}> : tensor<{n + 1}xi64>
  %ci = arith.constant dense<{hex_dense(a.indices.astype(np.int64))}> : tensor<{nnz}xi64>
  %v = arith.constant dense<{hex_dense(a.data.astype(np.float32))}> : tensor<{nnz}xf32>
  %e = tensor.empty() : {t}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<{n + 1}xi64>, tensor<{nnz}xi64>, tensor<{nnz}xf32>) [{n}, {n}]
         ins(%x : {t}) outs(%e : {t}) -> {t}
  return %y : {t}
}}
""")


if __name__ == "__main__":
    main()
