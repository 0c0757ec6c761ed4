#!/usr/bin/python3
"""bench/sparsegcn: H-GCN's graph aggregation Y = Â·X on real graphs against real peers.

    bench/sparsegcn                                   (repository root, after the build; no args)
    /usr/bin/python3 bench/sparsegcn.py --calibrate --threads 1  (re-measures the cost-model table)
    /usr/bin/python3 bench/sparsegcn.py --calibrate-micro        (only the micro-tile engine's rows)
    /usr/bin/python3 bench/sparsegcn.py --micro-sweep            (micro-tile engine vs CSR, CPU time)
    /usr/bin/python3 bench/sparsegcn.py --calibrate-groups       (only the row-group engine's rows)
    /usr/bin/python3 bench/sparsegcn.py --group-sweep            (row-group engine vs CSR, CPU time)
    /usr/bin/python3 bench/sparsegcn.py --ab OTHER/libLatheRuntime.so  (this build's plain and
                                                  all-sparse kernels against another build's)

Inputs (../shared/data or $LATHE_DATA; a missing one is an error naming the path), all used as
graphs: the symmetrised 0/1 pattern without self loops, GCN-normalised Â = D^-1/2 (A+I) D^-1/2,
f32:
  cora      LINQS Cora, 2708 nodes          citeseer  LINQS CiteSeer, 3312 nodes
  pubmed    PubMed-Diabetes citations (edges only), 19717 nodes
  bcsstk13  SuiteSparse HB/bcsstk13 (FEM stiffness pattern), 2003 nodes
  jagmesh7  SuiteSparse HB/jagmesh7 (finite-element mesh), 1138 nodes
Feature widths F = 16, 64, 256 (X random normal, 64-byte aligned like the runtime's buffers).

What Lathe runs: `lathe-opt --sparsegcn-tile="reorder=auto"` on a module holding Â as constants,
its decision parsed from the output IR (reordering, tile size, tile classes), then the runtime
entry points that lathe-run calls, through ctypes (build/lib/libLatheRuntime.so, the adjacency
flagged constant so tile plans are built once, outside the timing):
  hybrid     the pass's choice: the CSR kernel where it kept sparsegcn.aggregate (no dense
             tile), the tiled kernel with its classes and permutation where it chose T x T
             tiles for oneDNN's sgemm, or the tiled kernel with the micro-tile engine
             (LATHE_SPMM_MICRO, T = 4, the runtime classifying at the pass's threshold) where
             it chose that engine, or the tiled kernel with the row-group engine
             (LATHE_SPMM_ROW_GROUPS, groups of at most 4 rows formed at the pass's threshold,
             CSR on the other rows) where it chose that one
  sparse     all-sparse: the tiled kernel on the same (reordered) matrix and tile size, every
             non-empty tile sparse (without a dense tile it runs the plain CSR op's loop and
             row schedule over its plan's copy of the non-zeros: where the pass kept the
             op, hybrid and all-sparse are the same kernel, timed separately)
  dense      all-dense: the same, every non-empty tile dense (oneDNN sgemm, or the micro-tile
             engine where the pass chose it; empty tiles skipped); where the pass chose the
             row-group engine, that engine at threshold 0 (every non-empty row in a group of
             up to 4 consecutive rows over the union of their columns)
  rcm        (for reference) the all-sparse tiled kernel on the RCM-ordered matrix with its
             permutation operand: the ordering's locality gain minus the per-call gather of X
             and scatter of Y
Each is timed on its own; none is ever set to another's time.
Peers (same X, outputs checked first):
  mkl        Intel MKL's sparse x dense product through sparse_dot_mkl (PyPI, installed with mkl
             into the virtual environment .venv-sparsegcn that this script creates with
             --system-site-packages and re-runs itself in), Â in CSR as given; timed on 2 threads
             and on 1 (MKL's 2 threads meet at every call, which on a loaded machine can take
             milliseconds): the faster is the baseline
  scipy      scipy.sparse CSR @ X: single-threaded (scipy has no threaded SpMM)
  torch      Debian's torch.sparse.mm (PyTorch 1.13), 2 threads, the faster of COO and CSR
Lathe uses 2 threads (lathe_rt_set_num_threads). MKL runs on GNU OpenMP (MKL_THREADING_LAYER=GNU),
the runtime torch uses, so that no two OpenMP runtimes spin against each other on the cores.

Timing: interleaved rounds, the methods in a seeded random order in each round and the four Lathe
methods taking turns over four output buffers (so that neither a fixed predecessor nor a buffer's
place in memory favours one method in every round); in each round every method runs a few single
calls (as many as fill about 3 ms; one where a call takes more than 50 ms, as the all-dense
engine does on PubMed), and its time in that round is the median of those calls. A method's time
is the median over the rounds. Per input and width, at least --min-rounds (30) rounds; then 10
more at a time until best single / hybrid's interval (below) is narrower than --ci-width (5 %)
of the ratio, --max-rounds (200) have run or the rounds took --cell-budget (20 s).
The hybrid against the single engines (bench/sparsegcn_lib/paired.py): per input and width the
rounds pair the hybrid's time with all-sparse's and all-dense's of the same round. Printed per
row: the ratio of medians (single / hybrid, > 1: the hybrid is faster) against all-sparse,
against all-dense and against the better of the two, each with a paired bootstrap interval
(the rounds resampled together, 10000 times, seeded), and the verdict: "faster" when the
interval lies above 1, "slower" when below, else "same". The intervals hold together, over
every row, at --confidence (95 %): each row's is at 1 - 0.05 / rows (Bonferroni), so that one
noisy row among 15 does not read as a slower hybrid. Each row also says when the pass's plan,
read from lathe-opt's output, is a single engine's own (kept sparsegcn.aggregate: the all-sparse
loop): such a row times one plan twice, and its "same" holds by construction.
Checks before timing: every method's output against a float64 scipy product,
|out - ref| <= 1e-4 (|ref| + 0.1 max|ref|) elementwise; a failure stops the benchmark.
Reordering: the cost of each ordering (the runtime's lathe_rt_graph_order: the same code the pass
runs) is timed, and each input's tile-density histogram (T = 32) is printed before and after each
ordering. Accuracy: 2-layer GCNs on Cora and CiteSeer trained with PyTorch
(scripts/sparsegcn/train_gcn.py) and run by lathe-run; the benchmark fails when Lathe's test
accuracy differs from PyTorch's by more than 0.005 or its logits are outside the tolerance above.

The last line is
  RESULT min_speedup_vs_mkl=... min_speedup_vs_scipy=... min_speedup_vs_torch=...
         best_real_hybrid_vs_best_single=... worst_real_hybrid_vs_best_single=...
         worst_real_hybrid_vs_best_single_ci_high=... best_own_plan_hybrid_vs_best_single=...
         best_own_plan_hybrid_vs_best_single_ci_low=... real_inputs_hybrid_faster=...
         real_inputs_hybrid_same=... real_inputs_hybrid_slower=...
         real_inputs_plan_is_single_engine=...
speedup_vs_X = t_X / t_hybrid, minimum over every input and width (MKL: the faster of its 1- and
2-thread times); hybrid_vs_best_single = min(t_sparse, t_dense) / t_hybrid per input and width
(> 1: the hybrid is faster than the better single engine), the largest and the smallest over
all of them (point estimates); worst_..._ci_high is the smallest upper end of the rows'
intervals (< 1 exactly when some row is "slower"). best_own_plan_* are the largest ratio and
the largest lower end over the rows whose hybrid runs a plan of the pass's own (not a single
engine's; nan when there is none): ci_low >= 1.1 reads "at least 10 % faster on some input,
with confidence". real_inputs_hybrid_* count the (input, width) rows by verdict ("never
slower": real_inputs_hybrid_slower=0), real_inputs_plan_is_single_engine the rows whose hybrid
runs a single engine's plan.
"""
import argparse
import glob
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "sparsegcn"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "bench", "sparsegcn_lib"))
import common  # noqa: E402
import graphs  # noqa: E402
import lathe_spmm  # noqa: E402
import paired  # noqa: E402

