"""Independent checks of a lathe-compress result (lathe-compress.test).

usage: compress_check.py DENSE.mlir SMALL.mlir DENSE_LOGITS.npy SMALL_LOGITS.npy LABELS.npy BUDGET
Asserts that the validation accuracy of the written model (argmax of the
logits lathe-run computed) is at most BUDGET below the dense model's, that at
least one layer is a lowrank.linear, and that the FLOPs of the matmuls
(dense: 2*M*N*K; factorized: 2*M*r*(K+N)) at M = 64 rows went down, counted
from the types in the IR text.
"""
import re
import sys

import numpy as np

dense_ir, small_ir, dense_logits, small_logits, labels, budget = sys.argv[1:]
budget = float(budget)
y = np.load(labels)
acc_dense = float((np.load(dense_logits).argmax(1) == y).mean())
acc_small = float((np.load(small_logits).argmax(1) == y).mean())
print(f"val accuracy dense {acc_dense:.4f} compressed {acc_small:.4f}")
assert acc_dense - acc_small <= budget + 1e-9, (acc_dense, acc_small)

M = 64
TENSOR = re.compile(r"tensor<([0-9?x]+)xf32>")


def dims(t):
    return [int(d) if d != "?" else M for d in t.split("x")]


def flops(path):
    total, factorized = 0, 0
    for line in open(path):
        if "linalg.matmul" in line and "ins(" in line:
            a, b = TENSOR.findall(line.split("ins(", 1)[1])[:2]
            (m, k), (n0, n1) = dims(a), dims(b)
            n = n0 if n1 == k else n1
            total += 2 * m * n * k
        elif "lowrank.linear" in line:
            x, u, v = TENSOR.findall(line.rsplit(" : (", 1)[1])[:3]
            m, k = dims(x)
            n, r = dims(u)
            total += 2 * m * r * (k + n)
            factorized += 1
    return total, factorized


fd, _ = flops(dense_ir)
fs, nf = flops(small_ir)
print(f"flops dense {fd} compressed {fs} kept {fs / fd:.3f} factorized layers {nf}")
assert nf >= 1 and fs < fd, (fd, fs, nf)
