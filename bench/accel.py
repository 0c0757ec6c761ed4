#!/usr/bin/env python3
"""bench/accel: Lathe's accelerator target on simulated devices (docs/Targets/Accel.md).

Run from the repository root after the build, no arguments: /usr/bin/python3 bench/accel
(under 10 minutes). Every latency below is SIMULATED by runtime/accel's cycle-approximate model
of the device description (configs/accel/*.json); nothing runs on an accelerator. Functional
results are those of the engine program executed tile by tile by runtime/accel (lathe-run
--backend=accel); max_rel_err_vs_cpu is what lathe-run measures against the CPU backend on the
same inputs (its report), and the results are also compared with PyTorch/numpy float64
references. The CNN's convolutions run as implicit GEMMs whose image operand goes through the
im2col gather with padding (docs/Targets/Accel.md); its max poolings are vector-core reductions.

  1. models on gaudi2.json: the transformer encoder layer (L = 128), the digits MLP, the CNN,
     a 2-layer bidirectional LSTM and GRU;
     policies: cost-based placement, all-MME (vector cores only where the MME cannot run) and
     all-TPC.
  2. the encoder layer's sequence sweep, L = 128 .. 8192 (functional up to 1024, the timing
     model alone beyond): MME and TPC busy fractions and the share of the layer's time the MMEs
     sit idle waiting on vector-core work (the Gaudi study's long-sequence softmax bottleneck).
  3. H-GCN on versal-like.json: Y = A X per tile of sparsegcn-tile's density-aware tiling, priced
     with the device's own `sparsegcn` cost table (accel-attach-device; reorder=auto): the tiles
     it classifies dense on the dense engine (the AI-Engine-like array, the device's "mme"), the
     others on the sparse engine (programmable logic), against all-dense and all-sparse, each
     simulated on its own, on Cora, CiteSeer and PubMed; beside it, labelled, load balancing on
     top of that rule (tiles moved across its threshold while that shortens the estimate).

Writes build/bench-accel/ (reports, the L = 128 and L = 4096 traces and their PNG timelines).
Ends with RESULT max_rel_err_vs_cpu=... (bf16_mme_rel_err=...: the encoder layer executed with bf16
MME operands and f32 accumulation, against the float64 reference) mme_vs_tpc_matmul=... placement_vs_all_mme=...
placement_vs_all_tpc=... worst_placement_ratio=... mme_wait_share_L512=...
mme_wait_share_L8192=... (mme_wait_share_f32_L512=... mme_wait_share_f32_L8192=...)
best_gcn_hybrid_vs_best_single=... worst_gcn_hybrid_vs_best_single=... (the per-tile rule;
best_gcn_balanced_vs_best_single=... worst_gcn_balanced_vs_best_single=...: with load balancing
on top of it)
mme_wait_share is the share of the layer's time in which no MME is busy while a vector core is.
The headline mme_wait_share_L512 / _L8192 time the MME products at bf16, the precision the Gaudi
study measured (bf16 is Gaudi's default training precision; the vector-core kernels stay f32);
mme_wait_share_f32_* are the same runs with f32 MME products (at the MME's f32 rate).
"""
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import ROOT, build_dir, cpu_name, parse_decision, tool  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "sparsegcn"))
import graphs  # noqa: E402

CONFIGS = os.path.join(ROOT, "configs", "accel")
GAUDI = os.path.join(CONFIGS, "gaudi2.json")
VERSAL = os.path.join(CONFIGS, "versal-like.json")
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
OUT = os.path.join(build_dir(), "bench-accel")
POLICIES = ("cost", "all-mme", "all-tpc")
SWEEP = (128, 256, 512, 1024, 2048, 4096, 8192)
FUNCTIONAL_MAX_L = 1024
GCN_WIDTH = 16


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"bench/accel: {' '.join(cmd[:3])} ... failed:\n{r.stderr[-2000:]}")
    return r.stdout


def lathe_run(mlir, inputs, backend, out=None, report=None, policy="cost", timing_only=False,
              trace=None, config=GAUDI, mme_type="f32", precision="f32"):
    cmd = [tool("lathe-run"), mlir, "--no-cache", f"--precision={precision}"] + \
        [f"--input={i}" for i in inputs]
    if backend == "accel":
        cmd += ["--backend=accel", f"--accel-config={config}", f"--accel-policy={policy}",
                f"--accel-mme-type={mme_type}"]
        if timing_only:
            cmd.append("--accel-timing-only")
        if trace:
            cmd.append(f"--accel-trace={trace}")
    if out:
        cmd.append(f"--output={out}")
    if report:
        cmd.append(f"--report={report}")
    run(cmd)
    return json.load(open(report)) if report else None