WIDTHS = [16, 64, 256]
THREADS = 2
HIST_TILE = 32
# Density bins of the tile histogram: empty, then [lo, hi) of nnz / tile area.
HIST_BINS = [0.0, 1 / 64, 1 / 16, 1 / 4, 1 / 2, 1.0 + 1e-9]
HIST_LABELS = ["<1/64", "1/64-1/16", "1/16-1/4", "1/4-1/2", ">=1/2"]
VENV_MARK = "LATHE_SPARSEGCN_IN_VENV"
# The hybrid against each single engine and against the better of the two, round by round.
COMPARISONS = {"sparse": ["sparse"], "dense": ["dense"], "best": ["sparse", "dense"]}
COMPARISON_LABELS = {"sparse": "all-sparse / hybrid", "dense": "all-dense / hybrid",
                     "best": "best single / hybrid"}
BOOT = 10000  # bootstrap resamples of each interval
LATHE_METHODS = ["hybrid", "sparse", "dense", "rcm"]


def interval(c):
    return f"{c['ratio']:.3f} [{c['low']:.3f}, {c['high']:.3f}]"


def fail(msg):
    sys.exit(f"bench/sparsegcn: {msg}")


def build_dir():
    return os.environ.get("LATHE_BUILD_DIR", os.path.join(ROOT, "build"))


def tool(name):
    path = os.path.join(build_dir(), "bin", name)
    if not os.access(path, os.X_OK):
        fail(f"{path} not found: build first (or set LATHE_BUILD_DIR)")
    return path


# ------------------------------------------------------------------------------------------
# The MKL peer's environment
# ------------------------------------------------------------------------------------------
PROBE = ("import glob, os, sys; os.environ['MKL_RT'] = sorted(glob.glob(sys.prefix + "
         "'/lib/libmkl_rt.so*'))[-1]; import sparse_dot_mkl, torch, scipy")


def enter_venv():
    """Re-runs this script in .venv-sparsegcn (Debian's Python with its numpy/scipy/torch, plus
    sparse_dot_mkl and mkl from PyPI), creating it the first time."""
    if os.environ.get(VENV_MARK):
        return
    root = os.environ.get("LATHE_SPARSEGCN_VENV", os.path.join(ROOT, ".venv-sparsegcn"))
    py = os.path.join(root, "bin", "python")
    if not os.access(py, os.X_OK):
        print(f"peers: creating {root} (one time; --system-site-packages keeps Debian's "
              "numpy, scipy and torch)", flush=True)
        p = subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", root],
                           capture_output=True, text=True)
        if p.returncode != 0:
            fail(f"python3 -m venv {root} failed (Debian: apt-get install python3-venv):\n"
                 f"{p.stderr.strip()}")
    try:
        common.ensure_venv(root, ["sparse_dot_mkl", "mkl"], PROBE,
                           log=lambda m: print(m, flush=True))
    except common.BenchError as e:
        fail(f"the MKL peer could not be installed: {e}")
    libs = sorted(glob.glob(os.path.join(root, "lib", "libmkl_rt.so*")))
    env = dict(os.environ)
    # MKL_THREADING_LAYER=GNU: MKL runs on libgomp, torch's OpenMP runtime, instead of Intel's
    # libiomp5. With two OpenMP runtimes in one process, each one's spinning idle threads
    # took the 2 cores from the other: MKL's median call on jagmesh7 (F = 64) went from
    # 0.04 ms to 16 ms after torch had run.
    # OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning, so a method
    # timed right after torch or MKL does not share the cores with their spinning threads
    # (torch's own median also improved: 0.12 vs 0.16 ms on jagmesh7, F = 64).
    env.update({VENV_MARK: "1", "MKL_RT": libs[-1], "MKL_NUM_THREADS": str(THREADS),
                "MKL_THREADING_LAYER": "GNU", "OMP_WAIT_POLICY": "PASSIVE"})
    sys.stdout.flush()
    os.execve(py, [py, os.path.abspath(__file__)] + sys.argv[1:], env)


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------
def load_inputs():
    """{name: Â (f32 CSR, int32 indices)} in the order of the tables."""
    need = {"cora": "cora/cora.cites", "citeseer": "citeseer/citeseer.cites",
            "pubmed": "pubmed/Pubmed-Diabetes.DIRECTED.cites.tab",
            "bcsstk13": "suitesparse/bcsstk13.mtx", "jagmesh7": "suitesparse/jagmesh7.mtx"}
    dirs = {}
    for name, rel in need.items():
        folder = rel.split("/")[0]
        d = graphs.data_dir(folder)
        if d is None or not os.path.exists(os.path.join(d, os.path.basename(rel))):
            places = [os.path.join(os.path.dirname(ROOT), "shared", "data", rel)]
            if os.environ.get("LATHE_DATA"):
                places.append(os.path.join(os.environ["LATHE_DATA"], rel))
            fail(f"{name} not found at " + " or ".join(places) +
                 " (set LATHE_DATA to the folder holding it)")
        dirs[name] = d
    adj = {"cora": graphs.load_cora(dirs["cora"])[2],
           "citeseer": graphs.load_citeseer(dirs["citeseer"])[2],
           "pubmed": graphs.load_pubmed(dirs["pubmed"]),
           "bcsstk13": graphs.load_mtx(os.path.join(dirs["bcsstk13"], "bcsstk13.mtx")),
           "jagmesh7": graphs.load_mtx(os.path.join(dirs["jagmesh7"], "jagmesh7.mtx"))}
    out = {}
    for name, a in adj.items():
        a = graphs.gcn_normalize(a)
        a.indptr, a.indices = a.indptr.astype(np.int32), a.indices.astype(np.int32)
        out[name] = a
    return out, dirs


def permuted(a, perm):
    """P Â Pᵀ (row i is node perm[i]) with int32 indices, sorted."""
    b = a[perm][:, perm].tocsr()
    b.sort_indices()
    b.indptr, b.indices = b.indptr.astype(np.int32), b.indices.astype(np.int32)
    return b


