"""Graphs for the sparsegcn examples, tests and benchmark (Debian's /usr/bin/python3).

- load_cora(dir): the raw Cora release (cora.content[.gz], cora.cites), nodes in the order of
  cora.content, labels as the 7 class indices in sorted class-name order.
- gcn_normalize(A): Kipf & Welling's D^-1/2 (A + I) D^-1/2 of a symmetric 0/1 adjacency.
- power_law_graph(n, m, seed): a Chung-Lu graph with power-law expected degrees and exactly m
  distinct undirected edges (CiteSeer- and PubMed-sized stand-ins).
- planted_communities(...): dense diagonal blocks (communities, nodes contiguous) plus sparse
  background edges: the graph where tiles really are dense.
- small_graph(): a deterministic 64-node graph for tests that need no external data.
- data_dir(name), load_citeseer(dir), load_pubmed(dir), load_mtx(path): the other real inputs
  of bench/sparsegcn (../shared/data or $LATHE_DATA), as symmetric 0/1 adjacencies.
"""
import gzip
import os

import numpy as np
import scipy.sparse as sp


def cora_dir(explicit=None):
    """The Cora folder: `explicit`, else $LATHE_DATA/cora, else ../shared/data/cora."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    candidates = [explicit] if explicit else []
    if os.environ.get("LATHE_DATA"):
        candidates.append(os.path.join(os.environ["LATHE_DATA"], "cora"))
    candidates.append(os.path.join(os.path.dirname(root), "shared", "data", "cora"))
    for c in candidates:
        if c and os.path.exists(os.path.join(c, "cora.cites")):
            return c
    return None


def data_dir(name, explicit=None):
    """The folder `name` (cora, citeseer, pubmed, suitesparse): `explicit`, else
    $LATHE_DATA/name, else ../shared/data/name; None when none exists."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    candidates = [explicit] if explicit else []
    if os.environ.get("LATHE_DATA"):
        candidates.append(os.path.join(os.environ["LATHE_DATA"], name))
    candidates.append(os.path.join(os.path.dirname(root), "shared", "data", name))
    for c in candidates:
        if c and os.path.isdir(c) and os.listdir(c):
            return c
    return None


def _symmetric(rows, cols, n):
    """Symmetric 0/1 CSR without self loops from edge lists."""
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    adj = sp.csr_matrix((np.ones(2 * len(rows), np.float32),
                         (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
                        shape=(n, n))
    adj.data[:] = 1.0
    adj.eliminate_zeros()
    adj.sort_indices()
    return adj


def load_linqs(path, name):
    """(features, labels, adjacency) of a LINQS citation data set NAME.content[.gz] +
    NAME.cites (Cora, CiteSeer): nodes in .content order, classes in sorted name order,
    citations to papers absent from .content dropped."""
    content = os.path.join(path, f"{name}.content")
    opener = open
    if not os.path.exists(content):
        content += ".gz"
        opener = gzip.open
    ids, feats, names = [], [], []
    with opener(content, "rt") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            ids.append(parts[0])
            feats.append(np.array(parts[1:-1], dtype=np.float32))
            names.append(parts[-1])
    index = {pid: i for i, pid in enumerate(ids)}
    classes = sorted(set(names))
    labels = np.array([classes.index(c) for c in names], dtype=np.int64)
    rows, cols = [], []
    with open(os.path.join(path, f"{name}.cites")) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 2 or parts[0] not in index or parts[1] not in index:
                continue
            rows.append(index[parts[0]])
            cols.append(index[parts[1]])
    return np.stack(feats), labels, _symmetric(rows, cols, len(ids))


def load_citeseer(path):
    return load_linqs(path, "citeseer")


def load_pubmed(path):
    """Symmetric adjacency of PubMed-Diabetes from its DIRECTED.cites.tab (edges only;
    nodes numbered in order of first appearance)."""
    index = {}
    rows, cols = [], []
    with open(os.path.join(path, "Pubmed-Diabetes.DIRECTED.cites.tab")) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4 or parts[2] != "|":
                continue
            a, b = (index.setdefault(p.split(":", 1)[1], len(index)) for p in
                    (parts[1], parts[3]))
            rows.append(a)
            cols.append(b)
    return _symmetric(rows, cols, len(index))


def load_mtx(path):
    """The symmetric 0/1 pattern of a Matrix Market file (off-diagonal entries)."""
    import scipy.io
    m = sp.coo_matrix(scipy.io.mmread(path))
    return _symmetric(m.row, m.col, m.shape[0])


def load_cora(path):
    """(features [N,1433] f32, labels [N] i64, symmetric 0/1 adjacency CSR without self loops)."""
    return load_linqs(path, "cora")


def gcn_normalize(adj):
    """D^-1/2 (A + I) D^-1/2 as a sorted float32 CSR."""
    n = adj.shape[0]
    a = (adj + sp.identity(n, dtype=np.float32, format="csr")).tocsr()
    a.data[:] = 1.0
    deg = np.asarray(a.sum(axis=1)).ravel()
    d = sp.diags(1.0 / np.sqrt(deg))
    out = (d @ a @ d).tocsr().astype(np.float32)
    out.sort_indices()
    return out


def power_law_graph(n, m, seed, exponent=2.5):
    """Symmetric 0/1 CSR with exactly m distinct undirected edges (Chung-Lu)."""
    rng = np.random.default_rng(seed)
    w = (np.arange(1, n + 1, dtype=np.float64)) ** (-1.0 / (exponent - 1.0))
    w = rng.permutation(w)
    p = w / w.sum()
    edges = set()
    while len(edges) < m:
        k = (m - len(edges)) * 2
        a = rng.choice(n, size=k, p=p)
        b = rng.choice(n, size=k, p=p)
        for u, v in zip(a.tolist(), b.tolist()):
            if u != v:
                edges.add((min(u, v), max(u, v)))
                if len(edges) == m:
                    break
    e = np.array(sorted(edges), dtype=np.int64)
    return _symmetric(e[:, 0], e[:, 1], n)


def planted_communities(n=4096, size=128, p_in=0.3, avg_out=2.0, seed=0):
    """Communities of `size` consecutive nodes, edge probability p_in inside, plus about
    avg_out random edges per node between communities."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for start in range(0, n, size):
        k = min(size, n - start)
        mask = np.triu(rng.random((k, k)) < p_in, 1)
        r, c = np.nonzero(mask)
        rows.append(r + start)
        cols.append(c + start)
    m_out = int(avg_out * n / 2)
    rows.append(rng.integers(0, n, m_out))
    cols.append(rng.integers(0, n, m_out))
    return _symmetric(np.concatenate(rows), np.concatenate(cols), n)


def small_graph():
    """A deterministic 64-node graph: two dense 16-node communities and a sparse rest."""
    return planted_communities(n=64, size=16, p_in=0.6, avg_out=1.0, seed=7)


def tile_histogram(csr, tile, threshold):
    """{'empty','sparse','dense'} tile counts of `csr` under the runtime's rule."""
    n = csr.shape[0]
    t = (n + tile - 1) // tile
    coo = csr.tocoo()
    counts = np.bincount((coo.row // tile) * t + coo.col // tile, minlength=t * t)
    sizes = np.minimum(tile, n - np.arange(t) * tile)
    area = np.outer(sizes, sizes).ravel()
    dense = (counts > 0) & (counts / area >= threshold)
    return {"empty": int((counts == 0).sum()), "sparse": int(((counts > 0) & ~dense).sum()),
            "dense": int(dense.sum())}
