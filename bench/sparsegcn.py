#!/usr/bin/python3
"""bench/sparsegcn: H-GCN's saving measured here: density-tiled graph aggregation Y = Â·X.

    /usr/bin/python3 bench/sparsegcn.py              (from the repository root, after the build)
    /usr/bin/python3 bench/sparsegcn.py --calibrate --threads 1  (re-measures the cost-model table)

Reads Cora from ../shared/data/cora or $LATHE_DATA/cora (exits non-zero naming both paths when
neither exists); tools and the runtime from $LATHE_BUILD_DIR or ./build.

Graphs (all GCN-normalised, Â = D^-1/2 (A+I) D^-1/2): Cora; CiteSeer- and PubMed-sized
power-law graphs (Chung-Lu, same node and undirected edge counts: 3327/4552, 19717/44324);
a planted-community graph (4096 nodes, communities of 128 consecutive nodes, p_in = 0.5, about
2 random edges per node between communities): the graph with dense blocks.

Methods, each at feature widths 16, 64 and 256, all f32, all on both cores (--threads, default
2: torch's intra-op threads, Lathe's kernel threads) except scipy, which is single-threaded:
  torch      torch.sparse.mm, the fastest of a COO and a CSR adjacency on 1 and 2 threads
  scipy      scipy.sparse CSR @ X
  dense      torch.mm on the dense adjacency (the matrix engine on everything, no tiling)
  hybrid     what lathe-run executes after `lathe-opt --sparsegcn-tile` (run on a module holding
             the CSR as constants; its decision is parsed from the output IR): the tiled kernel
             (lathe_rt_spmm_tiled_f32) with the tile size and classes the pass chose, or, where
             no tile is dense and the pass keeps sparsegcn.aggregate, the CSR kernel
             (lathe_rt_spmm_csr_f32)
  sparse     Lathe all-sparse: the tiled kernel at the pass's tile size, every non-empty tile
             sparse
  alldense   Lathe all-dense: every non-empty tile dense (oneDNN sgemm), empty tiles skipped
The Lathe kernels are timed through a ctypes harness on build/lib/libLatheRuntime.so (the same
entry points the compiled code calls; the adjacency is flagged constant, as lathe-run flags a
constant or lathe.weight adjacency, so tile plans are built once, outside the timing; X and the
outputs are 64-byte aligned like every buffer of compiled code: numpy's own large arrays start
16 bytes into a page, which slows the CSR kernel by up to 2x at F >= 64 and made earlier runs
misjudge the engines). Each
time is the fastest single call over 11 rounds of calls filling 50 ms each, rounds interleaved
across the methods (see best_times for why single calls; the dense-adjacency GEMM: the best of
3 calls, one call on the PubMed-sized graph, where it takes seconds). Where the pass chose no
dense tile, the hybrid is the sparse engine on every non-zero, as all-sparse is, and is timed once. Outputs are checked against a float64 scipy product
(compare_npy's tolerance) before they are timed.

The last line is
  RESULT min_speedup_vs_torch=... min_speedup_vs_scipy=... hybrid_vs_best_single=... accuracy_delta=...
speedups: min over graphs at widths >= 64 of t_method / t_hybrid; hybrid_vs_best_single: max over
graphs and widths of t_hybrid / min(t_sparse, t_alldense); accuracy_delta: Lathe - PyTorch test
accuracy of the 2-layer GCN on Cora (scripts/sparsegcn/train_gcn.py, then lathe-run).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "sparsegcn"))
import graphs  # noqa: E402
import lathe_spmm  # noqa: E402

WIDTHS = [16, 64, 256]
RTOL, FLOOR = 1e-4, 0.1


def build_dir():
    return os.environ.get("LATHE_BUILD_DIR", os.path.join(ROOT, "build"))


def tool(name):
    path = os.path.join(build_dir(), "bin", name)
    if not os.access(path, os.X_OK):
        sys.exit(f"bench/sparsegcn: {path} not found: build first (or set LATHE_BUILD_DIR)")
    return path


def best_times(fns, rounds=7, fill=0.05):
    """{name: seconds}: the fastest single call of each method, over `rounds` rounds of as many
    calls as fill `fill` seconds (at least one). Single calls, not batches: the machine this
    was written on is shared with other builds, and a call shorter than a scheduler slice
    that ran unpreempted is what the code can do; a batch mixes in whoever else ran. Rounds
    are interleaved across the methods, so drifting load hits all of them alike."""
    reps = {}
    for name, fn in fns.items():
        fn()
        t0 = time.perf_counter()
        fn()
        one = time.perf_counter() - t0
        reps[name] = int(min(max(1, fill / max(one, 1e-7)), 500))
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(reps[name]):
                t0 = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - t0)
    return best


def close(out, ref):
    err = np.abs(out.astype(np.float64) - ref)
    return bool(np.all(err <= RTOL * (np.abs(ref) + FLOOR * np.abs(ref).max())))


def hex_dense(a):
    return '"0x' + np.ascontiguousarray(a).tobytes().hex().upper() + '"'


def pass_decision(csr, width, tmp, tag):
    """(tile size, int8 classes, decision text) that sparsegcn-tile chooses."""
    n, nnz = csr.shape[0], csr.nnz
    src = os.path.join(tmp, f"{tag}.mlir")
    with open(src, "w") as f:
        f.write(f"""func.func @agg(%x: tensor<{n}x{width}xf32>) -> tensor<{n}x{width}xf32> {{
  %rp = arith.constant dense<{hex_dense(csr.indptr.astype(np.int64))}> : tensor<{n + 1}xi64>
  %ci = arith.constant dense<{hex_dense(csr.indices.astype(np.int64))}> : tensor<{nnz}xi64>
  %v = arith.constant dense<{hex_dense(csr.data.astype(np.float32))}> : tensor<{nnz}xf32>
  %e = tensor.empty() : tensor<{n}x{width}xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<{n + 1}xi64>, tensor<{nnz}xi64>, tensor<{nnz}xf32>) [{n}, {n}]
         ins(%x : tensor<{n}x{width}xf32>) outs(%e : tensor<{n}x{width}xf32>) -> tensor<{n}x{width}xf32>
  return %y : tensor<{n}x{width}xf32>
}}
""")
    out = subprocess.run([tool("lathe-opt"), src, "--sparsegcn-tile"], check=True,
                         capture_output=True, text=True).stdout
    decision = re.search(r"lathe.decision = \{([^}]*)\}", out).group(1)
    tile = int(re.search(r"tile_size = (\d+) : i64", decision).group(1))
    if "sparsegcn.tiled_aggregate" not in out:
        # No dense tile: the pass kept sparsegcn.aggregate (the CSR kernel, no tile plan).
        return tile, None, decision
    classes = np.array([int(c) for c in
                        re.search(r"tile_classes = array<i8: ([^>]*)>", out).group(1).split(",")],
                       np.int8)
    return tile, classes, decision


def nonempty_tiles(csr, tile):
    """int8 per tile (row-major): 1 where the tile holds a non-zero, else 0."""
    g = (csr.shape[0] + tile - 1) // tile
    coo = csr.tocoo()
    counts = np.bincount((coo.row // tile) * g + coo.col // tile, minlength=g * g)
    return (counts > 0).astype(np.int8)


CAL_TILES = [32, 64, 128, 256]
CAL_WIDTHS = [16, 32, 64, 128, 256]


def calibrate(rt, rounds):
    """Prints the cost-model table of dialects/SparseGCN/lib/Transforms/CostModel.cpp.

    The decision per tile compares the two engines on the same tile, so they are timed
    together: for each tile size T and width F, interleaved rounds (best_times) of
      dense   the tiled kernel on a 4096-node block-diagonal matrix of full T x T tiles, every
              diagonal tile classified dense (oneDNN sgemm on the gathered blocks), and
      sparse  the same kernel on random 50%-dense T x T diagonal tiles (near the break-even
              density, where the decision matters), classified sparse (the CSR kernel on
              block-local non-zeros, whose rows of X stay in the cache),
    on 64-byte-aligned X and Y (what the runtime's allocator gives compiled code). Drifting
    load slows both alike, so their ratio (the break-even density, printed last) is what the
    table must get right; the absolute rates only rank tile sizes and fill lathe.decision.
    Then the CSR kernel on whole random graphs of degree 8 (X in the cache / streamed)."""
    n = 4096
    rng = np.random.default_rng(0)
    gemm, local = {}, {}
    print(f"threads {rt.lib.lathe_rt_get_num_threads()}, {rounds} rounds per cell; columns: "
          "dense GFLOP/s, local sparse GFLOP/s, break-even density", flush=True)
    for t in CAL_TILES:
        g = n // t
        diag = np.zeros(g * g, np.int8)
        diag[np.arange(g) * (g + 1)] = 1
        full = sp.block_diag([np.ones((t, t), np.float32)] * g, format="csr")
        half = sp.block_diag([sp.random(t, t, 0.5, "csr", np.float32, rng) for _ in range(g)],
                             format="csr")
        for a in (full, half):
            a.sum_duplicates()
            a.indptr, a.indices = a.indptr.astype(np.int32), a.indices.astype(np.int32)
        for f in CAL_WIDTHS:
            x = lathe_spmm.aligned_copy(rng.random((n, f), np.float32))
            yd, ys = lathe_spmm.aligned_empty((n, f)), lathe_spmm.aligned_empty((n, f))
            fns = {"dense": rt.tiled_call(full, x, yd, t, classes=diag * 2,
                                          flags=lathe_spmm.CONST_A),
                   "sparse": rt.tiled_call(half, x, ys, t, classes=diag,
                                           flags=lathe_spmm.CONST_A)}
            s = best_times(fns, rounds=rounds)
            gemm[t, f] = 2 * n * t * f / s["dense"] / 1e9
            local[t, f] = 2 * half.nnz * f / s["sparse"] / 1e9
            print(f"  T={t:<4} F={f:<4} {gemm[t, f]:7.1f} {local[t, f]:7.1f} "
                  f"{local[t, f] / gemm[t, f]:6.3f}", flush=True)
    whole = {}
    for label, ns in [("resident", 2048), ("streamed", 16384)]:
        m = ns * 8
        a = sp.csr_matrix((rng.random(m).astype(np.float32),
                           (rng.integers(0, ns, m), rng.integers(0, ns, m))), shape=(ns, ns))
        a.sum_duplicates()
        a.indptr, a.indices = a.indptr.astype(np.int32), a.indices.astype(np.int32)
        for f in CAL_WIDTHS:
            x = lathe_spmm.aligned_copy(rng.random((ns, f), np.float32))
            y = lathe_spmm.aligned_empty((ns, f))
            s = best_times({"spmm": rt.tiled_call(a, x, y, 64, threshold=2.0,
                                                  flags=lathe_spmm.CONST_A)},
                           rounds=rounds)["spmm"]
            whole[label, f] = 2 * a.nnz * f / s / 1e9
    fmt = lambda vals: ", ".join(f"{v:.1f}" for v in vals)  # noqa: E731
    print("\n// Paste into CostModel.cpp:")
    print(f"constexpr int64_t kCpuWidths[] = {{{', '.join(map(str, CAL_WIDTHS))}}};")
    for name, table in [("kCpuGemm", gemm), ("kCpuSpmmLocal", local)]:
        print(f"constexpr double {name}[] = {{")
        for t in CAL_TILES:
            print(f"    /*T={t:<3}*/ {fmt(table[t, f] for f in CAL_WIDTHS)},")
        print("};")
    for label, name in [("resident", "kCpuSpmmResident"), ("streamed", "kCpuSpmmStreamed")]:
        print(f"constexpr double {name}[] = {{{fmt(whole[label, f] for f in CAL_WIDTHS)}}};")


def gcn_accuracy_delta(tmp, cora):
    d = os.path.join(tmp, "gcn")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "sparsegcn", "train_gcn.py"),
                    "--data", cora, "--out", d], check=True)
    out = os.path.join(d, "out.npy")
    subprocess.run([tool("lathe-run"), os.path.join(d, "gcn.mlir"),
                    f"--input={os.path.join(d, 'x.npy')}", f"--output={out}"], check=True,
                   stdout=subprocess.DEVNULL)
    res = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "sparsegcn", "accuracy.py"),
                          out, d, "--max-delta", "1"], capture_output=True, text=True, check=True)
    print(res.stdout.strip())
    return float(re.search(r"delta ([-+0-9.]+)", res.stdout).group(1))


def main():
    p = argparse.ArgumentParser(description="H-GCN aggregation benchmark")
    p.add_argument("--calibrate", action="store_true")
    p.add_argument("--rounds", type=int, default=7, help="timing rounds per calibration cell")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--graphs", help="comma-separated subset (for development; RESULT then "
                   "covers only these)")
    p.add_argument("--widths", help="comma-separated subset of 16,64,256")
    p.add_argument("--no-accuracy", action="store_true", help="skip the Cora GCN run")
    args = p.parse_args()

    cora = graphs.cora_dir()
    if cora is None:
        places = [os.path.join(os.path.dirname(ROOT), "shared", "data", "cora")]
        if os.environ.get("LATHE_DATA"):
            places.append(os.path.join(os.environ["LATHE_DATA"], "cora"))
        sys.exit("bench/sparsegcn: Cora not found at " + " or ".join(places) +
                 " (set LATHE_DATA to the folder holding cora/)")
    lib = lathe_spmm.find_library(build_dir())
    if not os.path.exists(lib):
        sys.exit(f"bench/sparsegcn: {lib} not found: build first (or set LATHE_BUILD_DIR)")
    rt = lathe_spmm.Runtime(lib)
    import torch
    torch.set_num_threads(args.threads)
    rt.lib.lathe_rt_set_num_threads(args.threads)
    if args.calibrate:
        calibrate(rt, args.rounds)
        return

    print("building graphs ...", flush=True)
    _, _, cora_adj = graphs.load_cora(cora)
    gs = {
        "cora": graphs.gcn_normalize(cora_adj),
        "citeseer-size": graphs.gcn_normalize(graphs.power_law_graph(3327, 4552, seed=1)),
        "pubmed-size": graphs.gcn_normalize(graphs.power_law_graph(19717, 44324, seed=2)),
        "planted-blocks": graphs.gcn_normalize(graphs.planted_communities(4096, 128, 0.5, 2.0, 3)),
    }
    if args.graphs:
        gs = {k: v for k, v in gs.items() if k in args.graphs.split(",")}
    widths = [int(w) for w in args.widths.split(",")] if args.widths else WIDTHS
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, a in gs.items():
            n = a.shape[0]
            a32 = a.copy()
            a32.indptr, a32.indices = a.indptr.astype(np.int32), a.indices.astype(np.int32)
            coo = a.tocoo()
            t_coo = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data,
                                            (n, n)).coalesce()
            t_csr = t_coo.to_sparse_csr()
            t_dense = torch.from_numpy(a.toarray())
            print(f"\n{name}: {n} nodes, {a.nnz} non-zeros (density {a.nnz / n / n:.2e})",
                  flush=True)
            for f in widths:
                tile, classes, decision = pass_decision(a, f, tmp, f"{name}-{f}")
                nonempty = nonempty_tiles(a, tile)
                kept = classes is None
                if kept:
                    classes = nonempty
                # X and the outputs 64-byte aligned, as the runtime's allocator gives them to
                # compiled code (and the same X for every method).
                x = lathe_spmm.aligned_copy(
                    np.random.default_rng(f).standard_normal((n, f)).astype(np.float32))
                ref = a.astype(np.float64) @ x.astype(np.float64)
                xt = torch.from_numpy(x)
                ys = {k: lathe_spmm.aligned_empty((n, f)) for k in ["hybrid", "sparse", "alldense"]}
                calls = {
                    # What lathe-run executes: the CSR kernel where the pass kept the op.
                    "hybrid": (rt.csr_call(a32, x, ys["hybrid"], flags=lathe_spmm.CONST_A)
                               if kept else
                               rt.tiled_call(a32, x, ys["hybrid"], tile, classes=classes,
                                             flags=lathe_spmm.CONST_A)),
                    "sparse": rt.tiled_call(a32, x, ys["sparse"], tile, classes=nonempty,
                                            flags=lathe_spmm.CONST_A),
                    "alldense": rt.tiled_call(a32, x, ys["alldense"], tile,
                                              classes=(nonempty * 2).astype(np.int8),
                                              flags=lathe_spmm.CONST_A),
                }
                for k, c in calls.items():
                    c()
                    rt.check()
                    if not close(ys[k], ref):
                        sys.exit(f"bench/sparsegcn: Lathe {k} output wrong on {name}, F={f}")
                for k, out in [("torch", torch.sparse.mm(t_coo, xt).numpy()),
                               ("scipy", a @ x), ("dense", torch.mm(t_dense, xt).numpy())]:
                    if not close(out, ref):
                        print(f"  (note: {k} differs from the float64 reference beyond tolerance)")
                fns = dict(calls)
                # Without dense tiles the hybrid is the sparse engine on every non-zero, which
                # is what all-sparse measures: time it once (timing it twice only measures the
                # load of the machine).
                same_plan = not (classes == 2).any()
                if same_plan:
                    del fns["sparse"]
                # torch: COO and CSR, on 1 thread and on --threads (torch's OpenMP join
                # stalls when the cores are busy; the faster of the four is the baseline).
                for tn in sorted({1, args.threads}):
                    for fmt, tensor in [("coo", t_coo), ("csr", t_csr)]:
                        def call(tensor=tensor, tn=tn):
                            torch.set_num_threads(tn)
                            return torch.sparse.mm(tensor, xt)
                        fns[f"torch_{fmt}{tn}"] = call
                fns["scipy"] = lambda: a @ x
                t = best_times(fns, rounds=11)
                if same_plan:
                    t["sparse"] = t["hybrid"]
                t["torch"] = min(t.pop(k) for k in list(t) if k.startswith("torch_"))
                torch.set_num_threads(args.threads)
                # The dense adjacency is the slow baseline (1.5 GB and seconds per call on the
                # PubMed-sized graph): fewer rounds, outside the interleaving.
                if n > 10000:
                    t0 = time.perf_counter()
                    torch.mm(t_dense, xt)
                    t["dense"] = time.perf_counter() - t0
                else:
                    t["dense"] = best_times({"dense": lambda: torch.mm(t_dense, xt)},
                                            rounds=3, fill=0.0)["dense"]
                hist = {"empty": int((classes == 0).sum()), "sparse": int((classes == 1).sum()),
                        "dense": int((classes == 2).sum())}
                rows.append((name, f, t, hist, tile))
                print(f"  F={f:<3} tile {tile:<3} tiles empty/sparse/dense "
                      f"{hist['empty']}/{hist['sparse']}/{hist['dense']}"
                      + ("  (no dense tile: the pass kept the CSR kernel = all-sparse, timed once)"
                         if same_plan else ""), flush=True)
                print("        " + "  ".join(f"{k} {v * 1e3:8.3f} ms" for k, v in t.items()))
                best_single = min(t["sparse"], t["alldense"])
                print(f"        hybrid speedup: x{t['torch'] / t['hybrid']:.2f} vs torch, "
                      f"x{t['scipy'] / t['hybrid']:.2f} vs scipy, x{t['dense'] / t['hybrid']:.2f} "
                      f"vs dense GEMM; hybrid / best single engine = "
                      f"{t['hybrid'] / best_single:.3f}", flush=True)
        acc_delta = float("nan")
        if not args.no_accuracy:
            print("\nCora GCN accuracy (PyTorch vs lathe-run):", flush=True)
            acc_delta = gcn_accuracy_delta(tmp, cora)

    wide = [r for r in rows if r[1] >= 64] or rows
    min_torch = min(r[2]["torch"] / r[2]["hybrid"] for r in wide)
    min_scipy = min(r[2]["scipy"] / r[2]["hybrid"] for r in wide)
    worst = max(r[2]["hybrid"] / min(r[2]["sparse"], r[2]["alldense"]) for r in rows)
    print(f"RESULT min_speedup_vs_torch={min_torch:.2f} min_speedup_vs_scipy={min_scipy:.2f} "
          f"hybrid_vs_best_single={worst:.3f} accuracy_delta={acc_delta:+.4f}")


if __name__ == "__main__":
    main()