def density_histogram(a, t):
    """[empty, counts per HIST_LABELS bin], max density of the tiles of a at tile size t."""
    n = a.shape[0]
    g = (n + t - 1) // t
    coo = a.tocoo()
    counts = np.bincount((coo.row // t) * g + coo.col // t, minlength=g * g)
    sizes = np.minimum(t, n - np.arange(g) * t)
    dens = counts / np.outer(sizes, sizes).ravel()
    nz = dens[counts > 0]
    hist = np.histogram(nz, bins=HIST_BINS)[0]
    return [int((counts == 0).sum())] + [int(h) for h in hist], float(nz.max())


# ------------------------------------------------------------------------------------------
# sparsegcn-tile's decision
# ------------------------------------------------------------------------------------------
def hex_dense(a):
    return '"0x' + np.ascontiguousarray(a).tobytes().hex().upper() + '"'


def parse_dense(text, name, dtype):
    """The values of `%name = arith.constant dense<...>` in lathe-opt's output."""
    m = re.search(rf"%{re.escape(name)} = arith.constant dense<([^>]*)>", text)
    body = m.group(1).strip()
    if body.startswith('"0x'):
        return np.frombuffer(bytes.fromhex(body[3:-1]), dtype=dtype).copy()
    return np.array([int(v) for v in body.strip("[]").split(",")], dtype=dtype)


def pass_decision(a, width, tmp, tag):
    """dict(tile, classes (int8 or None when kept or micro), micro (the micro-tile engine's
    threshold, or None), perm (or None), decision text)."""
    n, nnz = a.shape[0], a.nnz
    src = os.path.join(tmp, f"{tag}.mlir")
    with open(src, "w") as f:
        f.write(f"""func.func @agg(%x: tensor<{n}x{width}xf32>) -> tensor<{n}x{width}xf32> {{
  %rp = arith.constant dense<{hex_dense(a.indptr.astype(np.int64))}> : tensor<{n + 1}xi64>
  %ci = arith.constant dense<{hex_dense(a.indices.astype(np.int64))}> : tensor<{nnz}xi64>
  %v = arith.constant dense<{hex_dense(a.data.astype(np.float32))}> : tensor<{nnz}xf32>
  %e = tensor.empty() : tensor<{n}x{width}xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<{n + 1}xi64>, tensor<{nnz}xi64>, tensor<{nnz}xf32>) [{n}, {n}]
         ins(%x : tensor<{n}x{width}xf32>) outs(%e : tensor<{n}x{width}xf32>) -> tensor<{n}x{width}xf32>
  return %y : tensor<{n}x{width}xf32>
}}
""")
    t0 = time.perf_counter()
    out = subprocess.run([tool("lathe-opt"), src, "--sparsegcn-tile=reorder=auto"],
                         capture_output=True, text=True)
    compile_s = time.perf_counter() - t0
    if out.returncode != 0:
        fail(f"lathe-opt --sparsegcn-tile failed on {tag}:\n{out.stderr.strip()}")
    text = out.stdout
    decision, fields = common.parse_decision(text, "sparsegcn")
    if decision is None:
        fail(f"lathe-opt --sparsegcn-tile left no #sparsegcn.decision on {tag}")
    res = {"decision": decision, "compile_s": compile_s,
           "tile": int(fields["tile_size"]),
           "kept": "sparsegcn.tiled_aggregate" not in text,
           "result": fields.get("result", ""),
           "classes": None, "perm": None, "micro": None, "groups": None,
           "micro_tiles_dense": int(fields.get("micro_tiles_dense", 0)),
           "reorder": fields["reorder"],
           "predicted": fields.get("reorder_predicted", "")}
    # The op's own threshold (an f64 attribute, at full precision; the decision prints six
    # significant digits), which the runtime is given.
    op_threshold = re.search(r"\bdense_threshold = ([-+.eE\d]+) : f64", text)
    m = re.search(r"sparsegcn.tiled_aggregate.*?permutation\(%([\w]+) :", text, re.S)
    if m:
        res["perm"] = parse_dense(text, m.group(1), np.int64)
    if 'dense_engine = #sparsegcn<dense_engine row_groups>' in text:
        res["groups"] = float(op_threshold.group(1))
        res["group_rows"] = int(fields["row_group_rows"])
        res["group_nnz"] = int(fields["row_group_nnz"])
    elif 'dense_engine = #sparsegcn<dense_engine micro_bsr>' in text:
        res["micro"] = float(op_threshold.group(1))
    elif "sparsegcn.tiled_aggregate" in text:
        res["classes"] = np.array(
            [int(c) for c in re.search(r"tile_classes = array<i8: ([^>]*)>", text)
             .group(1).split(",")], np.int8)
    return res


def micro_classes(a, tile, threshold):
    """The tile classes the runtime derives for the micro-tile engine (LATHE_SPMM_MICRO with
    runtime classification): dense for whole tiles of density >= threshold."""
    n = a.shape[0]
    g = (n + tile - 1) // tile
    coo = a.tocoo()
    counts = np.bincount((coo.row // tile) * g + coo.col // tile, minlength=g * g)
    whole = np.zeros((g, g), bool)
    whole[: n // tile, : n // tile] = True
    dense = whole.ravel() & (counts > 0) & (counts >= threshold * tile * tile - 1e-9)
    return np.where(dense, 2, (counts > 0).astype(np.int8)).astype(np.int8)


def same_plan(dec, nonempty):
    """(single engine, why) when the pass's plan, read from lathe-opt's output, is that single
    engine's plan ("all-sparse" or "all-dense"), else (None, ""): the hybrid then times a plan
    of its own."""
    if dec["kept"]:
        return "all-sparse", dec["result"] or "kept sparsegcn.aggregate"
    if dec["classes"] is not None:
        used = dec["classes"][nonempty > 0]
        if (used == 2).all():
            return "all-dense", "every non-empty tile dense"
        if (used == 1).all():
            return "all-sparse", "every non-empty tile sparse"
    if dec["micro"] is not None and dec["micro_tiles_dense"] == 0:
        return "all-sparse", "no micro tile dense"
    if dec["groups"] is not None and dec["group_rows"] == 0:
        return "all-sparse", "no row group"
    return None, ""


def nonempty_tiles(a, tile):
    g = (a.shape[0] + tile - 1) // tile
    coo = a.tocoo()
    counts = np.bincount((coo.row // tile) * g + coo.col // tile, minlength=g * g)
    return (counts > 0).astype(np.int8)


# ------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------
def interleaved_rounds(fns, min_rounds, max_rounds, budget_s, tight, fill=0.003, slow=0.05):
    """{name: per-round seconds (np.array)}: rounds that each run every method (in an order
    shuffled from round to round, one untimed call first) for as many timed single calls as
    fill `fill` seconds, one for a method slower than `slow` a call; a method's time in a round
    is the median of its calls there. `min_rounds` rounds, then 10 more at a time until
    `tight(samples)` holds, `max_rounds` have run or the rounds took `budget_s` seconds.

    A method is a callable or a list of k callables that differ only in their output buffer;
    round r uses the (r mod k)-th (methods given the same k buffers, each list rotated by a
    different step, never share one in a round, and each uses every buffer alike).
    Neither the order nor the buffers stay fixed: a rotation of the order keeps each method
    behind the same predecessor, and a buffer keeps its placement in memory (cache sets,
    pages) for the whole run, and either could favour one method of a pair in every round,
    which the rounds' spread would not show. (In one diagnostic run at load 13, the same CSR
    kernel writing two different buffers of jagmesh7 at F = 256 differed by 4 %, 99 % interval
    [1.006, 1.123] over 150 rounds.)"""
    variants = {k: v if isinstance(v, list) else [v] for k, v in fns.items()}
    reps, samples = {}, {k: [] for k in fns}
    for name, (fn, *_) in variants.items():
        fn()
        t0 = time.perf_counter()
        fn()
        one = time.perf_counter() - t0
        reps[name] = 1 if one > slow else int(min(max(1, fill / max(one, 1e-7)), 200))
    names, r, t_start = list(fns), 0, time.perf_counter()
    order = np.random.default_rng(0)
    while r < max_rounds:
        if r >= min_rounds and r % 10 == min_rounds % 10 and (
                tight({k: np.array(v) for k, v in samples.items()})
                or time.perf_counter() - t_start > budget_s):
            break
        for name in order.permutation(names):
            fn, calls = variants[name][r % len(variants[name])], []
            fn()
            for _ in range(reps[name]):
                t0 = time.perf_counter()
                fn()
                calls.append(time.perf_counter() - t0)
            samples[name].append(statistics.median(calls))
        r += 1
    return {k: np.array(v) for k, v in samples.items()}


def time_orderings(rt, a, tile):
    """{kind: (median ms of lathe_rt_graph_order, perm)} for the three orderings."""
    out = {}
    for kind in ["degree", "rcm", "cluster"]:
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            perm = rt.graph_order(kind, a, tile)
            ts.append(time.perf_counter() - t0)
        out[kind] = (statistics.median(ts) * 1e3, perm)
    return out


# ------------------------------------------------------------------------------------------
# Accuracy
# ------------------------------------------------------------------------------------------
def gcn_accuracy(tmp, dataset, data):
    """(lathe accuracy, pytorch accuracy) of the 2-layer GCN on `dataset`; fails the benchmark
    when they differ by more than 0.005 or the logits are outside the tolerance."""
    d = os.path.join(tmp, f"gcn-{dataset}")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "sparsegcn", "train_gcn.py"),
                    "--dataset", dataset, "--data", data, "--out", d], check=True)
    out = os.path.join(d, "out.npy")
    p = subprocess.run([tool("lathe-run"), os.path.join(d, "gcn.mlir"),
                        f"--input={os.path.join(d, 'x.npy')}", f"--output={out}"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"lathe-run failed on the {dataset} GCN:\n{p.stderr.strip()}")
    logits = np.load(out)
    ref = np.load(os.path.join(d, "ref_logits.npy"))
    ok, err = common.within_tolerance(logits, ref)
    labels = np.load(os.path.join(d, "labels.npy"))
    import json
    with open(os.path.join(d, "split.json")) as f:
        test = np.array(json.load(f)["test"])
    acc = float((logits[test].argmax(1) == labels[test]).mean())
    with open(os.path.join(d, "ref_accuracy.txt")) as f:
        ref_acc = float(f.read())
    print(f"  {dataset}: test accuracy lathe-run {acc:.4f}, PyTorch {ref_acc:.4f} "
          f"(delta {acc - ref_acc:+.4f}); logits max |err| {err:.2e}", flush=True)
    if not ok:
        fail(f"{dataset} GCN logits differ from PyTorch's beyond the tolerance (max |err| {err})")
    if abs(acc - ref_acc) > 0.005:
        fail(f"{dataset} GCN accuracy differs from PyTorch's by {acc - ref_acc:+.4f} (> 0.005)")
    return acc, ref_acc


# ------------------------------------------------------------------------------------------
# The benchmark
# ------------------------------------------------------------------------------------------
def check(name, out, ref, where):
    ok, err = common.within_tolerance(out, ref)
    if not ok:
        fail(f"{name} output wrong on {where} (max |err| {err:.3e})")


def run(args, rt):
    import torch
    from sparse_dot_mkl import dot_product_mkl
    import sparse_dot_mkl._mkl_interface as mkl_if
    mkl_if.mkl_set_num_threads(THREADS)
    torch.set_num_threads(THREADS)
    rt.lib.lathe_rt_set_num_threads(THREADS)
    import sparse_dot_mkl
    print(f"CPU: {common.cpu_name()}, {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.1f} at the start", flush=True)
    print(f"threads: Lathe {THREADS}, MKL {mkl_if.mkl_get_max_threads()} (sparse_dot_mkl "
          f"{sparse_dot_mkl.__version__}), torch {torch.get_num_threads()} "
          f"(PyTorch {torch.__version__}), scipy 1", flush=True)
    inputs, dirs = load_inputs()
    if args.graphs:
        inputs = {k: v for k, v in inputs.items() if k in args.graphs.split(",")}
    widths = [int(w) for w in args.widths.split(",")] if args.widths else WIDTHS
    rows, hist_rows, order_rows = [], [], []
    # One interval per (input, width), all of them together at args.confidence.
    row_level = paired.simultaneous_level(args.confidence, len(inputs) * len(widths))

    def tight(samples):
        """Whether best single / hybrid's interval is within args.ci_width of the ratio."""
        c = paired.compare(np.vstack([samples["sparse"], samples["dense"]]), samples["hybrid"],
                           level=row_level, n_boot=2000)
        return c["high"] - c["low"] <= args.ci_width * c["ratio"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, a in inputs.items():
            n = a.shape[0]
            print(f"\n{name}: {n} nodes, {a.nnz} non-zeros in Â (density {a.nnz / n / n:.2e})",
                  flush=True)
            orders = time_orderings(rt, a, HIST_TILE)
            hist0, max0 = density_histogram(a, HIST_TILE)
            hist_rows.append((name, "original", "-", hist0, max0))
            for kind, (ms, perm) in orders.items():
                if sorted(perm.tolist()) != list(range(n)):
                    fail(f"lathe_rt_graph_order({kind}) on {name} is not a permutation")
                h, mx = density_histogram(permuted(a, perm), HIST_TILE)
                hist_rows.append((name, kind, f"{ms:.2f}", h, mx))
            print(f"  tile-density histogram at T={HIST_TILE} (tiles per density bin; ordering "
                  "cost = lathe_rt_graph_order, median of 5):")
            print("    order     cost ms   empty  " + "  ".join(f"{l:>9}" for l in HIST_LABELS)
                  + "  max density")
            for r in hist_rows[-4:]:
                print(f"    {r[1]:<9} {r[2]:>7}  {r[3][0]:>6}  "
                      + "  ".join(f"{c:>9}" for c in r[3][1:]) + f"  {r[4]:.3f}")
            rcm_graph = (permuted(a, orders["rcm"][1]), orders["rcm"][1].astype(np.int32))
            coo = a.tocoo()
            t_coo = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]).astype(np.int64),
                                            coo.data, (n, n)).coalesce()
            t_csr = t_coo.to_sparse_csr()
            a64 = a.astype(np.float64)
            for f in widths:
                dec = pass_decision(a, f, tmp, f"{name}-{f}")
                tile = dec["tile"]
                b = a if dec["perm"] is None else permuted(a, dec["perm"])
                perm32 = None if dec["perm"] is None else dec["perm"].astype(np.int32)
                nonempty = nonempty_tiles(b, tile)
                order_rows.append((name, f, dec["reorder"], dec["predicted"],
                                   dec["compile_s"]))
                x = lathe_spmm.aligned_copy(
                    np.random.default_rng(f).standard_normal((n, f)).astype(np.float32))
                ref = a64 @ x.astype(np.float64)
                xt = torch.from_numpy(x)
                # The Lathe methods share LATHE_METHODS output buffers (interleaved_rounds).
                ybufs = [lathe_spmm.aligned_empty((n, f)) for _ in LATHE_METHODS]
                ys = dict(zip(LATHE_METHODS, ybufs))

                def tiled(y, classes):
                    return rt.tiled_call(b, x, y, tile, classes=classes,
                                         flags=lathe_spmm.CONST_A, perm=perm32)
                micro = dec["micro"] is not None
                groups = dec["groups"] is not None
                kept = dec["kept"]
                if not kept and dec["classes"] is None and not micro and not groups:
                    fail(f"sparsegcn-tile tiled {name} at F={f} without tile classes or an "
                         "engine: this benchmark has no timing for that plan")
                # With the micro-tile engine the single engines are the CSR kernel and the
                # micro-tile engine on every non-empty tile (both in the tiled kernel at T = 4).
                dense_flags = lathe_spmm.CONST_A | (lathe_spmm.MICRO if micro else 0)
                if groups:
                    def hybrid(y):
                        return rt.tiled_call(b, x, y, tile, threshold=dec["groups"],
                                             flags=lathe_spmm.CONST_A | lathe_spmm.ROW_GROUPS,
                                             perm=perm32)
                elif micro:
                    def hybrid(y):
                        return rt.tiled_call(b, x, y, tile, threshold=dec["micro"],
                                             flags=lathe_spmm.CONST_A | lathe_spmm.MICRO,
                                             perm=perm32)
                elif kept:
                    def hybrid(y):
                        return rt.csr_call(a, x, y, flags=lathe_spmm.CONST_A)
                else:
                    def hybrid(y):
                        return tiled(y, dec["classes"])
                # The CSR kernel on the RCM order (the ordering that localises X best),
                # with the per-call gather of X and scatter of Y a permutation costs.
                rcm_b, rcm_perm = rcm_graph
                makers = {
                    "hybrid": hybrid,
                    "sparse": lambda y: tiled(y, nonempty),
                    "rcm": lambda y: rt.tiled_call(rcm_b, x, y, tile,
                                                   classes=nonempty_tiles(rcm_b, tile),
                                                   flags=lathe_spmm.CONST_A, perm=rcm_perm),
                    # With the row-group engine its all-dense form: threshold 0, every
                    # non-empty row in a group of `tile` consecutive rows (the union of
                    # their columns, absent entries as zeros).
                    "dense": lambda y: (
                        rt.tiled_call(b, x, y, tile, threshold=0.0,
                                      flags=lathe_spmm.CONST_A | lathe_spmm.ROW_GROUPS,
                                      perm=perm32) if groups else
                        rt.tiled_call(b, x, y, tile, classes=(nonempty * 2).astype(np.int8),
                                      flags=dense_flags, perm=perm32))}
                # Each Lathe method once per buffer, the i-th one's list rotated by i: in a
                # round no two write the same buffer (the first callable writes ys[k]).
                fns = {k: [makers[k](y) for y in ybufs[i:] + ybufs[:i]]
                       for i, k in enumerate(LATHE_METHODS)}
                fns.update({
                       "mkl2": lambda: (mkl_if.mkl_set_num_threads(THREADS),
                                        dot_product_mkl(a, x))[1],
                       "mkl1": lambda: (mkl_if.mkl_set_num_threads(1),
                                        dot_product_mkl(a, x))[1],
                       "scipy": lambda: a @ x,
                       "torch_coo": lambda: torch.sparse.mm(t_coo, xt),
                       "torch_csr": lambda: torch.sparse.mm(t_csr, xt)})
                where = f"{name}, F={f}"
                for k in LATHE_METHODS:
                    fns[k][0]()
                    rt.check()
                    check(f"Lathe {k}", ys[k], ref, where)
                for k in ["mkl2", "mkl1", "scipy"]:
                    check(k, fns[k](), ref, where)
                for k in ["torch_coo", "torch_csr"]:
                    check(k, fns[k]().numpy(), ref, where)
                t_cell = time.perf_counter()
                per_round = interleaved_rounds(fns, args.min_rounds, args.max_rounds,
                                               args.cell_budget, tight)
                t_cell = time.perf_counter() - t_cell
                t = {k: float(np.median(v)) for k, v in per_round.items()}
                cmp = {k: paired.compare(np.vstack([per_round[e] for e in engines]),
                                         per_round["hybrid"], level=row_level, n_boot=BOOT)
                       for k, engines in COMPARISONS.items()}
                plan, why = same_plan(dec, nonempty)
                # The all-dense plan of PubMed holds ~250 MB of dense blocks: drop each
                # cell's plans before the next.
                rt.lib.lathe_rt_spmm_clear_plans()
                t["torch"] = min(t.pop("torch_coo"), t.pop("torch_csr"))
                # MKL's own 2 threads wait for each other at every call (a fork-join), which
                # on a loaded machine can take milliseconds; its 1-thread time is kept too and
                # the faster of the two is the baseline.
                t["mkl"] = min(t["mkl2"], t["mkl1"])
                classes = (micro_classes(b, tile, dec["micro"]) if micro else
                           dec["classes"] if dec["classes"] is not None else nonempty)
                hist = [int((classes == c).sum()) for c in range(3)]
                rows.append(dict(name=name, f=f, t=t, tile=tile, hist=hist, cmp=cmp, plan=plan,
                                 kept=kept, micro=micro, groups=groups, reorder=dec["reorder"],
                                 micro_dense=dec["micro_tiles_dense"]))
                print(f"  F={f:<3} tile {tile}, tiles empty/sparse/dense {hist[0]}/{hist[1]}/"
                      f"{hist[2]}{' (kept sparsegcn.aggregate)' if kept else ''}"
                      f"{' (micro-tile engine)' if micro else ''}"
                      + (f" (row-group engine: {dec['group_rows']} rows, {dec['group_nnz']} "
                         f"non-zeros in groups at >= {dec['groups']:.3f})" if groups else "")
                      + ";"
                      f" reorder: {dec['reorder']}", flush=True)
                print("        " + "  ".join(f"{k} {v * 1e3:.4f}" for k, v in t.items()) + " ms")
                print(f"        hybrid: x{t['mkl'] / t['hybrid']:.2f} vs MKL, "
                      f"x{t['scipy'] / t['hybrid']:.2f} vs scipy, x{t['torch'] / t['hybrid']:.2f}"
                      " vs torch; " + "; ".join(f"{COMPARISON_LABELS[k]} {interval(c)}"
                                                for k, c in cmp.items())
                      + f": {cmp['best']['verdict']} ({cmp['best']['rounds']} rounds, {t_cell:.0f} s)"
                      + (f"; the hybrid's plan is the {plan} plan ({why})" if plan else ""),
                      flush=True)
        accuracy = {}
        if not args.no_accuracy:
            print("\nGCN accuracy (PyTorch-trained 2-layer GCN run by lathe-run):", flush=True)
            for ds in ["cora", "citeseer"]:
                accuracy[ds] = gcn_accuracy(tmp, ds, dirs[ds])

    print("\n## Tables (markdown)\n")
    print(f"CPU: {common.cpu_name()}. Times in ms, medians over the rounds of each round's "
          f"median call; Lathe, MKL and torch on {THREADS} threads, scipy on 1.\n")
    print("| input | F | tile, classes e/s/d | reorder | hybrid | all-sparse | all-dense | "
          "sparse, RCM order | MKL 2 thr | MKL 1 thr | scipy (1 thr) | torch | vs MKL |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t = r["t"]
        ms = lambda k: f"{t[k] * 1e3:.4g}"  # noqa: E731
        cls = ("kept" if r["kept"] else "row groups" if r["groups"] else
               ("micro " if r["micro"] else "") + "/".join(map(str, r["hist"])))
        print(f"| {r['name']} | {r['f']} | {r['tile']}, {cls} | {r['reorder'].split(' ')[0]} | "
              f"{ms('hybrid')} | {ms('sparse')} | {ms('dense')} | {ms('rcm')} | {ms('mkl2')} | "
              f"{ms('mkl1')} | "
              f"{ms('scipy')} | "
              f"{ms('torch')} | {t['mkl'] / t['hybrid']:.2f} |")
    same = sum(r["plan"] is not None for r in rows)
    print(f"\nThe hybrid against each single engine, paired by round: ratio of medians "
          f"[{args.confidence:.0%} simultaneous interval: each row's paired bootstrap interval "
          f"at {row_level:.2%}, Bonferroni over {len(rows)} rows]; faster / slower: the interval "
          "entirely above / below 1, else same. \"plan\": what lathe-opt's output says the "
          "hybrid runs; \"= all-sparse\" means the pass kept (or built) the all-sparse plan "
          "itself, so that row compares one plan with itself.\n")
    print("| input | F | plan | rounds | " + " | ".join(COMPARISON_LABELS.values())
          + " | verdict |")
    print("|---|---|---|---|" + "---|" * len(COMPARISONS) + "---|")
    for r in rows:
        c = r["cmp"]
        plan = (f"= {r['plan']}" + (" (kept sparsegcn.aggregate)" if r["kept"] else "")
                if r["plan"] else "row groups" if r["groups"] else "micro tiles" if r["micro"]
                else f"own tiles ({r['tile']})")
        print(f"| {r['name']} | {r['f']} | {plan} | {c['best']['rounds']} | "
              + " | ".join(interval(c[k]) for k in COMPARISONS) + f" | {c['best']['verdict']} |")
    print(f"\n{same} of {len(rows)} rows run a single engine's plan as the hybrid, and their "
          "verdict says nothing about the pass's choice: where the pass kept "
          "sparsegcn.aggregate, the hybrid is the plain op and all-sparse the tiled op running "
          "the same CSR loop over the same non-zeros (plus the tiled op's plan lookup per call), so "
          "their ratio is 1 by construction, up to that lookup, which shows on the smallest "
          "graphs. "
          f"{len(rows) - same} rows run a plan of the pass's own.")
    print(f"\nTile-density histograms at T = {HIST_TILE} (tiles per bin of nnz / tile area; "
          "cost: lathe_rt_graph_order, ms):\n")
    print("| input | order | cost ms | empty | " + " | ".join(HIST_LABELS) + " | max density |")
    print("|---|---|---|---|" + "---|" * len(HIST_LABELS) + "---|")
    for r in hist_rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3][0]} | " + " | ".join(map(str, r[3][1:]))
              + f" | {r[4]:.3f} |")
    print("\nsparsegcn-tile reorder=auto (predicted hybrid time per ordering at its best tile "
          "size, including the permutation's gather/scatter):\n")
    print("| input | F | decision | predicted | lathe-opt s |")
    print("|---|---|---|---|---|")
    for r in order_rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f} |")
    if accuracy:
        print("\n| GCN | lathe-run test accuracy | PyTorch |\n|---|---|---|")
        for ds, (acc, ref_acc) in accuracy.items():
            print(f"| {ds} | {acc:.4f} | {ref_acc:.4f} |")

    sp_mkl = min(r["t"]["mkl"] / r["t"]["hybrid"] for r in rows)
    sp_scipy = min(r["t"]["scipy"] / r["t"]["hybrid"] for r in rows)
    sp_torch = min(r["t"]["torch"] / r["t"]["hybrid"] for r in rows)
    best = [r["cmp"]["best"] for r in rows]
    own = [r["cmp"]["best"] for r in rows if r["plan"] is None]
    count = lambda v: sum(c["verdict"] == v for c in best)  # noqa: E731
    top = lambda key: f"{max(c[key] for c in own):.3f}" if own else "nan"  # noqa: E731
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    print(f"RESULT min_speedup_vs_mkl={sp_mkl:.2f} min_speedup_vs_scipy={sp_scipy:.2f} "
          f"min_speedup_vs_torch={sp_torch:.2f} "
          f"best_real_hybrid_vs_best_single={max(c['ratio'] for c in best):.3f} "
          f"worst_real_hybrid_vs_best_single={min(c['ratio'] for c in best):.3f} "
          f"worst_real_hybrid_vs_best_single_ci_high={min(c['high'] for c in best):.3f} "
          f"best_own_plan_hybrid_vs_best_single={top('ratio')} "
          f"best_own_plan_hybrid_vs_best_single_ci_low={top('low')} "
          f"real_inputs_hybrid_faster={count(paired.FASTER)} "
          f"real_inputs_hybrid_same={count(paired.SAME)} "
          f"real_inputs_hybrid_slower={count(paired.SLOWER)} "
          f"real_inputs_plan_is_single_engine={same}")


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