def rel_err(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def simulated(report):
    s = report["simulated"]
    engines = {e["name"]: e for e in s["engines"]}
    mme = [e["busy_fraction"] for n, e in engines.items() if n.startswith("MME")]
    tpc = [e["busy_fraction"] for n, e in engines.items() if n.startswith("TPC")]
    return {"us": s["latency_us"], "cycles": s["total_cycles"],
            "mme_busy": sum(mme) / len(mme) if mme else 0.0,
            "tpc_busy": sum(tpc) / len(tpc) if tpc else 0.0,
            "wait": s["mme_idle_while_tpc_busy"], "charged": s["mme_wait_share_on_tpc"],
            "bytes": s["bytes_loaded"] + s["bytes_stored"],
            "placement": s["placement"]}


def timeline_png(trace, png, title):
    script = os.path.join(ROOT, "scripts", "accel_timeline.py")
    subprocess.run(["/usr/bin/python3", script, trace, png, "--title", title],
                   capture_output=True, text=True)


# ------------------------------------------------------------------------------------------
# 1. models under the three policies
# ------------------------------------------------------------------------------------------
def models(tmp, examples):
    import gen_examples  # noqa: F401  (scripts/, for the encoder below)
    rows, errs = [], {}
    cnn = os.path.join(tmp, "cnn")
    os.makedirs(cnn, exist_ok=True)
    run(["/usr/bin/python3", os.path.join(ROOT, "test", "e2e", "Inputs", "cnn-gen.py"), cnn])
    cases = [
        ("transformer L=128", os.path.join(examples, "transformer", "encoder_b1.mlir"),
         [os.path.join(examples, "transformer", "x_b1.npy")],
         os.path.join(examples, "transformer", "ref_b1.npy")),
        ("digits MLP", os.path.join(examples, "mlp", "mlp.mlir"),
         [os.path.join(examples, "mlp", "test_x.npy")],
         os.path.join(examples, "mlp", "ref_logits.npy")),
        ("CNN", os.path.join(cnn, "nchw.mlir"), [os.path.join(cnn, "x.npy")],
         os.path.join(cnn, "ref.npy")),
    ]
    # PyTorch's 2-layer bidirectional LSTM and GRU (T = 5, N = 3, H = 6), unrolled by
    # accel-expand-recurrences; the reference is PyTorch's y.
    for kind, name in (("lstm_bidir2", "LSTM 2x bidir"), ("gru_bidir2", "GRU 2x bidir")):
        d = os.path.join(tmp, kind)
        run(["/usr/bin/python3", os.path.join(ROOT, "test", "onnx", "Inputs",
                                              "torch_resample_rnn.py"), kind, d])
        run([tool("lathe-import-onnx"), os.path.join(d, "model.onnx"), "-o",
             os.path.join(d, "model.mlir")])
        cases.append((name, os.path.join(d, "model.mlir"), [os.path.join(d, "x0.npy")],
                      os.path.join(d, "ref0.npy")))
    results = {}
    for name, mlir, inputs, ref in cases:
        tag = name.split()[0]
        acc_out = os.path.join(tmp, f"{tag}-acc.npy")
        executable = True
        per, err_cpu = {}, None
        for policy in POLICIES:
            rep = os.path.join(OUT, f"{tag}-{policy}.json")
            functional = policy == "cost" and executable
            trace = os.path.join(OUT, "trace-L128.json") if functional and tag == "transformer" else None
            r = lathe_run(mlir, inputs, "accel", out=acc_out if functional else None, report=rep,
                          policy=policy, timing_only=not functional, trace=trace)
            per[policy] = simulated(r)
            if functional:
                err_cpu = r["max_rel_err_vs_cpu"]
        if executable:
            errs[name] = (err_cpu, rel_err(np.load(acc_out), np.load(ref)))
        if tag == "transformer":
            # bf16 MME operands with f32 accumulation, executed by the simulator; timed at the
            # MME's bf16 rate.
            bf = os.path.join(tmp, "transformer-bf16.npy")
            rb = lathe_run(mlir, inputs, "accel", out=bf, report=os.path.join(OUT, "transformer-bf16.json"),
                           mme_type="bf16")
            results["bf16"] = (rel_err(np.load(bf), np.load(ref)), "bf16",
                               rb["simulated"]["latency_us"], rb["max_rel_err_vs_cpu"])
        results[name] = per
        rows.append((name, per, errs.get(name, (None, None))))
    print("\n1. Models on gaudi2.json (simulated latency, us; f32 on the MME at its f32 rate)")
    print(f"  {'model':<18} {'cost':>9} {'all-MME':>9} {'all-TPC':>10} {'cost/MME':>9} "
          f"{'cost/TPC':>9} {'MME/TPC/split':>13} {'rel err vs CPU':>15} {'vs reference':>13}")
    for name, per, (ecpu, eref) in rows:
        ecpu_s = "timed only" if ecpu is None else f"{ecpu:.2e}"
        eref_s = "" if eref is None else f"{eref:.2e}"
        pl = per["cost"]["placement"]
        on = "/".join(str(sum(d["engine"] == e for d in pl)) for e in ("mme", "tpc", "split"))
        print(f"  {name:<18} {per['cost']['us']:>9.3f} {per['all-mme']['us']:>9.3f} "
              f"{per['all-tpc']['us']:>10.3f} {per['cost']['us'] / per['all-mme']['us']:>9.3f} "
              f"{per['cost']['us'] / per['all-tpc']['us']:>9.4f} {on:>13} {ecpu_s:>15} {eref_s:>13}")
    if "bf16" in results:
        e, eff, us, ec = results["bf16"]
        print(f"  transformer L=128 with bf16 MME operands (f32 accumulation, executed): {us:.3f} us "
              f"simulated; max rel err vs the float64 reference {e:.2e}, vs the CPU backend {ec:.2e}")
    return results, errs


# ------------------------------------------------------------------------------------------
# 2. the sequence sweep
# ------------------------------------------------------------------------------------------
def sweep(tmp):
    import gen_examples as ge
    layer, p = ge.make_encoder()
    rows, errs = [], []
    rng = np.random.RandomState(7)
    for L in SWEEP:
        ge.S = L
        mlir = os.path.join(tmp, f"encoder_L{L}.mlir")
        with open(mlir, "w") as f:
            f.write(ge.emit_encoder(p, 1))
        x = rng.randn(1, L, ge.D).astype(np.float32)
        xin = os.path.join(tmp, f"x_L{L}.npy")
        np.save(xin, x)
        functional = L <= FUNCTIONAL_MAX_L
        rep = os.path.join(OUT, f"sweep-L{L}.json")
        acc_out = os.path.join(tmp, f"y_L{L}.npy")
        trace = os.path.join(OUT, "trace-L4096.json") if L == 4096 else None
        r = simulated(lathe_run(mlir, [xin], "accel", out=acc_out if functional else None,
                                report=rep, timing_only=not functional, trace=trace))
        err_cpu = err_ref = None
        if functional:
            y = np.load(acc_out)
            err_cpu = json.load(open(rep))["max_rel_err_vs_cpu"]
            err_ref = rel_err(y, ge.numpy_encoder(p, x.astype(np.float64)))
            errs.append(err_cpu)
        softmax = [d for d in r["placement"] if d["op"] == "linalg.softmax"]
        rb = simulated(lathe_run(mlir, [xin], "accel", report=os.path.join(OUT, f"sweep-bf16-L{L}.json"),
                                 timing_only=True, mme_type="bf16"))
        rows.append((L, r, err_cpu, err_ref, softmax[0]["tpc_cycles"] if softmax else 0, rb))
    ge.S = 128
    print("\n2. Encoder layer sequence sweep on gaudi2.json (cost placement; simulated; "
          f"functional up to L = {FUNCTIONAL_MAX_L})")
    print("  MME idle|TPC: share of the layer's time no MME is busy while a vector core is; "
          "charged: MME idle time charged to waiting on vector-core work (runtime/accel)")
    print(f"  {'L':>5} {'us (f32 MME)':>13} {'MME busy':>9} {'TPC busy':>9} {'MME idle|TPC':>13} "
          f"{'charged':>8} {'us (bf16 MME)':>14} {'MME idle|TPC':>13} {'softmax est. us':>16} "
          f"{'HBM bytes':>12} {'rel err vs CPU':>15} {'vs numpy f64':>13}")
    for L, r, ec, er, smc, rb in rows:
        print(f"  {L:>5} {r['us']:>13.2f} {r['mme_busy']:>9.3f} {r['tpc_busy']:>9.3f} "
              f"{r['wait']:>13.3f} {r['charged']:>8.3f} {rb['us']:>14.2f} {rb['wait']:>13.3f} "
              f"{smc / 1650.0:>16.2f} {r['bytes']:>12} "
              f"{'timing only' if ec is None else f'{ec:.2e}':>15} "
              f"{'' if er is None else f'{er:.2e}':>13}")
    return {L: r for L, r, *_ in rows}, {L: rb for L, *_, rb in rows}, errs


# ------------------------------------------------------------------------------------------
# 3. H-GCN tiles on the Versal-like device
# ------------------------------------------------------------------------------------------
def load_citeseer(path):
    ids = []
    with gzip.open(os.path.join(path, "citeseer.content.gz"), "rt") as f:
        for line in f:
            parts = line.split()
            if parts:
                ids.append(parts[0])
    index = {pid: i for i, pid in enumerate(ids)}
    rows, cols = [], []
    with open(os.path.join(path, "citeseer.cites")) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[0] in index and parts[1] in index and parts[0] != parts[1]:
                a, b = index[parts[0]], index[parts[1]]
                rows += [a, b]
                cols += [b, a]
    return symmetric(rows, cols, len(ids))


def load_pubmed(path):
    index, rows, cols = {}, [], []
    with open(os.path.join(path, "Pubmed-Diabetes.DIRECTED.cites.tab")) as f:
        for line in f:
            parts = line.split("\t")
            if len(parts) != 4 or not parts[1].startswith("paper:"):
                continue
            a = index.setdefault(parts[1].strip(), len(index))
            b = index.setdefault(parts[3].strip(), len(index))
            if a != b:
                rows += [a, b]
                cols += [b, a]
    return symmetric(rows, cols, len(index))


def symmetric(rows, cols, n):
    adj = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, n))
    adj.data[:] = 1.0
    adj.eliminate_zeros()
    return adj


