//===- ViewAlgebra.cpp - Strided views of a flat tensor as atoms ----------===//
//
// See include/lathe/Target/CPU/ViewAlgebra.h.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CPU/ViewAlgebra.h"

#include <set>

using namespace mlir::lathe;
using namespace mlir::lathe::views;

AtomDim views::normalized(ArrayRef<Atom> dim) {
  AtomDim out;
  for (Atom a : dim) {
    if (a.size == 1)
      continue;
    if (!out.empty() && out.back().stride == a.stride * a.size)
      out.back() = {out.back().size * a.size, a.stride};
    else
      out.push_back(a);
  }
  return out;
}

int64_t views::dimSize(ArrayRef<Atom> dim) {
  int64_t n = 1;
  for (Atom a : dim)
    n *= a.size;
  return n;
}

SmallVector<AtomDim> views::denseDims(ArrayRef<int64_t> shape) {
  SmallVector<AtomDim> dims(shape.size());
  int64_t stride = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    dims[i] = normalized({{shape[i], stride}});
    stride *= shape[i];
  }
  return dims;
}

SmallVector<Atom> views::flatAtoms(ArrayRef<AtomDim> dims) {
  SmallVector<Atom> atoms;
  for (const AtomDim &dim : dims)
    for (Atom a : normalized(dim))
      atoms.push_back(a);
  return atoms;
}

std::optional<SmallVector<AtomDim>> views::splitDim(ArrayRef<Atom> dim,
                                                    ArrayRef<int64_t> sizes) {
  AtomDim atoms = normalized(dim);
  SmallVector<AtomDim> out(sizes.size());
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i >= 0; --i) {
    int64_t remaining = sizes[i];
    if (remaining <= 0)
      return std::nullopt;
    while (remaining > 1) {
      if (atoms.empty())
        return std::nullopt;
      Atom a = atoms.back();
      if (a.size <= remaining) {
        if (remaining % a.size)
          return std::nullopt;
        out[i].insert(out[i].begin(), a);
        atoms.pop_back();
        remaining /= a.size;
      } else {
        if (a.size % remaining)
          return std::nullopt;
        out[i].insert(out[i].begin(), Atom{remaining, a.stride});
        atoms.back() = {a.size / remaining, a.stride * remaining};
        remaining = 1;
      }
    }
  }
  if (!atoms.empty())
    return std::nullopt;
  return out;
}

bool views::applySlice(SmallVector<AtomDim> &dims, int64_t &offset,
                       ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes,
                       const llvm::SmallBitVector &dropped) {
  for (size_t i = 0; i < dims.size(); ++i) {
    AtomDim dim = normalized(dims[i]);
    int64_t full = dimSize(dim);
    if (offsets[i] == 0 && sizes[i] == full)
      continue;
    if (dim.size() != 1)
      return false; // only a single atom can be cut
    offset += offsets[i] * dim[0].stride;
    dims[i] = normalized({{sizes[i], dim[0].stride}});
  }
  SmallVector<AtomDim> kept;
  for (size_t i = 0; i < dims.size(); ++i)
    if (!dropped.test(i))
      kept.push_back(dims[i]);
  dims = std::move(kept);
  return true;
}

SmallVector<int64_t> views::composePermutations(ArrayRef<int64_t> inner,
                                                ArrayRef<int64_t> outer) {
  SmallVector<int64_t> result;
  for (int64_t o : outer)
    result.push_back(inner[o]);
  return result;
}

SmallVector<int64_t> views::identityPermutation(int64_t rank) {
  return llvm::to_vector(llvm::seq<int64_t>(0, rank));
}

SmallVector<AtomDim> views::permuted(ArrayRef<AtomDim> dims,
                                     ArrayRef<int64_t> perm) {
  if (perm.empty())
    return llvm::to_vector(dims);
  SmallVector<AtomDim> out;
  for (int64_t p : perm)
    out.push_back(dims[p]);
  return out;
}