def calibrate_micro(rt, rounds):
    """Prints the micro-tile engine's rows of the table (lib/Target/CPU/Target.cpp): on a
    2048-node matrix whose every tile row of 4 holds 10 full 4 x 4 tiles at random tile
    columns (82k non-zeros, about bcsstk13's count), interleaved rounds (best_times) of
      micro   the tiled kernel with LATHE_SPMM_MICRO, every tile dense (the register-blocked
              4 x 4 engine), and
      csr     the CSR kernel on the same non-zeros,
    on 64-byte-aligned X and Y. Rates are GFLOP/s of 2·nnz·F; their ratio csr / micro is
    the micro engine's break-even density (a 4 x 4 tile with that share of its 16 entries
    stored costs the same on both engines)."""
    n, per_row, b = 2048, 10, lathe_spmm.MICRO_TILE
    rng = np.random.default_rng(1)
    g = n // b
    rows, cols = [], []
    for tr in range(g):
        for tc in rng.choice(g, per_row, replace=False):
            r, c = np.meshgrid(np.arange(b) + tr * b, np.arange(b) + tc * b, indexing="ij")
            rows.append(r.ravel())
            cols.append(c.ravel())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    a = sp.csr_matrix((rng.random(rows.size).astype(np.float32) + 0.5, (rows, cols)),
                      shape=(n, n))
    a.sum_duplicates()
    a.indptr, a.indices = a.indptr.astype(np.int32), a.indices.astype(np.int32)
    micro, csr = {}, {}
    print(f"micro-tile engine: {n} nodes, {a.nnz} non-zeros in full 4 x 4 tiles; threads "
          f"{rt.lib.lathe_rt_get_num_threads()}; columns: micro GFLOP/s, CSR GFLOP/s, "
          "break-even density", flush=True)
    for f in CAL_WIDTHS:
        x = lathe_spmm.aligned_copy(rng.random((n, f), np.float32))
        ym, yc = lathe_spmm.aligned_empty((n, f)), lathe_spmm.aligned_empty((n, f))
        fns = {"micro": rt.tiled_call(a, x, ym, b, threshold=0.0,
                                      flags=lathe_spmm.CONST_A | lathe_spmm.MICRO),
               "csr": rt.csr_call(a, x, yc, flags=lathe_spmm.CONST_A)}
        s = best_times(fns, rounds=rounds)
        rt.check()
        micro[f] = 2 * a.nnz * f / s["micro"] / 1e9
        csr[f] = 2 * a.nnz * f / s["csr"] / 1e9
        print(f"  F={f:<4} {micro[f]:7.1f} {csr[f]:7.1f} {csr[f] / micro[f]:6.3f}", flush=True)
    rt.lib.lathe_rt_spmm_clear_plans()
    fmt = lambda vals: ", ".join(f"{v:.1f}" for v in vals)  # noqa: E731
    print("\n// Paste into Target.cpp (sparseGCNTable):")
    print(f"static const double microGemm[] = {{{fmt(micro[f] for f in CAL_WIDTHS)}}};")
    print(f"static const double microCsr[] = {{{fmt(csr[f] for f in CAL_WIDTHS)}}};")


