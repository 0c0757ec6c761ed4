"""Data files for lathe-compress tests on the digits MLP.

usage: compress_data.py OUTDIR
Writes OUTDIR/val.h5: the 360 images of the digits split that the example MLP
(scripts/gen_examples.py) was not trained on, as dataset 'input0' [360, 64]
f32 (its @main has no lathe.name, so its argument is input0) and 'labels'
[360] i64; the same as val_x.npy / val_y.npy; and bad files for the error
tests: nox.h5 (no 'input0'), badlabels.h5 (labels [360, 1]), fewlabels.h5
(359 labels), floatlabels.h5 (f32 labels), wrongshape.h5 (input0 [360, 32]),
img.h5 (the images as [360, 1, 8, 8] under 'img'); train.h5 (the training
split, for --finetune); identity.mlir and ident.h5,
a model that every factorization makes worse (below), and identity_b256.mlir, the
same at a static batch of 256.
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "scripts"))
from training import digits_split  # noqa: E402

d = sys.argv[1]
x_tr, x_te, y_tr, y_te = digits_split()
x, y = x_te.astype(np.float32), y_te.astype(np.int64)
with h5py.File(f"{d}/train.h5", "w") as f:
    f["input0"], f["labels"] = x_tr.astype(np.float32), y_tr.astype(np.int64)
with h5py.File(f"{d}/val.h5", "w") as f:
    f["input0"], f["labels"] = x, y
with h5py.File(f"{d}/nox.h5", "w") as f:
    f["x"], f["labels"] = x, y
with h5py.File(f"{d}/badlabels.h5", "w") as f:
    f["input0"], f["labels"] = x, y.reshape(-1, 1)
with h5py.File(f"{d}/fewlabels.h5", "w") as f:
    f["input0"], f["labels"] = x, y[:-1]
with h5py.File(f"{d}/floatlabels.h5", "w") as f:
    f["input0"], f["labels"] = x, y.astype(np.float32)
with h5py.File(f"{d}/wrongshape.h5", "w") as f:
    f["input0"], f["labels"] = x[:, :32], y
np.save(f"{d}/val_x.npy", x)
np.save(f"{d}/val_y.npy", y)
with h5py.File(f"{d}/img.h5", "w") as f:
    f["img"], f["labels"] = x.reshape(-1, 1, 8, 8), y
# A model no factorization keeps accurate: logits = x · I (64 classes, a flat
# spectrum), labels = argmax(x).
rng = np.random.default_rng(0)
xi = rng.standard_normal((360, 64)).astype(np.float32)
with h5py.File(f"{d}/ident.h5", "w") as f:
    f["input0"], f["labels"] = xi, xi.argmax(1).astype(np.int64)
eye = ", ".join("[" + ", ".join("1.0" if i == j else "0.0" for j in range(64)) + "]"
                for i in range(64))
for name, n in (("identity", "?"), ("identity_b256", "256")):
    dim = (" %c0 = arith.constant 0 : index\n  %n = tensor.dim %x, %c0 : tensor<?x64xf32>\n"
           if n == "?" else "")
    empty = "tensor.empty(%n)" if n == "?" else "tensor.empty()"
    with open(f"{d}/{name}.mlir", "w") as f:
        f.write(f"""func.func @main(%x: tensor<{n}x64xf32>) -> tensor<{n}x64xf32> {{
 {dim}  %w = arith.constant dense<[{eye}]> : tensor<64x64xf32>
  %e = {empty} : tensor<{n}x64xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<{n}x64xf32>) -> tensor<{n}x64xf32>
  %y = linalg.matmul ins(%x, %w : tensor<{n}x64xf32>, tensor<64x64xf32>) outs(%f : tensor<{n}x64xf32>) -> tensor<{n}x64xf32>
  return %y : tensor<{n}x64xf32>
}}
""")
