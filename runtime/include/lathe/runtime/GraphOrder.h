//===- GraphOrder.h - Node orderings for tiled graph aggregation -*- C++
//-*-===//
//
// Header-only, standard C++ only (no MLIR, no runtime state): the node
// orderings that sparsegcn-tile applies to a constant adjacency at compile
// time and that the runtime applies to an adjacency known only at run time
// (lathe_rt_spmm_tiled_f32 with a LATHE_SPMM_REORDER_* flag). One copy of the
// algorithms, so that both places produce the same permutation for the same
// graph.
//
// Every ordering returns `perm` with perm[i] = the node placed at position i;
// the reordered matrix is P·A·Pᵀ (row i is node perm[i]). Orderings work on
// the symmetrised pattern (A + Aᵀ, without the diagonal) and are
// deterministic: no random numbers, ties broken by node number.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_GRAPHORDER_H
#define LATHE_RUNTIME_GRAPHORDER_H

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace lathe::graph_order {

enum class Order : int { None = 0, Degree = 1, RCM = 2, Cluster = 3 };

/// "none", "degree", "rcm", "cluster".
inline const char *name(Order order) {
  switch (order) {
  case Order::Degree:
    return "degree";
  case Order::RCM:
    return "rcm";
  case Order::Cluster:
    return "cluster";
  case Order::None:
    break;
  }
  return "none";
}

/// The symmetrised pattern without self loops, as sorted, duplicate-free
/// adjacency lists in CSR form.
struct Pattern {
  int64_t n = 0;
  std::vector<int64_t> start, adj;
  int64_t degree(int64_t v) const { return start[v + 1] - start[v]; }
};

template <typename Index>
Pattern symmetrise(int64_t n, const Index *rowPtr, const Index *colIdx) {
  Pattern p;
  p.n = n;
  std::vector<int64_t> count(static_cast<size_t>(n) + 1, 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = rowPtr[i]; k < rowPtr[i + 1]; ++k) {
      int64_t j = colIdx[k];
      if (j == i)
        continue;
      ++count[i + 1];
      ++count[j + 1];
    }
  for (int64_t i = 0; i < n; ++i)
    count[i + 1] += count[i];
  std::vector<int64_t> all(static_cast<size_t>(count[n]));
  std::vector<int64_t> fill(count.begin(), count.end() - 1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = rowPtr[i]; k < rowPtr[i + 1]; ++k) {
      int64_t j = colIdx[k];
      if (j == i)
        continue;
      all[fill[i]++] = j;
      all[fill[j]++] = i;
    }
  p.start.assign(static_cast<size_t>(n) + 1, 0);
  p.adj.reserve(all.size());
  for (int64_t i = 0; i < n; ++i) {
    auto b = all.begin() + count[i], e = all.begin() + count[i + 1];
    std::sort(b, e);
    e = std::unique(b, e);
    p.adj.insert(p.adj.end(), b, e);
    p.start[i + 1] = static_cast<int64_t>(p.adj.size());
  }
  return p;
}

/// Decreasing degree (hubs first), ties by node number.
inline std::vector<int64_t> degreeOrder(const Pattern &p) {
  std::vector<int64_t> perm(static_cast<size_t>(p.n));
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
    return p.degree(a) > p.degree(b);
  });
  return perm;
}

/// Reverse Cuthill-McKee: breadth-first from a lowest-degree node of each
/// component, neighbours in increasing degree, the whole order reversed.
inline std::vector<int64_t> rcmOrder(const Pattern &p) {
  int64_t n = p.n;
  std::vector<int64_t> byDegree(static_cast<size_t>(n));
  std::iota(byDegree.begin(), byDegree.end(), 0);
  std::stable_sort(byDegree.begin(), byDegree.end(), [&](int64_t a, int64_t b) {
    return p.degree(a) < p.degree(b);
  });
  std::vector<char> visited(static_cast<size_t>(n), 0);
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(n));
  std::vector<int64_t> next;
  for (int64_t root : byDegree) {
    if (visited[root])
      continue;
    size_t head = order.size();
    order.push_back(root);
    visited[root] = 1;
    while (head < order.size()) {
      int64_t v = order[head++];
      next.clear();
      for (int64_t k = p.start[v]; k < p.start[v + 1]; ++k)
        if (!visited[p.adj[k]]) {
          visited[p.adj[k]] = 1;
          next.push_back(p.adj[k]);
        }
      std::stable_sort(next.begin(), next.end(), [&](int64_t a, int64_t b) {
        return p.degree(a) < p.degree(b);
      });
      order.insert(order.end(), next.begin(), next.end());
    }
  }
  std::reverse(order.begin(), order.end());
  return order;
}