def hex_dense(a):
    return '"0x' + np.ascontiguousarray(a).tobytes().hex().upper() + '"'


def sparsegcn_decide(csr, width, tmp, tag):
    """sparsegcn-tile's density-aware tiling priced for the Versal-like device: lathe-opt on a
    module holding the CSR as constants, with accel-attach-device first, which gives the
    module's target the device's `sparsegcn` cost table (dense engine vs sparse engine per tile,
    from the simulator's tile costs; docs/Targets/Accel.md). reorder=auto: the evidence issue's
    node orderings, applied only where the cost model predicts a gain. Returns the decision
    (dict of its numbers and strings), the matrix in the order the pass chose and the class of
    every tile of its tile grid (0 empty, 1 sparse, 2 dense; row-major)."""
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
    out = run([tool("lathe-opt"), src, f"--accel-attach-device=config={VERSAL}",
               "--sparsegcn-tile=reorder=auto"])
    text, decision = parse_decision(out, "sparsegcn")
    if decision is None:
        sys.exit(f"bench/accel: {tag}: sparsegcn-tile left no #sparsegcn.decision")
    if decision.get("target") != "versal-like":
        sys.exit(f"bench/accel: sparsegcn-tile did not use the device's table: {text[:300]}")
    t = int(decision["tile_size"])
    g = (n + t - 1) // t
    perm = re.search(r"permutation\((%[\w]+) :", out)
    if perm:
        const = re.search(re.escape(perm.group(1)) + r' = arith.constant dense<"0x([0-9A-F]+)">'
                          r" : tensor<\d+xi64>", out)
        order = np.frombuffer(bytes.fromhex(const.group(1)), np.int64)
        csr = csr[order][:, order].tocsr()
    classes = re.search(r"tile_classes = array<i8: ([0-9, ]+)>", out)
    coo = csr.tocoo()
    counts = np.bincount((coo.row // t) * g + coo.col // t, minlength=g * g)
    if classes:
        cls = np.array([int(c) for c in classes.group(1).split(",")], np.int8)
    else:
        # Kept as sparsegcn.aggregate: no tile reaches the dense threshold.
        cls = np.where(counts > 0, 1, 0).astype(np.int8)
    if not np.array_equal(cls > 0, counts > 0) or int((cls == 2).sum()) != int(decision["tiles_dense"]):
        sys.exit(f"bench/accel: {tag}: sparsegcn-tile's tile classes do not match the matrix")
    return decision, t, counts, cls


def gcn_program(tiles, dense, t, f, n):
    """Engine ops of Y = A X over the non-empty tiles (`tiles`: rows of [nnz, height, width];
    `dense`: which run on the dense engine): a group per dense tile shape (adjacency block and X
    block loaded, [h x w] x [w x f] on the dense engine: the graph's ragged last tile row and
    column are smaller tiles, not full ones), one for the sparse tiles (values + indices and the
    X block loaded, nnz * f MACs on the sparse engine; the mean non-zeros per tile, which is exact
    for the sum of a linear cost up to rounding), independent of each other, then Y stored."""
    ops, last, group = [], [], 0
    for h, w in sorted({(int(h), int(w)) for _, h, w in tiles[dense]}, reverse=True):
        k = int(((tiles[:, 1] == h) & (tiles[:, 2] == w) & dense).sum())
        ops.append({"kind": "dma_load", "tiles": k, "bytes": (h * w + w * f) * 4, "group": group,
                    "name": f"dense {h}x{w} tiles"})
        ops.append({"kind": "mme_matmul", "tiles": k, "m": h, "n": f, "k": w, "group": group,
                    "deps": [len(ops) - 1], "name": f"dense {h}x{w} tiles"})
        last.append(len(ops) - 1)
        group += 1
    sparse_nnz = tiles[~dense, 0]
    if len(sparse_nnz):
        k = len(sparse_nnz)
        avg = int(np.ceil(sparse_nnz.sum() / k))
        ops.append({"kind": "dma_load", "tiles": k, "bytes": avg * 8 + t * f * 4, "group": group,
                    "name": "sparse tiles"})
        ops.append({"kind": "sparse_spmm", "tiles": k, "nnz": avg, "cols": f, "group": group,
                    "deps": [len(ops) - 1], "name": "sparse tiles"})
        last.append(len(ops) - 1)
    ops.append({"kind": "dma_store", "tiles": 1, "bytes": n * f * 4, "deps": last, "name": "Y"})
    return {"ops": ops}


def simulate_program(program, path):
    with open(path, "w") as f:
        json.dump(program, f)
    return json.loads(run([tool("lathe-accel-sim"), path, f"--accel-config={VERSAL}"]))


def gcn(tmp):
    dev = json.load(open(VERSAL))
    rows_, cols_ = dev["mme"]["rows"], dev["mme"]["cols"]
    fill, macs = dev["mme"]["fill_cycles"], dev["sparse"]["macs_per_cycle"]
    f32_rate = dev["mme"].get("f32_rate", 1.0)
    sstart = dev["sparse"]["startup_cycles"]
    hbm_bpc = dev["hbm"]["bytes_per_second"] / (dev["clock_ghz"] * 1e9)
    gs = {}
    cora = graphs.cora_dir()
    if cora:
        gs["Cora"] = graphs.load_cora(cora)[2]
    if os.path.exists(os.path.join(DATA, "citeseer", "citeseer.cites")):
        gs["CiteSeer"] = load_citeseer(os.path.join(DATA, "citeseer"))
    if os.path.exists(os.path.join(DATA, "pubmed", "Pubmed-Diabetes.DIRECTED.cites.tab")):
        gs["PubMed"] = load_pubmed(os.path.join(DATA, "pubmed"))
    print(f"\n3. H-GCN aggregation Y = A X (F = {GCN_WIDTH}) on versal-like.json (simulated): "
          "sparsegcn-tile decides per tile, priced with the device's `sparsegcn` table")
    print("  rule: sparsegcn-tile's tile classes (dense engine where a tile's density reaches the "
          "break-even);\n  +balance: load balancing ON TOP of the rule (tiles moved across the "
          "rule's threshold in density order\n  while that shortens the two engines' estimated "
          "concurrent finish; not H-GCN's rule)")
    print(f"  {'graph':<9} {'nodes':>6} {'nnz':>7} {'reorder':>8} {'tile':>5} {'tiles':>6} "
          f"{'break-even':>10} {'dense':>6} {'all-dense us':>13} {'all-sparse us':>14} "
          f"{'rule us':>9} {'rule/best':>10} {'dense':>6} {'+balance us':>12} {'bal/best':>9}")
    ratios, balanced = {}, {}
    for name, adj in gs.items():
        a = graphs.gcn_normalize(adj)
        n, f = a.shape[0], GCN_WIDTH
        decision, t, counts, cls = sparsegcn_decide(a, f, tmp, name)
        nonempty = np.nonzero(counts)[0]
        g = (n + t - 1) // t
        tr, tc = nonempty // g, nonempty % g
        hs = np.minimum(n, (tr + 1) * t) - tr * t
        ws = np.minimum(n, (tc + 1) * t) - tc * t
        nnz = counts[nonempty]
        dense_rule = cls[nonempty] == 2
        # Densest first (the rule's dense tiles are a prefix of this order).
        order = np.lexsort((-nnz, -(nnz / (hs * ws))))
        tiles = np.stack([nnz, hs, ws], axis=1)[order]
        nnz, dense_rule = nnz[order], dense_rule[order]
        everything, nothing = np.ones(len(nnz), bool), np.zeros(len(nnz), bool)
        prefix = lambda k: np.arange(len(nnz)) < k  # noqa: E731
        sim = {}
        sim["all-dense"] = simulate_program(gcn_program(tiles, everything, t, f, n),
                                            os.path.join(tmp, f"{name}-d.json"))
        sim["all-sparse"] = simulate_program(gcn_program(tiles, nothing, t, f, n),
                                             os.path.join(tmp, f"{name}-s.json"))
        sim["rule"] = simulate_program(gcn_program(tiles, dense_rule, t, f, n),
                                       os.path.join(tmp, f"{name}-r.json"))
        # Load balancing on top of the rule: from the rule's split (its k densest tiles on the
        # dense engine), move the next tile across while the estimated finish of the two
        # engines running concurrently shrinks: the later engine, or HBM, which both share
        # (each tile's compute and bytes from the device's numbers, as gcn_program sends them).
        hh, ww = tiles[:, 1], tiles[:, 2]
        dense_cost = -(-hh // rows_) * -(-f // cols_) * np.ceil(ww / f32_rate) + fill
        dense_prefix = np.concatenate([[0.0], np.cumsum(dense_cost)])
        dense_bytes = np.concatenate([[0.0], np.cumsum((hh * ww + ww * f) * 4)])
        sparse_cost = np.ceil(nnz * f / macs) + sstart
        suffix = np.concatenate([np.cumsum(sparse_cost[::-1])[::-1], [0.0]])
        sparse_bytes = np.concatenate([np.cumsum((nnz * 8 + t * f * 4)[::-1])[::-1], [0.0]])
        est = lambda k: max(dense_prefix[k], suffix[k],  # noqa: E731
                            (dense_bytes[k] + sparse_bytes[k]) / hbm_bpc)
        k = int(dense_rule.sum())
        while True:
            step = 1 if suffix[k] > dense_prefix[k] else -1
            if not 0 <= k + step <= len(nnz) or est(k + step) >= est(k):
                break
            k += step
        sim["balanced"] = simulate_program(gcn_program(tiles, prefix(k), t, f, n),
                                           os.path.join(tmp, f"{name}-b.json"))
        single = min(sim["all-dense"]["latency_us"], sim["all-sparse"]["latency_us"])
        ratios[name] = sim["rule"]["latency_us"] / single
        balanced[name] = sim["balanced"]["latency_us"] / single
        reorder = decision.get("reorder", "none").split(" ")[0] \
            if "(applied" in decision.get("reorder", "") else "none"
        print(f"  {name:<9} {n:>6} {a.nnz:>7} {reorder:>8} {t:>5} {len(nnz):>6} "
              f"{decision.get('break_even_density', float('nan')):>10.3f} "
              f"{int(dense_rule.sum()):>6} {sim['all-dense']['latency_us']:>13.2f} "
              f"{sim['all-sparse']['latency_us']:>14.2f} {sim['rule']['latency_us']:>9.2f} "
              f"{ratios[name]:>10.4f} {k:>6} {sim['balanced']['latency_us']:>12.2f} "
              f"{balanced[name]:>9.4f}")
    print("  (reorder: the ordering sparsegcn-tile applied with reorder=auto, none where no "
          "ordering was predicted to pay)")
    return ratios, balanced


def main():
    t0 = time.time()
    os.makedirs(OUT, exist_ok=True)
    print("bench/accel: simulated devices (runtime/accel); the host executes the engine programs "
          "(functional results) and the CPU reference")
    print(f"host CPU: {cpu_name()}")
    print(f"devices: {GAUDI}, {VERSAL}")
    with tempfile.TemporaryDirectory() as tmp:
        from common import examples_dir
        examples = examples_dir(tmp)
        model_results, model_errs = models(tmp, examples)
        sweep_results, sweep_bf16, sweep_errs = sweep(tmp)
        gcn_ratios, gcn_balanced = gcn(tmp)
    for tag, title in (("L128", "encoder layer L=128, gaudi2 (simulated)"),
                       ("L4096", "encoder layer L=4096, gaudi2 (simulated)")):
        trace = os.path.join(OUT, f"trace-{tag}.json")
        if os.path.exists(trace):
            timeline_png(trace, os.path.join(OUT, f"timeline-{tag}.png"), title)

    layer = model_results["transformer L=128"]
    largest = max((d for d in layer["cost"]["placement"] if d["op"] == "lathe.matmul"),
                  key=lambda d: d["mme_cycles"])
    mme_vs_tpc = largest["tpc_cycles"] / largest["mme_cycles"]
    bf16 = model_results.pop("bf16", None)
    worst = max(per["cost"]["us"] / min(per["all-mme"]["us"], per["all-tpc"]["us"])
                for name, per in model_results.items() if name != "transformer L=128")
    max_err = max([e for e, _ in model_errs.values()] + sweep_errs)
    print(f"\nlargest matmul of the layer ({largest['loc']}): {largest['mme_cycles']} cycles on "
          f"the MMEs, {largest['tpc_cycles']} on the vector cores (placement's estimates, the "
          "simulator's tile costs)")
    print(f"traces and timelines: {OUT}/trace-L128.json, trace-L4096.json, timeline-*.png")
    print("mme_wait_share_L512 / _L8192 below: MME products timed at bf16, the precision the Gaudi "
          "study ran (Gaudi's default training precision; vector cores f32); "
          "mme_wait_share_f32_*: the same layer with f32 MME products")
    print(f"wall time {time.time() - t0:.0f} s")
    vals = {
        "max_rel_err_vs_cpu": f"{max_err:.2e}",
        "bf16_mme_rel_err": f"{bf16[0]:.2e}" if bf16 and bf16[1] == "bf16" else "n/a",
        "mme_vs_tpc_matmul": f"{mme_vs_tpc:.2f}",
        "placement_vs_all_mme": f"{layer['cost']['us'] / layer['all-mme']['us']:.4f}",
        "placement_vs_all_tpc": f"{layer['cost']['us'] / layer['all-tpc']['us']:.4f}",
        "worst_placement_ratio": f"{worst:.4f}",
        # bf16 MME products, as the Gaudi study ran (see the docstring); f32 kept beside.
        "mme_wait_share_L512": f"{sweep_bf16[512]['wait']:.3f}",
        "mme_wait_share_L8192": f"{sweep_bf16[8192]['wait']:.3f}",
        "mme_wait_share_f32_L512": f"{sweep_results[512]['wait']:.3f}",
        "mme_wait_share_f32_L8192": f"{sweep_results[8192]['wait']:.3f}",
        "best_gcn_hybrid_vs_best_single": f"{min(gcn_ratios.values()):.4f}" if gcn_ratios else "n/a",
        "worst_gcn_hybrid_vs_best_single": f"{max(gcn_ratios.values()):.4f}" if gcn_ratios else "n/a",
        # Load balancing on top of the rule (labelled; not the per-tile rule).
        "best_gcn_balanced_vs_best_single":
            f"{min(gcn_balanced.values()):.4f}" if gcn_balanced else "n/a",
        "worst_gcn_balanced_vs_best_single":
            f"{max(gcn_balanced.values()):.4f}" if gcn_balanced else "n/a",
    }
    print("RESULT " + " ".join(f"{k}={v}" for k, v in vals.items()))


if __name__ == "__main__":
    main()
