#!/usr/bin/python3
"""Trains Kipf & Welling's 2-layer GCN with Debian's PyTorch and writes it for Lathe.

    /usr/bin/python3 scripts/sparsegcn/train_gcn.py --data ../shared/data/cora --out DIR
    /usr/bin/python3 scripts/sparsegcn/train_gcn.py --dataset citeseer --out DIR
    /usr/bin/python3 scripts/sparsegcn/train_gcn.py --synthetic --out DIR

Model: logits = Â · (relu(Â · (X W1) + b1) W2) + b2, Â = D^-1/2 (A + I) D^-1/2, 16 hidden
units, dropout 0.5 on the input (sparse dropout on Cora's sparse features) and hidden layer,
Adam (lr 0.01, weight decay 5e-4), 200 epochs.
Cora: rows of X normalised to sum 1, the standard split of the issue (train: nodes 0-139,
validation 200-499, test 500-1499, in cora.content order). CiteSeer (--dataset citeseer; the raw
LINQS release has no standard split): 20 training nodes per class, 500 validation and 1000 test
nodes drawn by a seeded permutation (seed 0, independent of --seed). --synthetic: a 64-node graph with
two dense communities (scripts/sparsegcn/graphs.small_graph), features drawn around a class
mean, the same model; no external data.

Writes into DIR:
  gcn.mlir         @main(%x: tensor<NxFxf32>) -> tensor<NxCxf32>: linalg.matmul for X·W,
                   sparsegcn.aggregate for Â·H, linalg.generic for bias (+ ReLU). Cora, CiteSeer: Â's CSR
                   (int64 row_ptr/col_idx, f32 values) and the weights as lathe.weight from
                   gcn_weights.h5; --synthetic: everything as dense constants, so that
                   sparsegcn-tile sees the adjacency.
  gcn_weights.h5   /adj/{row_ptr,col_idx,values}, /conv{1,2}/{weight,bias} (Cora only)
  x.npy            the input features, f32 [N, F]
  labels.npy       int64 [N]; split.json: the test node range
  ref_logits.npy   PyTorch's eval-mode logits, f32 [N, C]
  ref_accuracy.txt PyTorch's test accuracy
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import graphs  # noqa: E402


def hex_dense(array):
    """An MLIR dense attribute literal holding `array`'s bytes exactly."""
    return '"0x' + np.ascontiguousarray(array).tobytes().hex().upper() + '"'


def tensor_type(shape, dtype):
    return "tensor<" + "x".join(str(s) for s in shape) + "x" + dtype + ">"