def calibrate_groups(rt, rounds):
    """Prints the row-group engine's rows of the table (lib/Target/CPU/Target.cpp): for each
    group size g = 2, 3, 4, on a 2048-node matrix cut into groups of g consecutive rows that
    share 40 random columns (full groups, ~82k non-zeros, about bcsstk13's count),
    interleaved rounds (best_times) of
      group   the tiled kernel with LATHE_SPMM_ROW_GROUPS at threshold 1 (every row in a
              group of g), and
      csr     the CSR kernel on the same non-zeros,
    on 64-byte-aligned X and Y. Rates are GFLOP/s of 2·nnz·F; csr / group is the break-even
    density of a group of g rows (a group whose stored entries fill that share of its rows x
    the union of their columns costs the same on both engines)."""
    per_row, sizes = 40, list(range(2, lathe_spmm.ROW_GROUP_MAX + 1))
    rng = np.random.default_rng(2)
    group, csr = {}, {}
    print(f"row-group engine: groups of g rows sharing {per_row} columns; threads "
          f"{rt.lib.lathe_rt_get_num_threads()}; load average {os.getloadavg()[0]:.1f}; columns:"
          " group GFLOP/s, CSR GFLOP/s, break-even density", flush=True)
    for g in sizes:
        n = 2048 // g * g
        rows, cols = [], []
        for r0 in range(0, n, g):
            c = rng.choice(n, per_row, replace=False)
            rr, cc = np.meshgrid(np.arange(g) + r0, c, indexing="ij")
            rows.append(rr.ravel())
            cols.append(cc.ravel())
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        a = sp.csr_matrix((rng.random(rows.size).astype(np.float32) + 0.5, (rows, cols)),
                          shape=(n, n))
        a.sort_indices()
        a.indptr, a.indices = a.indptr.astype(np.int32), a.indices.astype(np.int32)
        for f in CAL_WIDTHS:
            x = lathe_spmm.aligned_copy(rng.random((n, f), np.float32))
            yg, yc = lathe_spmm.aligned_empty((n, f)), lathe_spmm.aligned_empty((n, f))
            fns = {"group": rt.tiled_call(a, x, yg, g, threshold=1.0,
                                          flags=lathe_spmm.CONST_A | lathe_spmm.ROW_GROUPS),
                   "csr": rt.csr_call(a, x, yc, flags=lathe_spmm.CONST_A)}
            s = best_times(fns, rounds=rounds)
            rt.check()
            group[g, f] = 2 * a.nnz * f / s["group"] / 1e9
            csr[g, f] = 2 * a.nnz * f / s["csr"] / 1e9
            print(f"  g={g} F={f:<4} {group[g, f]:7.1f} {csr[g, f]:7.1f} "
                  f"{csr[g, f] / group[g, f]:6.3f}", flush=True)
        rt.lib.lathe_rt_spmm_clear_plans()
    fmt = lambda vals: ", ".join(f"{v:.1f}" for v in vals)  # noqa: E731
    print("\n// Paste into Target.cpp (sparseGCNTable), one row per group size 2..4:")
    print("static const double groupGemm[] = {" + ", ".join(
        fmt(group[g, f] for f in CAL_WIDTHS) for g in sizes) + "};")
    print("static const double groupCsr[] = {" + ", ".join(
        fmt(csr[g, f] for f in CAL_WIDTHS) for g in sizes) + "};")


