#!/usr/bin/python3
"""check_orders.py DATA_DIR [NAME ...]: the runtime's node orderings on real graphs, against
scipy (test/e2e/gcn-reorder-cora.test).

For each LINQS data set NAME (default: cora) under DATA_DIR, on Â = D^-1/2 (A+I) D^-1/2:
- lathe_rt_graph_order(degree | rcm | cluster) returns a permutation; degree is non-increasing
  in the symmetrised degree; RCM's bandwidth is at most 1.25x that of scipy's
  reverse_cuthill_mckee (an independent implementation) on the same pattern;
- lathe_rt_spmm_tiled_f32 with each LATHE_SPMM_REORDER_* flag (degree, rcm, cluster, auto),
  runtime classification at a low threshold (so that dense tiles appear and the permuted plan
  runs) gives the scipy float64 product to compare_npy's tolerance.
The runtime library is found beside the lathe-run on PATH (build/bin -> build/lib).
Exits non-zero naming the first check that failed.
"""
import os
import shutil
import sys

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import graphs  # noqa: E402
import lathe_spmm  # noqa: E402


def bandwidth(a, perm):
    b = a[perm][:, perm].tocoo()
    return int(np.abs(b.row - b.col).max())


def main():
    data = sys.argv[1]
    names = sys.argv[2:] or ["cora"]
    run = shutil.which("lathe-run")
    lib = (os.path.join(os.path.dirname(os.path.dirname(run)), "lib", "libLatheRuntime.so")
           if run else lathe_spmm.find_library())
    rt = lathe_spmm.Runtime(lib)
    for name in names:
        adj = graphs.load_linqs(os.path.join(data, name), name)[2]
        a = graphs.gcn_normalize(adj)
        a.indptr, a.indices = a.indptr.astype(np.int32), a.indices.astype(np.int32)
        n = a.shape[0]
        pattern = ((adj + adj.T) > 0).astype(np.float32).tocsr()
        degree = np.diff(pattern.indptr)
        for kind in ["degree", "rcm", "cluster"]:
            perm = rt.graph_order(kind, a, 32)
            if not np.array_equal(np.sort(perm), np.arange(n)):
                sys.exit(f"{name}: {kind} order is not a permutation of [0, {n})")
            if kind == "degree" and np.any(np.diff(degree[perm]) > 0):
                sys.exit(f"{name}: degree order is not by non-increasing degree")
            if kind == "rcm":
                ours = bandwidth(a, perm)
                ref = bandwidth(a, reverse_cuthill_mckee(pattern, symmetric_mode=True))
                print(f"{name}: RCM bandwidth {ours} (scipy {ref}, original "
                      f"{bandwidth(a, np.arange(n))})")
                if ours > 1.25 * ref:
                    sys.exit(f"{name}: RCM bandwidth {ours} > 1.25 x scipy's {ref}")
        for f in [7, 64]:
            x = lathe_spmm.aligned_copy(
                np.random.default_rng(f).standard_normal((n, f)).astype(np.float32))
            ref = a.astype(np.float64) @ x.astype(np.float64)
            for kind in ["degree", "rcm", "cluster", "auto"]:
                y = lathe_spmm.aligned_empty((n, f))
                flags = lathe_spmm.CONST_A | (lathe_spmm.ORDERS[kind] << lathe_spmm.REORDER_SHIFT)
                for _ in range(2):  # builds the plan, then reuses it
                    y[...] = np.nan
                    rt.tiled_call(a, x, y, 16, threshold=0.15, flags=flags)()
                    rt.check()
                    err = np.abs(y - ref)
                    bound = 1e-4 * (np.abs(ref) + 0.1 * np.abs(ref).max())
                    if not np.all(err <= bound):
                        sys.exit(f"{name}: tiled kernel with reorder={kind}, F={f} differs "
                                 f"from scipy (max |err| {err.max():.3e})")
            rt.lib.lathe_rt_spmm_clear_plans()
        print(f"{name}: orderings and reordered products match scipy")


if __name__ == "__main__":
    main()