def emit_mlir(n, f, h, c, nnz, source):
    """source(name, shape, dtype) -> the MLIR text of an op producing that tensor."""
    ti = lambda shape: tensor_type(shape, "i64")  # noqa: E731
    tf = lambda shape: tensor_type(shape, "f32")  # noqa: E731
    lines = [f"func.func @main(%x: {tf([n, f])}) -> {tf([n, c])} {{"]
    for name, shape, dtype in [("rp", [n + 1], "i64"), ("ci", [nnz], "i64"),
                               ("v", [nnz], "f32"), ("w1", [f, h], "f32"),
                               ("b1", [h], "f32"), ("w2", [h, c], "f32"), ("b2", [c], "f32")]:
        lines.append(f"  %{name} = {source(name, shape, dtype)}")
    csr = f"csr(%rp, %ci, %v : {ti([n + 1])}, {ti([nnz])}, {tf([nnz])}) [{n}, {n}]"
    ew = "affine_map<(i, j) -> (i, j)>"
    eb = "affine_map<(i, j) -> (j)>"
    lines += [
        "  %zero = arith.constant 0.0 : f32",
        # Layer 1: X W1, aggregate, + b1, ReLU.
        f"  %e0 = tensor.empty() : {tf([n, h])}",
        f"  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : {tf([n, h])}) -> {tf([n, h])}",
        f"  %xw = linalg.matmul ins(%x, %w1 : {tf([n, f])}, {tf([f, h])}) "
        f"outs(%z0 : {tf([n, h])}) -> {tf([n, h])}",
        f"  %e1 = tensor.empty() : {tf([n, h])}",
        f"  %a1 = sparsegcn.aggregate {csr} ins(%xw : {tf([n, h])}) "
        f"outs(%e1 : {tf([n, h])}) -> {tf([n, h])}",
        f"  %e2 = tensor.empty() : {tf([n, h])}",
        f"  %h1 = linalg.generic {{indexing_maps = [{ew}, {eb}, {ew}], "
        f"iterator_types = [\"parallel\", \"parallel\"]}} "
        f"ins(%a1, %b1 : {tf([n, h])}, {tf([h])}) outs(%e2 : {tf([n, h])}) {{",
        "  ^bb0(%a: f32, %b: f32, %o: f32):",
        "    %s = arith.addf %a, %b : f32",
        "    %r = arith.maximumf %s, %zero : f32",
        "    linalg.yield %r : f32",
        f"  }} -> {tf([n, h])}",
        # Layer 2: H W2, aggregate, + b2.
        f"  %e3 = tensor.empty() : {tf([n, c])}",
        f"  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : {tf([n, c])}) -> {tf([n, c])}",
        f"  %hw = linalg.matmul ins(%h1, %w2 : {tf([n, h])}, {tf([h, c])}) "
        f"outs(%z3 : {tf([n, c])}) -> {tf([n, c])}",
        f"  %e4 = tensor.empty() : {tf([n, c])}",
        f"  %a2 = sparsegcn.aggregate {csr} ins(%hw : {tf([n, c])}) "
        f"outs(%e4 : {tf([n, c])}) -> {tf([n, c])}",
        f"  %e5 = tensor.empty() : {tf([n, c])}",
        f"  %y = linalg.generic {{indexing_maps = [{ew}, {eb}, {ew}], "
        f"iterator_types = [\"parallel\", \"parallel\"]}} "
        f"ins(%a2, %b2 : {tf([n, c])}, {tf([c])}) outs(%e5 : {tf([n, c])}) {{",
        "  ^bb0(%a: f32, %b: f32, %o: f32):",
        "    %s = arith.addf %a, %b : f32",
        "    linalg.yield %s : f32",
        f"  }} -> {tf([n, c])}",
        f"  return %y : {tf([n, c])}",
        "}",
    ]
    return "\n".join(lines) + "\n"


class GCN(torch.nn.Module):
    def __init__(self, f, h, c):
        super().__init__()
        self.w1 = torch.nn.Parameter(torch.empty(f, h))
        self.b1 = torch.nn.Parameter(torch.zeros(h))
        self.w2 = torch.nn.Parameter(torch.empty(h, c))
        self.b2 = torch.nn.Parameter(torch.zeros(c))
        torch.nn.init.xavier_uniform_(self.w1)
        torch.nn.init.xavier_uniform_(self.w2)

    def forward(self, x, adj):
        if x.is_sparse:
            # Kipf & Welling's sparse dropout: drop stored features, rescale the rest.
            if self.training:
                x = x.coalesce()
                keep = torch.rand(x.values().shape) >= 0.5
                x = torch.sparse_coo_tensor(x.indices()[:, keep], x.values()[keep] * 2.0,
                                            x.shape)
            xw = torch.sparse.mm(x, self.w1)
        else:
            xw = torch.nn.functional.dropout(x, 0.5, self.training) @ self.w1
        h = torch.relu(torch.sparse.mm(adj, xw) + self.b1)
        h = torch.nn.functional.dropout(h, 0.5, self.training)
        return torch.sparse.mm(adj, h @ self.w2) + self.b2


