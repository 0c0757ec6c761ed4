"""What the graph generators of this folder share (imported, not run): the module they print,
one function applying sparsegcn.aggregate to a constant int32 CSR adjacency, and the
lathe-run inputs they write."""
import os

import numpy as np


def hexed(arr):
    return '"0x' + np.ascontiguousarray(arr).tobytes().hex().upper() + '"'


def print_module(name, a, width):
    """Prints func.func @name(%x: tensor<N x width x f32>) returning A·X, where `a` is a
    scipy CSR matrix (f32 values) held as arith.constant with int32 indices."""
    n, nnz = a.shape[0], a.nnz
    ftype = f"{n}x{width}xf32"
    print(f"""func.func @{name}(%x: tensor<{ftype}>) -> tensor<{ftype}> {{
  %rp = arith.constant dense<{hexed(a.indptr.astype(np.int32))}> : tensor<{n + 1}xi32>
  %ci = arith.constant dense<{hexed(a.indices.astype(np.int32))}> : tensor<{nnz}xi32>
  %v = arith.constant dense<{hexed(a.data)}> : tensor<{nnz}xf32>
  %e = tensor.empty() : tensor<{ftype}>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<{n + 1}xi32>, tensor<{nnz}xi32>, tensor<{nnz}xf32>) [{n}, {n}]
         ins(%x : tensor<{ftype}>) outs(%e : tensor<{ftype}>) -> tensor<{ftype}>
  return %y : tensor<{ftype}>
}}""")


def save_inputs(out_dir, a, x):
    """Writes out_dir/x.npy and out_dir/ref.npy (A·X by scipy in float64: the aggregation
    sums stored entries only, so NaN or Inf in x reaches only the rows that store an entry
    of its row)."""
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, "x.npy"), x)
    np.save(os.path.join(out_dir, "ref.npy"), a.astype(np.float64) @ x.astype(np.float64))