/// Communities of at most `maxCluster` nodes, each placed contiguously.
///
/// Size-bounded label propagation: every node starts in its own cluster and,
/// sweeping the nodes in RCM order, joins the cluster most of its neighbours
/// are in (ties: its own cluster if among the best, else the lowest cluster
/// number) unless that cluster is full; at most `sweeps` sweeps, fewer when a
/// sweep moves nothing. Clusters are then laid out in the order of their
/// first member in the RCM order (neighbouring clusters stay close, which
/// keeps the off-cluster non-zeros near the diagonal), and the nodes of a
/// cluster in RCM order.
inline std::vector<int64_t> clusterOrder(const Pattern &p, int64_t maxCluster,
                                         int sweeps = 8) {
  int64_t n = p.n;
  std::vector<int64_t> rcm = rcmOrder(p);
  std::vector<int64_t> label(static_cast<size_t>(n)),
      size(static_cast<size_t>(n), 1);
  std::iota(label.begin(), label.end(), 0);
  std::vector<int64_t> votes(static_cast<size_t>(n), 0), touched;
  maxCluster = std::max<int64_t>(1, maxCluster);
  for (int s = 0; s < sweeps; ++s) {
    int64_t moved = 0;
    for (int64_t v : rcm) {
      touched.clear();
      for (int64_t k = p.start[v]; k < p.start[v + 1]; ++k) {
        int64_t l = label[p.adj[k]];
        if (votes[l]++ == 0)
          touched.push_back(l);
      }
      int64_t own = label[v], best = own, bestVotes = votes[own];
      for (int64_t l : touched) {
        if (l == own || size[l] >= maxCluster)
          continue;
        if (votes[l] > bestVotes ||
            (votes[l] == bestVotes && best != own && l < best)) {
          best = l;
          bestVotes = votes[l];
        }
      }
      for (int64_t l : touched)
        votes[l] = 0;
      if (best != own) {
        --size[own];
        ++size[best];
        label[v] = best;
        ++moved;
      }
    }
    if (moved == 0)
      break;
  }
  // Rank of each cluster: the RCM position of its first member.
  std::vector<int64_t> rank(static_cast<size_t>(n), -1);
  int64_t nextRank = 0;
  for (int64_t v : rcm)
    if (rank[label[v]] < 0)
      rank[label[v]] = nextRank++;
  std::vector<int64_t> pos(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    pos[rcm[i]] = i;
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  std::sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
    int64_t ra = rank[label[a]], rb = rank[label[b]];
    return ra != rb ? ra < rb : pos[a] < pos[b];
  });
  return perm;
}

/// The ordering `order` of the n x n CSR matrix (identity for Order::None).
/// `maxCluster` bounds the clusters of Order::Cluster.
template <typename Index>
std::vector<int64_t> compute(Order order, int64_t n, const Index *rowPtr,
                             const Index *colIdx, int64_t maxCluster = 64) {
  if (order == Order::None) {
    std::vector<int64_t> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    return perm;
  }
  Pattern p = symmetrise(n, rowPtr, colIdx);
  if (order == Order::Degree)
    return degreeOrder(p);
  if (order == Order::RCM)
    return rcmOrder(p);
  return clusterOrder(p, maxCluster);
}

/// B = P·A·Pᵀ in CSR form (rows of B sorted by column): row i of B is row
/// perm[i] of A with every column j renamed to the position of node j.
template <typename Index, typename Value>
void permute(int64_t n, const Index *rowPtr, const Index *colIdx,
             const Value *values, const std::vector<int64_t> &perm,
             std::vector<int64_t> &outRowPtr, std::vector<int64_t> &outColIdx,
             std::vector<Value> &outValues) {
  std::vector<int64_t> inv(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    inv[perm[i]] = i;
  outRowPtr.assign(1, 0);
  outColIdx.clear();
  outValues.clear();
  std::vector<std::pair<int64_t, Value>> row;
  for (int64_t i = 0; i < n; ++i) {
    int64_t node = perm[i];
    row.clear();
    for (int64_t k = rowPtr[node]; k < rowPtr[node + 1]; ++k)
      row.emplace_back(inv[colIdx[k]], values[k]);
    std::sort(row.begin(), row.end(),
              [](const auto &a, const auto &b) { return a.first < b.first; });
    for (const auto &[c, v] : row) {
      outColIdx.push_back(c);
      outValues.push_back(v);
    }
    outRowPtr.push_back(static_cast<int64_t>(outColIdx.size()));
  }
}

} // namespace lathe::graph_order

#endif // LATHE_RUNTIME_GRAPHORDER_H
