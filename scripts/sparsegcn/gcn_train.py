#!/usr/bin/python3
"""A 2-layer GCN (Kipf & Welling) for lathe-train, and its independent checks.

    gcn_train.py make --graph cora --data ../shared/data/cora --out DIR
    gcn_train.py make --graph directed --adjacency constant --out DIR
    gcn_train.py grad DIR            # lathe-run's @loss_grad vs PyTorch autograd
    gcn_train.py accuracy DIR LOGITS # test accuracy of lathe-run's logits

`make` writes into DIR:
  gcn.mlir    @main(%idx: tensor<?xi64>) -> tensor<?xCxf32>: the logits of the
              nodes `idx`, computed from the whole graph (full batch):
              Y = Â·relu(Â·(X W1) + b1)·W2 + b2, the aggregations as
              sparsegcn.aggregate, the rows of `idx` picked by a gather. X and
              Â's CSR come from graph.h5 (lathe.weight, or with
              --adjacency constant Â as arith.constants, so that the compiler
              sees it); the parameters from weights.h5 (/conv1/weight, ...).
  graph.h5    /features [N, F] f32, /adj/row_ptr, /adj/col_idx (i64),
              /adj/values (f32)
  weights.h5  seeded Glorot-uniform weights, zero biases
  train.h5, val.h5, test.h5   /idx (node ids, i64) and /labels (i64)
  lathe-train trains it with `--loss=cross-entropy --freeze=/features,/adj/values
  --batch=<train nodes>`: every step sees all nodes, and the loss is the mean
  cross-entropy over the train nodes.

Cora: rows of X normalised to sum 1, Â = D^-1/2 (A + I) D^-1/2 (symmetric),
the split of train_gcn.py (cora.content order: train 0-139, validation
200-499, test 500-1499). --graph directed: a seeded 40-node graph whose
adjacency is not symmetric (random directed edges, random weights), 6 features,
3 classes, train 0-19, validation 20-29, test 30-39: it checks that the
backward aggregation uses Aᵀ, not A.

`grad` runs nothing itself: it reads DIR/grad_*.npy, written by
`lathe-run DIR/grad.mlir --entry=loss_grad` (see train-gcn-cora.test), and
compares them with PyTorch autograd in float64 on the same inputs.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import graphs  # noqa: E402

HIDDEN = 16
PARAMS = ["/conv1/weight", "/conv1/bias", "/conv2/weight", "/conv2/bias"]


def hex_dense(array):
    return '"0x' + np.ascontiguousarray(array).tobytes().hex().upper() + '"'


def directed_graph(seed=0):
    """A 40-node graph with random directed, weighted edges (not symmetric)."""
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    n, f, c = 40, 6, 3
    dense = (rng.random((n, n)) < 0.12) * rng.uniform(0.1, 1.0, (n, n))
    dense[np.arange(n), np.arange(n)] = 0.5
    a = sp.csr_matrix(dense.astype(np.float32))
    a.sort_indices()
    labels = rng.integers(0, c, n).astype(np.int64)
    x = (np.eye(c)[labels] @ rng.normal(size=(c, f)) +
         0.5 * rng.normal(size=(n, f))).astype(np.float32)
    split = (np.arange(20), np.arange(20, 30), np.arange(30, 40))
    return x, labels, a, split


def cora(path):
    x, labels, adj = graphs.load_cora(path)
    x = x / np.maximum(x.sum(axis=1, keepdims=True), 1.0)
    a = graphs.gcn_normalize(adj).tocsr().astype(np.float32)
    a.sort_indices()
    split = (np.arange(140), np.arange(200, 500), np.arange(500, 1500))
    return x.astype(np.float32), labels.astype(np.int64), a, split


def glorot(rng, fan_in, fan_out):
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)


def emit_mlir(n, f, c, nnz, csr, constant):
    h = HIDDEN
    tf = lambda *s: "tensor<" + "x".join(map(str, s)) + "xf32>"  # noqa: E731
    ti = lambda *s: "tensor<" + "x".join(map(str, s)) + "xi64>"  # noqa: E731

    def weight(dataset, file, type_):
        return f'lathe.weight #lathe.external<"{file}", "{dataset}"> : {type_}'

    lines = [f"// 2-layer GCN for lathe-train, written by scripts/sparsegcn/gcn_train.py",
             f'func.func @main(%idx: tensor<?xi64> {{lathe.name = "idx"}}) -> tensor<?x{c}xf32> {{',
             f"  %x = {weight('/features', 'graph.h5', tf(n, f))}"]
    for name, ds, t in [("rp", "/adj/row_ptr", ti(n + 1)), ("ci", "/adj/col_idx", ti(nnz)),
                        ("v", "/adj/values", tf(nnz))]:
        if constant:
            lines.append(f"  %{name} = arith.constant dense<{hex_dense(csr[name])}> : {t}")
        else:
            lines.append(f"  %{name} = {weight(ds, 'graph.h5', t)}")
    for name, ds, t in [("w1", PARAMS[0], tf(f, h)), ("b1", PARAMS[1], tf(h)),
                        ("w2", PARAMS[2], tf(h, c)), ("b2", PARAMS[3], tf(c))]:
        lines.append(f"  %{name} = {weight(ds, 'weights.h5', t)}")
    agg = f"csr(%rp, %ci, %v : {ti(n + 1)}, {ti(nnz)}, {tf(nnz)}) [{n}, {n}]"
    ew, eb = "affine_map<(i, j) -> (i, j)>", "affine_map<(i, j) -> (j)>"
    par = 'iterator_types = ["parallel", "parallel"]'
    lines += [
        "  %zero = arith.constant 0.0 : f32",
        f"  %e0 = tensor.empty() : {tf(n, h)}",
        f"  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : {tf(n, h)}) -> {tf(n, h)}",
        f"  %xw = linalg.matmul ins(%x, %w1 : {tf(n, f)}, {tf(f, h)}) outs(%z0 : {tf(n, h)}) -> {tf(n, h)}",
        f"  %e1 = tensor.empty() : {tf(n, h)}",
        f"  %a1 = sparsegcn.aggregate {agg} ins(%xw : {tf(n, h)}) outs(%e1 : {tf(n, h)}) -> {tf(n, h)}",
        f"  %e2 = tensor.empty() : {tf(n, h)}",
        f"  %h1 = linalg.generic {{indexing_maps = [{ew}, {eb}, {ew}], {par}}} "
        f"ins(%a1, %b1 : {tf(n, h)}, {tf(h)}) outs(%e2 : {tf(n, h)}) {{",
        "  ^bb0(%a: f32, %b: f32, %o: f32):",
        "    %s = arith.addf %a, %b : f32",
        "    %r = arith.maximumf %s, %zero : f32",
        "    linalg.yield %r : f32",
        f"  }} -> {tf(n, h)}",
        f"  %e3 = tensor.empty() : {tf(n, c)}",
        f"  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : {tf(n, c)}) -> {tf(n, c)}",
        f"  %hw = linalg.matmul ins(%h1, %w2 : {tf(n, h)}, {tf(h, c)}) outs(%z3 : {tf(n, c)}) -> {tf(n, c)}",
        f"  %e4 = tensor.empty() : {tf(n, c)}",
        f"  %a2 = sparsegcn.aggregate {agg} ins(%hw : {tf(n, c)}) outs(%e4 : {tf(n, c)}) -> {tf(n, c)}",
        f"  %e5 = tensor.empty() : {tf(n, c)}",
        f"  %y = linalg.generic {{indexing_maps = [{ew}, {eb}, {ew}], {par}}} "
        f"ins(%a2, %b2 : {tf(n, c)}, {tf(c)}) outs(%e5 : {tf(n, c)}) {{",
        "  ^bb0(%a: f32, %b: f32, %o: f32):",
        "    %s = arith.addf %a, %b : f32",
        "    linalg.yield %s : f32",
        f"  }} -> {tf(n, c)}",
        # The rows of the batch's nodes.
        "  %c0 = arith.constant 0 : index",
        "  %m = tensor.dim %idx, %c0 : tensor<?xi64>",
        f"  %e6 = tensor.empty(%m) : tensor<?x{c}xf32>",
        f"  %out = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i)>, {ew}], {par}}} "
        f"ins(%idx : tensor<?xi64>) outs(%e6 : tensor<?x{c}xf32>) {{",
        "  ^bb0(%i: i64, %o: f32):",
        "    %row = arith.index_cast %i : i64 to index",
        "    %col = linalg.index 1 : index",
        f"    %val = tensor.extract %y[%row, %col] : {tf(n, c)}",
        "    linalg.yield %val : f32",
        f"  }} -> tensor<?x{c}xf32>",
        f"  return %out : tensor<?x{c}xf32>",
        "}",
    ]
    return "\n".join(lines) + "\n"


def make(args):
    import h5py
    if args.graph == "cora":
        path = graphs.cora_dir(args.data)
        if path is None:
            sys.exit(f"gcn_train.py: Cora not found at {args.data}")
        x, labels, a, split = cora(path)
    else:
        x, labels, a, split = directed_graph(args.seed)
    n, f = x.shape
    c = int(labels.max()) + 1
    rng = np.random.default_rng(args.seed)
    csr = {"rp": a.indptr.astype(np.int64), "ci": a.indices.astype(np.int64),
           "v": a.data.astype(np.float32)}
    os.makedirs(args.out, exist_ok=True)
    with h5py.File(os.path.join(args.out, "graph.h5"), "w") as hf:
        hf["/features"] = x
        hf["/adj/row_ptr"], hf["/adj/col_idx"], hf["/adj/values"] = (
            csr["rp"], csr["ci"], csr["v"])
    w = [glorot(rng, f, HIDDEN), np.zeros(HIDDEN, np.float32), glorot(rng, HIDDEN, c),
         np.zeros(c, np.float32)]
    if args.graph == "directed":
        # Non-zero biases so that their gradients are checked too.
        w[1] = rng.normal(size=HIDDEN).astype(np.float32) * 0.1
        w[3] = rng.normal(size=c).astype(np.float32) * 0.1
    with h5py.File(os.path.join(args.out, "weights.h5"), "w") as hf:
        for name, value in zip(PARAMS, w):
            hf[name] = value
    for name, nodes in zip(["train", "val", "test"], split):
        with h5py.File(os.path.join(args.out, name + ".h5"), "w") as hf:
            hf["/idx"] = nodes.astype(np.int64)
            hf["/labels"] = labels[nodes]
        np.save(os.path.join(args.out, name + "_idx.npy"), nodes.astype(np.int64))
        np.save(os.path.join(args.out, name + "_labels.npy"), labels[nodes])
    for k, v in zip(["w1", "b1", "w2", "b2"], w):
        np.save(os.path.join(args.out, k + ".npy"), v)
    with open(os.path.join(args.out, "gcn.mlir"), "w") as fh:
        fh.write(emit_mlir(n, f, c, a.nnz, csr, args.adjacency == "constant"))
    sym = abs(a - a.T).max() == 0
    print(f"gcn_train: {args.graph}, {n} nodes, {a.nnz} non-zeros "
          f"({'symmetric' if sym else 'not symmetric'}), {f} features, {c} classes, "
          f"{len(split[0])}/{len(split[1])}/{len(split[2])} train/val/test -> {args.out}")


def torch_grads(d):
    """Loss and gradients of the train-node cross-entropy, float64 autograd."""
    import h5py
    import torch
    with h5py.File(os.path.join(d, "graph.h5"), "r") as hf:
        x = torch.from_numpy(hf["/features"][...].astype(np.float64))
        rp, ci, v = (hf["/adj/row_ptr"][...], hf["/adj/col_idx"][...],
                     hf["/adj/values"][...].astype(np.float64))
    n = rp.size - 1
    rows = np.repeat(np.arange(n), np.diff(rp))
    adj = torch.sparse_coo_tensor(np.vstack([rows, ci]), v, (n, n)).coalesce()
    params = [torch.tensor(np.load(os.path.join(d, k + ".npy")).astype(np.float64),
                           requires_grad=True) for k in ["w1", "b1", "w2", "b2"]]
    w1, b1, w2, b2 = params
    idx = torch.from_numpy(np.load(os.path.join(d, "train_idx.npy")))
    labels = torch.from_numpy(np.load(os.path.join(d, "train_labels.npy")))
    h = torch.relu(torch.sparse.mm(adj, x @ w1) + b1)
    y = torch.sparse.mm(adj, h @ w2) + b2
    loss = torch.nn.functional.cross_entropy(y[idx], labels)
    loss.backward()
    return loss.item(), [p.grad.numpy() for p in params]


def grad(args):
    loss, grads = torch_grads(args.dir)
    got_loss = float(np.load(os.path.join(args.dir, "grad_loss.npy")))
    ok = abs(got_loss - loss) <= 1e-5 * max(1.0, abs(loss))
    print(f"loss: lathe {got_loss:.6f} torch {loss:.6f}")
    for k, ref in zip(["w1", "b1", "w2", "b2"], grads):
        got = np.load(os.path.join(args.dir, f"grad_{k}.npy"))
        scale = max(np.abs(ref).max(), 1e-12)
        err = np.abs(got - ref).max() / scale
        print(f"d{k}: max |lathe - torch| / max |torch| = {err:.2e}")
        ok &= got.shape == ref.shape and err <= 1e-4
    if not ok:
        sys.exit("gcn_train.py grad: MISMATCH")
    print("gradients match")


def accuracy(args):
    logits = np.load(args.logits)
    labels = np.load(os.path.join(args.dir, "test_labels.npy"))
    acc = float((logits.argmax(1) == labels).mean())
    print(f"test accuracy {acc:.4f} ({len(labels)} nodes)")
    if args.min is not None and acc < args.min:
        sys.exit(f"gcn_train.py accuracy: {acc:.4f} < {args.min}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--graph", choices=["cora", "directed"], default="cora")
    m.add_argument("--data", default="../shared/data/cora")
    m.add_argument("--adjacency", choices=["weight", "constant"], default="weight")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", required=True)
    g = sub.add_parser("grad")
    g.add_argument("dir")
    a = sub.add_parser("accuracy")
    a.add_argument("dir")
    a.add_argument("logits")
    a.add_argument("--min", type=float)
    args = p.parse_args()
    {"make": make, "grad": grad, "accuracy": accuracy}[args.cmd](args)


if __name__ == "__main__":
    main()