std::optional<Layout> views::buildLayout(ArrayRef<Atom> viewAtoms,
                                         int64_t numel, int64_t offset) {
  SmallVector<int64_t> order = llvm::to_vector(
      llvm::seq<int64_t>(0, static_cast<int64_t>(viewAtoms.size())));
  llvm::stable_sort(order, [&](int64_t a, int64_t b) {
    return viewAtoms[a].stride < viewAtoms[b].stride;
  });
  SmallVector<Atom> ascending;
  SmallVector<int64_t> source; // view atom index or -1
  int64_t cur = 1;
  for (int64_t i : order) {
    Atom a = viewAtoms[i];
    if (a.size <= 1 || a.stride < cur || a.stride % cur)
      return std::nullopt;
    if (a.stride > cur) {
      ascending.push_back({a.stride / cur, cur});
      source.push_back(-1);
    }
    ascending.push_back(a);
    source.push_back(i);
    cur = a.stride * a.size;
  }
  if (numel % cur)
    return std::nullopt;
  if (numel / cur > 1) {
    ascending.push_back({numel / cur, cur});
    source.push_back(-1);
  }
  Layout layout;
  layout.viewAtom.assign(viewAtoms.size(), -1);
  int64_t rest = offset;
  for (int64_t i = static_cast<int64_t>(ascending.size()) - 1; i >= 0; --i) {
    Atom a = ascending[i];
    int64_t q = rest / a.stride;
    if (source[i] >= 0) {
      if (q != 0)
        return std::nullopt;
      layout.viewAtom[source[i]] = static_cast<int64_t>(layout.atoms.size());
      layout.gapIndex.push_back(-1);
    } else {
      if (q >= a.size)
        return std::nullopt;
      rest -= q * a.stride;
      layout.gapIndex.push_back(q);
    }
    layout.atoms.push_back(a);
  }
  if (rest != 0)
    return std::nullopt;
  return layout;
}

std::optional<SmallVector<AtomDim>>
views::invertAtoms(ArrayRef<Atom> targetAtoms, ArrayRef<int64_t> producedShape,
                   int64_t targetNumel) {
  // Atoms of target in its own order, with their stride in `produced` (c)
  // and in `target` (f).
  struct Pair {
    int64_t size, c, f;
  };
  ArrayRef<Atom> flat = targetAtoms;
  SmallVector<Pair> pairs;
  int64_t f = 1;
  for (int64_t i = static_cast<int64_t>(flat.size()) - 1; i >= 0; --i) {
    pairs.insert(pairs.begin(), Pair{flat[i].size, flat[i].stride, f});
    f *= flat[i].size;
  }
  int64_t producedNumel = 1;
  for (int64_t d : producedShape)
    producedNumel *= d;
  if (f != producedNumel || f != targetNumel)
    return std::nullopt;
  ArrayRef<int64_t> shape = producedShape;
  SmallVector<int64_t> cStride(shape.size());
  int64_t s = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    cStride[i] = s;
    s *= shape[i];
  }
  // Cut atoms that straddle a dimension boundary of `produced`.
  for (size_t d = 0; d < shape.size(); ++d) {
    int64_t boundary = cStride[d];
    for (size_t i = 0; i < pairs.size(); ++i) {
      Pair p = pairs[i];
      if (p.c < boundary && boundary < p.c * p.size) {
        if (boundary % p.c || p.size % (boundary / p.c))
          return std::nullopt;
        int64_t q = boundary / p.c;
        pairs[i] = {p.size / q, p.c * q, p.f * q};
        pairs.insert(pairs.begin() + i + 1, Pair{q, p.c, p.f});
      }
    }
  }
  SmallVector<AtomDim> dims(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    SmallVector<Pair> mine;
    for (Pair p : pairs)
      if (p.c >= cStride[d] && p.c < cStride[d] * shape[d])
        mine.push_back(p);
    llvm::sort(mine, [](Pair a, Pair b) { return a.c > b.c; });
    int64_t expect = cStride[d];
    for (auto it = mine.rbegin(); it != mine.rend(); ++it) {
      if (it->c != expect)
        return std::nullopt;
      expect *= it->size;
    }
    if (expect != cStride[d] * shape[d])
      return std::nullopt;
    for (Pair p : mine)
      dims[d].push_back({p.size, p.f});
    dims[d] = normalized(dims[d]);
  }
  return dims;
}