def micro_sweep(rt, names, widths, thresholds, rounds):
    """The micro-tile engine against the CSR kernel on real inputs, one thread, in CPU time
    per call (time.thread_time over batches of calls: robust to the other jobs' preemption
    on a shared machine, not to their cache traffic), best of `rounds` interleaved batches:
    the CSR kernel, then the tiled kernel with LATHE_SPMM_MICRO classifying micro tiles at
    each threshold (> 1: no dense tile, the micro plan's own overhead)."""
    rt.lib.lathe_rt_set_num_threads(1)
    inputs, _ = load_inputs()
    print(f"CPU time per call, us, one thread, best of {rounds} interleaved batches "
          f"(load average {os.getloadavg()[0]:.0f}):\n")
    print("| input | F | CSR | " + " | ".join(f"micro >= {t:g}" for t in thresholds) + " |")
    print("|---|---|---|" + "---|" * len(thresholds))
    for name in names:
        for f in widths:
            sweep_row(rt, name, inputs[name], f,
                      {t: (lathe_spmm.MICRO_TILE, t, lathe_spmm.MICRO) for t in thresholds},
                      rounds, time.thread_time, "micro sweep")


def sweep_row(rt, name, a, f, variants, rounds, clock, what):
    """One row of --micro-sweep and --group-sweep: the CSR kernel and the tiled kernel at each
    of `variants` ({key: (tile, threshold, flags)}) on `a` at width f, each output checked
    against scipy first, then the best of `rounds` interleaved batches in `clock` time per
    call; prints the markdown row (us, and each variant's speedup over the CSR kernel)."""
    n = a.shape[0]
    x = lathe_spmm.aligned_copy(
        np.random.default_rng(f).standard_normal((n, f)).astype(np.float32))
    ys = [lathe_spmm.aligned_empty((n, f)) for _ in range(len(variants) + 1)]
    fns = {"csr": rt.csr_call(a, x, ys[0], flags=lathe_spmm.CONST_A)}
    for y, (k, (tile, threshold, flags)) in zip(ys[1:], variants.items()):
        fns[k] = rt.tiled_call(a, x, y, tile, threshold=threshold,
                               flags=lathe_spmm.CONST_A | flags)
    ref = a.astype(np.float64) @ x.astype(np.float64)
    for (k, fn), y in zip(fns.items(), ys):
        fn()
        rt.check()
        check(f"{what} {k}", y, ref, f"{name}, F={f}")
    reps = max(20, int(2e8 / (a.nnz * f)))
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t0 = clock()
            for _ in range(reps):
                fn()
            best[k] = min(best[k], (clock() - t0) / reps)
    rt.lib.lathe_rt_spmm_clear_plans()
    print(f"| {name} | {f} | {best['csr'] * 1e6:.1f} | " +
          " | ".join(f"{best[k] * 1e6:.1f} ({best['csr'] / best[k]:.2f}x)" for k in variants)
          + " |", flush=True)


