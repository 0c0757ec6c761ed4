"""Data files for lathe-compress tests on the digits MLP.

usage: compress_data.py OUTDIR
Writes OUTDIR/val.h5 (the last 300 images of the digits training split, dataset
'input0' [300, 64] f32 and 'labels' [300] i64: the example MLP's @main has no
lathe.name, so its argument is input0), and bad files for the error tests:
nox.h5 (no 'input0'), badlabels.h5 (labels [300, 1]), fewlabels.h5 (299
labels), floatlabels.h5 (f32 labels), wrongshape.h5 (input0 [300, 32]).
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "scripts"))
from training import digits_split  # noqa: E402

d = sys.argv[1]
x_tr, _, y_tr, _ = digits_split()
x, y = x_tr[-300:].astype(np.float32), y_tr[-300:].astype(np.int64)
with h5py.File(f"{d}/val.h5", "w") as f:
    f["input0"], f["labels"] = x, y
with h5py.File(f"{d}/nox.h5", "w") as f:
    f["x"], f["labels"] = x, y
with h5py.File(f"{d}/badlabels.h5", "w") as f:
    f["input0"], f["labels"] = x, y.reshape(-1, 1)
with h5py.File(f"{d}/fewlabels.h5", "w") as f:
    f["input0"], f["labels"] = x, y[:299]
with h5py.File(f"{d}/floatlabels.h5", "w") as f:
    f["input0"], f["labels"] = x, y.astype(np.float32)
with h5py.File(f"{d}/wrongshape.h5", "w") as f:
    f["input0"], f["labels"] = x[:, :32], y
np.save(f"{d}/val_x.npy", x)
np.save(f"{d}/val_y.npy", y)