bool views::refineBatch(MutableArrayRef<SmallVector<AtomDim>> views,
                        int64_t numBatch) {
  SmallVector<SmallVector<Atom>> batch;
  std::set<int64_t> cuts;
  int64_t total = -1;
  for (auto &dims : views) {
    AtomDim all;
    for (int64_t i = 0; i < numBatch; ++i)
      all.append(dims[i].begin(), dims[i].end());
    all = normalized(all);
    int64_t p = 1;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      p *= it->size;
      cuts.insert(p);
    }
    if (total >= 0 && p != total)
      return false;
    total = p;
    batch.push_back(SmallVector<Atom>(all.begin(), all.end()));
  }
  cuts.erase(total);
  int64_t prev = 1;
  for (int64_t c : cuts) {
    if (c % prev)
      return false;
    prev = c;
  }
  if (total % prev)
    return false;
  // Refine every view at every cut (inner atom first).
  for (auto &atoms : batch) {
    SmallVector<Atom> refined;
    int64_t p = 1;
    for (auto it = atoms.rbegin(); it != atoms.rend(); ++it) {
      Atom a = *it;
      int64_t end = p * a.size;
      for (int64_t c : cuts) {
        if (c <= p || c >= end)
          continue;
        int64_t q = c / p;
        if (c % p || a.size % q)
          return false;
        refined.insert(refined.begin(), Atom{q, a.stride});
        a = {a.size / q, a.stride * q};
        p = c;
      }
      refined.insert(refined.begin(), a);
      p = end;
    }
    atoms = refined;
  }
  size_t n = batch.front().size();
  for (auto &atoms : batch)
    if (atoms.size() != n)
      return false;
  // Runs of factors contiguous in every view.
  SmallVector<std::pair<size_t, size_t>> runs; // [begin, end)
  for (size_t i = 0; i < n; ++i) {
    bool join = !runs.empty() && llvm::all_of(batch, [&](auto &atoms) {
      return atoms[i - 1].stride == atoms[i].stride * atoms[i].size &&
             atoms[i - 1].size == batch.front()[i - 1].size;
    });
    if (join)
      runs.back().second = i + 1;
    else
      runs.push_back({i, i + 1});
  }
  if (runs.size() > 2)
    return false;
  for (auto [v, dims] : llvm::enumerate(views)) {
    SmallVector<AtomDim> out(2 - runs.size());
    for (auto [b, e] : runs) {
      int64_t size = 1;
      for (size_t i = b; i < e; ++i)
        size *= batch[v][i].size;
      out.push_back(AtomDim{{size, batch[v][e - 1].stride}});
    }
    out.append(dims.begin() + numBatch, dims.end());
    dims = std::move(out);
  }
  return true;
}

std::optional<OperandPlan> views::planOperand(ArrayRef<AtomDim> dims,
                                              int64_t numel, int64_t offset) {
  SmallVector<Atom> atoms;
  SmallVector<int64_t> atomOf(dims.size(), -1);
  int64_t units = 0;
  for (auto [i, dim] : llvm::enumerate(dims)) {
    AtomDim d = normalized(dim);
    if (d.size() > 1)
      return std::nullopt;
    if (d.empty()) {
      ++units;
      continue;
    }
    atomOf[i] = static_cast<int64_t>(atoms.size());
    atoms.push_back(d.front());
  }
  auto layout = buildLayout(atoms, numel, offset);
  if (!layout || atoms.empty())
    return std::nullopt;
  OperandPlan plan;
  plan.layout = *layout;
  SmallVector<int64_t> kept;
  for (size_t i = 0; i < layout->atoms.size(); ++i)
    if (layout->gapIndex[i] < 0)
      kept.push_back(static_cast<int64_t>(i));
  plan.storedShape.assign(units, 1);
  for (int64_t k : kept)
    plan.storedShape.push_back(layout->atoms[k].size);
  int64_t nextUnit = 0;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (atomOf[i] < 0) {
      plan.perm.push_back(nextUnit++);
      continue;
    }
    int64_t at = layout->viewAtom[atomOf[i]];
    plan.perm.push_back(units + (llvm::find(kept, at) - kept.begin()));
  }
  return plan;
}
