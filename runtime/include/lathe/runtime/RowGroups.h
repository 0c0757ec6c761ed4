//===- RowGroups.h - Row groups of the row-group SpMM engine -----*- C++
//-*-===//
//
// Header-only, standard C++ only (no MLIR, no runtime state): the rule that
// cuts an adjacency's rows into the groups of the row-group engine
// (lathe_rt_spmm_tiled_f32 with LATHE_SPMM_ROW_GROUPS). sparsegcn-tile prices
// the groups at compile time and the runtime builds them when it builds its
// plan; one copy of the rule, so that both see the same groups.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_ROWGROUPS_H
#define LATHE_RUNTIME_ROWGROUPS_H

#include <cmath>
#include <cstdint>
#include <vector>

namespace lathe::row_groups {

/// A threshold as the tiled kernel's operand carries it: parts per million.
inline int64_t toPpm(double threshold) {
  return static_cast<int64_t>(std::llround(threshold * 1e6));
}

/// The threshold the runtime classifies at for an operand of `ppm`. The
/// compiler prices its groups at fromPpm(toPpm(t)), not at t, so that it
/// and the runtime form the same groups.
inline double fromPpm(int64_t ppm) { return double(ppm) * 1e-6; }

/// One group: `rows` consecutive rows from `row0`, the union of their column
/// sets (`columns` distinct columns) and their distinct stored entries.
struct Group {
  int64_t row0 = 0, rows = 0, columns = 0, stored = 0;
};

/// The groups of rows [0, n) of a CSR matrix with `numCols` columns (every
/// group has at least two rows; the other rows are left to the CSR kernel).
/// Rows are taken in order: a non-empty row starts a group, and the next row
/// joins it while the group would still fill at least `threshold` of (its
/// rows x the union of their columns) and hold at most `maxRows` rows; an
/// empty row never joins. Duplicate column indices count once. O(nnz) with
/// two n-sized scratch arrays.
template <typename Index>
std::vector<Group> compute(int64_t n, int64_t numCols, const Index *rowPtr,
                           const Index *colIdx, int64_t maxRows,
                           double threshold) {
  std::vector<Group> groups;
  // mark[c] = 2 i: column c is in the union of the group starting at row i;
  // 2 i + 1: a new column of the row being tried. seen[c] = j: counted in row
  // j already.
  std::vector<int64_t> mark(static_cast<size_t>(numCols), -1),
      seen(static_cast<size_t>(numCols), -1);
  for (int64_t i = 0; i < n;) {
    const int64_t begin = rowPtr[i], end = rowPtr[i + 1];
    if (end == begin || maxRows < 2) {
      ++i;
      continue;
    }
    int64_t columns = 0;
    for (int64_t k = begin; k < end; ++k)
      if (int64_t c = colIdx[k]; mark[c] != 2 * i) {
        mark[c] = 2 * i;
        ++columns;
      }
    int64_t stored = columns, g = 1;
    for (int64_t j = i + 1; j < n && g < maxRows; ++j) {
      const int64_t jb = rowPtr[j], je = rowPtr[j + 1];
      if (je == jb)
        break;
      int64_t distinct = 0, added = 0;
      for (int64_t k = jb; k < je; ++k) {
        int64_t c = colIdx[k];
        if (seen[c] == j)
          continue;
        seen[c] = j;
        ++distinct;
        if (mark[c] != 2 * i) {
          mark[c] = 2 * i + 1;
          ++added;
        }
      }
      const bool take = double(stored + distinct) >=
                        threshold * double((g + 1) * (columns + added));
      for (int64_t k = jb; k < je; ++k)
        if (int64_t c = colIdx[k]; mark[c] == 2 * i + 1)
          mark[c] = take ? 2 * i : -1;
      if (!take)
        break;
      stored += distinct;
      columns += added;
      ++g;
    }
    if (g > 1)
      groups.push_back(Group{i, g, columns, stored});
    i += g;
  }
  return groups;
}

} // namespace lathe::row_groups

#endif // LATHE_RUNTIME_ROWGROUPS_H
