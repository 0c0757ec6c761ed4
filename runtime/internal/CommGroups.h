//===- CommGroups.h - Grids and groups of the collectives -------*- C++ -*-===//
//
// Header-only, standard C++ only (no MPI, no NCCL, no runtime state): where
// a process sits in a packed grid and group (Comm.h's encoding), shared by
// the CPU runtime's MPI communicators (MPI_Comm_split) and the CUDA
// runtime's NCCL ones (ncclCommSplit), so that both split the world alike:
// color = the row-major index of the coordinates on the other axes, key =
// the index in the group.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_COMMGROUPS_H
#define LATHE_RUNTIME_COMMGROUPS_H

#include <cstdint>

namespace lathe::comm_groups {

constexpr int kMaxAxes = 4;

struct Grid {
  int rank = 0;
  int64_t sizes[kMaxAxes] = {};
  int64_t processes = 1;
};

struct Group {
  int count = 0;
  int axes[kMaxAxes] = {};
};

/// The axes of a packed grid (sizes in 16-bit fields, axis 0 first); false
/// for no axis or a non-zero size after a zero one.
inline bool unpackGrid(int64_t packed, Grid &grid) {
  auto bits = static_cast<uint64_t>(packed);
  grid = Grid();
  bool ended = false;
  for (int i = 0; i < kMaxAxes; ++i) {
    auto size = static_cast<int64_t>((bits >> (16 * i)) & 0xffff);
    if (!size) {
      ended = true;
      continue;
    }
    if (ended)
      return false;
    grid.sizes[grid.rank++] = size;
    grid.processes *= size;
  }
  return grid.rank > 0;
}

/// The axes of a packed group (count in bits 0-3, axis k in bits
/// [4+4k, 8+4k)); false when it names an axis the grid lacks or one twice,
/// or has bits beyond its axes.
inline bool unpackGroup(int64_t packed, const Grid &grid, Group &group) {
  auto bits = static_cast<uint64_t>(packed);
  group = Group();
  group.count = static_cast<int>(bits & 0xf);
  if (group.count > grid.rank || (bits >> (4 + 4 * group.count)))
    return false;
  bool seen[kMaxAxes] = {};
  for (int k = 0; k < group.count; ++k) {
    int axis = static_cast<int>((bits >> (4 + 4 * k)) & 0xf);
    if (axis >= grid.rank || seen[axis])
      return false;
    seen[axis] = true;
    group.axes[k] = axis;
  }
  return true;
}

/// Where a process sits relative to one (grid, group).
struct Placement {
  int64_t groupIndex = 0; ///< row-major over the group's axes, in its order
  int64_t groupSize = 1;
  int64_t color = 0; ///< row-major over the other axes
};

/// The placement of world rank `worldRank` (the row-major index of its grid
/// coordinates, axis 0 slowest).
inline Placement place(const Grid &grid, const Group &group,
                       int64_t worldRank) {
  int64_t coords[kMaxAxes] = {};
  int64_t rest = worldRank;
  for (int i = grid.rank; i-- > 0;) {
    coords[i] = rest % grid.sizes[i];
    rest /= grid.sizes[i];
  }
  Placement p;
  bool inGroup[kMaxAxes] = {};
  for (int k = 0; k < group.count; ++k) {
    int axis = group.axes[k];
    inGroup[axis] = true;
    p.groupIndex = p.groupIndex * grid.sizes[axis] + coords[axis];
    p.groupSize *= grid.sizes[axis];
  }
  for (int i = 0; i < grid.rank; ++i)
    if (!inGroup[i])
      p.color = p.color * grid.sizes[i] + coords[i];
  return p;
}

} // namespace lathe::comm_groups

#endif // LATHE_RUNTIME_COMMGROUPS_H