def synthetic_data(seed=0):
    adj = graphs.small_graph()
    n = adj.shape[0]
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) // 16 % 4).astype(np.int64)
    means = rng.normal(size=(4, 8)).astype(np.float32)
    x = means[labels] + 0.8 * rng.normal(size=(n, 8)).astype(np.float32)
    idx = rng.permutation(n)
    return x.astype(np.float32), labels, adj, idx[:24], idx[24:32], idx[32:]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="the data set's folder (NAME.content[.gz], NAME.cites); "
                   "default $LATHE_DATA/NAME or ../shared/data/NAME")
    p.add_argument("--dataset", choices=["cora", "citeseer"], default="cora")
    p.add_argument("--synthetic", action="store_true", help="the small generated graph")
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    if args.synthetic:
        x, labels, adj, train, val, test = synthetic_data(args.seed)
        test_range = [int(i) for i in test]
    elif args.dataset == "citeseer":
        path = graphs.data_dir("citeseer", args.data)
        if path is None or not os.path.exists(os.path.join(path, "citeseer.cites")):
            sys.exit(f"train_gcn.py: CiteSeer not found at "
                     f"{args.data or '../shared/data/citeseer'} (nor $LATHE_DATA/citeseer)")
        x, labels, adj = graphs.load_citeseer(path)
        x = x / np.maximum(x.sum(axis=1, keepdims=True), 1.0)
        order = np.random.default_rng(0).permutation(len(labels))
        train = np.concatenate([order[labels[order] == c][:20]
                                for c in range(int(labels.max()) + 1)])
        rest = order[~np.isin(order, train)]
        val, test = rest[:500], rest[500:1500]
    else:
        path = graphs.cora_dir(args.data)
        if path is None:
            sys.exit(f"train_gcn.py: Cora not found at {args.data or '../shared/data/cora'} "
                     "(nor $LATHE_DATA/cora)")
        x, labels, adj = graphs.load_cora(path)
        x = x / np.maximum(x.sum(axis=1, keepdims=True), 1.0)
        train, val, test = np.arange(140), np.arange(200, 500), np.arange(500, 1500)
    ahat = graphs.gcn_normalize(adj)
    n, f = x.shape
    c = int(labels.max()) + 1
    h = 16

    coo = ahat.tocoo()
    adj_t = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, (n, n)).coalesce()
    xt = torch.from_numpy(x)
    # Training multiplies the (1 %-dense) Cora features as a sparse matrix; the reference logits
    # below use the dense features, as the emitted model does.
    x_train = xt.to_sparse() if not args.synthetic else xt
    yt = torch.from_numpy(labels)
    model = GCN(f, h, c)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(args.epochs):
        model.train()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x_train, adj_t)[train], yt[train])
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        logits = model(xt, adj_t).numpy().astype(np.float32)
    acc = float((logits[test].argmax(1) == labels[test]).mean())
    val_acc = float((logits[val].argmax(1) == labels[val]).mean())

    os.makedirs(args.out, exist_ok=True)
    w = {"w1": model.w1.detach().numpy(), "b1": model.b1.detach().numpy(),
         "w2": model.w2.detach().numpy(), "b2": model.b2.detach().numpy()}
    csr = {"rp": ahat.indptr.astype(np.int64), "ci": ahat.indices.astype(np.int64),
           "v": ahat.data.astype(np.float32)}
    arrays = {**csr, **{k: v.astype(np.float32) for k, v in w.items()}}
    if args.synthetic:
        def source(name, shape, dtype):
            return (f"arith.constant dense<{hex_dense(arrays[name])}> : "
                    f"{tensor_type(shape, dtype)}")
    else:
        import h5py
        datasets = {"rp": "/adj/row_ptr", "ci": "/adj/col_idx", "v": "/adj/values",
                    "w1": "/conv1/weight", "b1": "/conv1/bias", "w2": "/conv2/weight",
                    "b2": "/conv2/bias"}
        with h5py.File(os.path.join(args.out, "gcn_weights.h5"), "w") as hf:
            for k, d in datasets.items():
                hf[d] = arrays[k]

        def source(name, shape, dtype):
            return (f'lathe.weight #lathe.external<"gcn_weights.h5", "{datasets[name]}"> : '
                    f"{tensor_type(shape, dtype)}")
    with open(os.path.join(args.out, "gcn.mlir"), "w") as fh:
        fh.write(f"// 2-layer GCN ({'synthetic 64-node graph' if args.synthetic else args.dataset}), "
                 f"written by scripts/sparsegcn/train_gcn.py; PyTorch test accuracy {acc:.4f}\n")
        fh.write(emit_mlir(n, f, h, c, ahat.nnz, source))
    np.save(os.path.join(args.out, "x.npy"), x.astype(np.float32))
    np.save(os.path.join(args.out, "labels.npy"), labels)
    np.save(os.path.join(args.out, "ref_logits.npy"), logits)
    with open(os.path.join(args.out, "split.json"), "w") as fh:
        json.dump({"test": [int(i) for i in test]}, fh)
    with open(os.path.join(args.out, "ref_accuracy.txt"), "w") as fh:
        fh.write(f"{acc:.6f}\n")
    print(f"train_gcn: {n} nodes, {ahat.nnz} non-zeros in Â, {f} features, {c} classes; "
          f"PyTorch val accuracy {val_acc:.4f}, test accuracy {acc:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