def row_groups(a, max_rows, threshold):
    """(groups, rows in groups, share of the non-zeros in groups) of the row-group engine's
    plan of `a` (LATHE_SPMM_ROW_GROUPS, the rule of runtime/lib/SpMM.cpp's fillRowGroups):
    a row joins the group above it while the group's entries fill at least `threshold` of
    (its rows x the union of their columns), at most `max_rows` rows, never an empty row."""
    rp, ci = a.indptr, a.indices
    n, i, groups, rows, nnz = a.shape[0], 0, 0, 0, 0
    while i < n:
        union = set(ci[rp[i]:rp[i + 1]].tolist())
        stored, g = len(union), 1
        while union and i + g < n and g < max_rows:
            row = set(ci[rp[i + g]:rp[i + g + 1]].tolist())
            if not row:
                break
            u = union | row
            if stored + len(row) < threshold * (g + 1) * len(u):
                break
            union, stored, g = u, stored + len(row), g + 1
        if g > 1:
            groups, rows, nnz = groups + 1, rows + g, nnz + int(rp[i + g] - rp[i])
        i += g
    return groups, rows, nnz / max(1, a.nnz)


def group_sweep(rt, names, widths, configs, rounds, threads):
    """The row-group engine against the CSR kernel on real inputs, in CPU time per call of
    the calling thread (as micro_sweep; with 2 threads the wall time of a batch instead):
    the CSR kernel, then the tiled kernel with LATHE_SPMM_ROW_GROUPS at each (max rows,
    threshold)."""
    rt.lib.lathe_rt_set_num_threads(threads)
    clock = time.thread_time if threads == 1 else time.perf_counter
    inputs, _ = load_inputs()
    print(f"{'CPU' if threads == 1 else 'wall'} time per call, us, {threads} thread(s), best of "
          f"{rounds} interleaved batches (load average {os.getloadavg()[0]:.1f}):\n")
    for name in names:
        a = inputs[name]
        print(f"{name}: " + "; ".join(
            f"{g}x>={t:g}: %d groups, %d rows, %.1f%% of the non-zeros"
            % (lambda r: (r[0], r[1], 100 * r[2]))(row_groups(a, g, t))
            for g, t in configs), flush=True)
    print("\n| input | F | CSR | " + " | ".join(f"groups {g}x >= {t:g}" for g, t in configs)
          + " |")
    print("|---|---|---|" + "---|" * len(configs))
    for name in names:
        for f in widths:
            sweep_row(rt, name, inputs[name], f,
                      {c: (c[0], c[1], lathe_spmm.ROW_GROUPS) for c in configs}, rounds, clock,
                      "group sweep")


