"""gcn_bad_graph.py DIR KIND: writes DIR/bad.mlir + DIR/bad.h5 + DIR/x.npy, an aggregation over
a 4-node CSR read with lathe.weight whose data is broken the way KIND says: out-of-range
(a column index 7), non-monotonic (row_ptr 0,3,2,...), features (x has 3 rows instead of 4,
checked by lathe-run against the entry's type), or good."""
import os
import sys

import h5py
import numpy as np

out, kind = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rp = np.array([0, 2, 3, 5, 6], np.int64)
ci = np.array([0, 1, 1, 0, 2, 3], np.int64)
if kind == "out-of-range":
    ci[4] = 7
if kind == "non-monotonic":
    rp[1], rp[2] = 3, 2
with h5py.File(os.path.join(out, "bad.h5"), "w") as f:
    f["/rp"] = rp
    f["/ci"] = ci
    f["/v"] = np.ones(6, np.float32)
rows = 3 if kind == "features" else 4
np.save(os.path.join(out, "x.npy"), np.ones((rows, 8), np.float32))
with open(os.path.join(out, "bad.mlir"), "w") as f:
    f.write("""func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %rp = lathe.weight #lathe.external<"bad.h5", "/rp"> : tensor<5xi64>
  %ci = lathe.weight #lathe.external<"bad.h5", "/ci"> : tensor<6xi64>
  %v = lathe.weight #lathe.external<"bad.h5", "/v"> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
""")