def ab(rt, base_lib, names, widths, rounds, threads):
    """This build's plain CSR op and tiled all-sparse op (T = 32, every non-empty tile sparse)
    against the same two of another build's runtime library, loaded into the same process;
    interleaved rounds whose order rotates. One thread: CPU time per call (time.thread_time over
    batches), best of the rounds; more: wall time of single calls, median."""
    base = lathe_spmm.Runtime(base_lib)
    libs = {"": rt, " (base)": base}
    inputs, _ = load_inputs()
    for r in libs.values():
        r.lib.lathe_rt_set_num_threads(threads)
    print(f"{'CPU time per call, best' if threads == 1 else 'wall time per call, median'} of "
          f"{rounds} interleaved rounds, {threads} thread(s), base {base_lib}; load average "
          f"{os.getloadavg()[0]:.1f}\n")
    print("| input | F | plain | all-sparse | plain (base) | all-sparse (base) |\n"
          "|---|---|---|---|---|---|")
    for name in names:
        a = inputs[name]
        n = a.shape[0]
        for f in widths:
            x = lathe_spmm.aligned_copy(
                np.random.default_rng(f).standard_normal((n, f)).astype(np.float32))
            ref = a.astype(np.float64) @ x.astype(np.float64)
            fns, ys = {}, {}
            for tag, r in libs.items():
                for kind in ["plain", "all-sparse"]:
                    k = kind + tag
                    ys[k] = lathe_spmm.aligned_empty((n, f))
                    fns[k] = (r.csr_call(a, x, ys[k], flags=lathe_spmm.CONST_A) if kind == "plain"
                              else r.tiled_call(a, x, ys[k], 32, classes=nonempty_tiles(a, 32),
                                                flags=lathe_spmm.CONST_A))
            for k, fn in fns.items():
                fn()
                for r in libs.values():
                    r.check()
                check(k, ys[k], ref, f"{name}, F={f}")
            t0 = time.perf_counter()
            fns["plain"]()
            reps = max(5, int(0.004 / max(time.perf_counter() - t0, 1e-6)))
            samples = {k: [] for k in fns}
            keys = list(fns)
            for i in range(rounds):
                for k in keys[i % len(keys):] + keys[:i % len(keys)]:
                    fns[k]()
                    if threads == 1:
                        t0 = time.thread_time()
                        for _ in range(reps):
                            fns[k]()
                        samples[k].append((time.thread_time() - t0) / reps)
                    else:
                        for _ in range(reps):
                            t0 = time.perf_counter()
                            fns[k]()
                            samples[k].append(time.perf_counter() - t0)
            for r in libs.values():
                r.lib.lathe_rt_spmm_clear_plans()
            agg = min if threads == 1 else statistics.median
            print(f"| {name} | {f} | " + " | ".join(f"{agg(samples[k]) * 1e3:.4g}" for k in keys)
                  + " |", flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


def main():
    p = argparse.ArgumentParser(description="H-GCN aggregation on real graphs vs MKL, scipy, "
                                "torch (no arguments: the full benchmark)")
    p.add_argument("--calibrate", action="store_true",
                   help="re-measure the cost-model table instead (Debian's Python, no peers)")
    p.add_argument("--calibrate-micro", action="store_true",
                   help="re-measure only the micro-tile engine's rows of the table")
    p.add_argument("--micro-sweep", action="store_true",
                   help="the micro-tile engine against the CSR kernel at several thresholds "
                   "(CPU time, one thread; --graphs, --widths)")
    p.add_argument("--calibrate-groups", action="store_true",
                   help="re-measure only the row-group engine's rows of the table")
    p.add_argument("--group-sweep", action="store_true",
                   help="the row-group engine against the CSR kernel at several group "
                   "thresholds (CPU time with --threads 1; --graphs, --widths)")
    p.add_argument("--ab", metavar="LIB",
                   help="this build's plain and all-sparse kernels against another build's "
                   "runtime library (--threads, --rounds, --graphs, --widths)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads of --calibrate, --group-sweep and --ab")
    p.add_argument("--rounds", type=int, default=9,
                   help="interleaved rounds of --calibrate*, --group-sweep and --ab")
    # The benchmark's rounds and intervals (the module docstring's "Timing").
    for flag, kind, default, text in [
            ("--min-rounds", int, 30, "interleaved timing rounds per input and width, at least"),
            ("--max-rounds", int, 200, "... at most (while the interval is wider than "
             "--ci-width)"),
            ("--ci-width", float, 0.05, "no more rounds once best single / hybrid's interval "
             "is this narrow, relative to the ratio"),
            ("--cell-budget", float, 20.0, "no more rounds once an input and width's rounds "
             "took this many seconds"),
            ("--confidence", float, 0.95, "confidence of the intervals, all rows together "
             "(Bonferroni)")]:
        p.add_argument(flag, type=kind, default=default, help=text)
    p.add_argument("--graphs", help="comma-separated subset (development; RESULT then covers "
                   "only these)")
    p.add_argument("--widths", help="comma-separated subset of 16,64,256")
    p.add_argument("--no-accuracy", action="store_true", help="skip the GCN accuracy runs")
    args = p.parse_args()
    if not 0.0 < args.confidence < 1.0:
        p.error(f"--confidence {args.confidence} is not in (0, 1)")
    if not paired.MIN_ROUNDS <= args.min_rounds <= args.max_rounds:
        p.error(f"--min-rounds {args.min_rounds} and --max-rounds {args.max_rounds}: need "
                f"{paired.MIN_ROUNDS} <= min <= max")
    if args.ci_width <= 0.0 or args.cell_budget < 0.0:
        p.error("--ci-width must be positive and --cell-budget not negative")
    lib = lathe_spmm.find_library(build_dir())
    if not os.path.exists(lib):
        fail(f"{lib} not found: build first (or set LATHE_BUILD_DIR)")
    if args.calibrate_groups:
        rt = lathe_spmm.Runtime(lib)
        rt.lib.lathe_rt_set_num_threads(args.threads)
        calibrate_groups(rt, args.rounds)
        return
    if args.calibrate or args.calibrate_micro:
        import torch
        torch.set_num_threads(args.threads)
        rt = lathe_spmm.Runtime(lib)
        rt.lib.lathe_rt_set_num_threads(args.threads)
        if args.calibrate:
            calibrate(rt, args.rounds)
        calibrate_micro(rt, args.rounds)
        return
    if args.micro_sweep:
        micro_sweep(lathe_spmm.Runtime(lib), (args.graphs or "bcsstk13,jagmesh7").split(","),
                    [int(w) for w in (args.widths or "16,64,256").split(",")],
                    [1.01, 1.0, 0.875, 0.75, 0.625], 7)
        return
    if args.ab:
        ab(lathe_spmm.Runtime(lib), args.ab,
           (args.graphs or "pubmed,cora,citeseer,jagmesh7,bcsstk13").split(","),
           [int(w) for w in (args.widths or "16,64,256").split(",")], args.rounds, args.threads)
        return
    if args.group_sweep:
        group_sweep(lathe_spmm.Runtime(lib), (args.graphs or "bcsstk13,jagmesh7").split(","),
                    [int(w) for w in (args.widths or "16,64,256").split(",")],
                    [(4, 1.0), (4, 0.9), (4, 0.8), (4, 0.7), (2, 0.9), (3, 0.9)], args.rounds,
                    args.threads)
        return
    t0 = time.time()
    enter_venv()
    run(args, lathe_spmm.Runtime(lib))
    print(f"(benchmark took {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
