//===- ViewAlgebra.h - Strided views of a flat tensor as atoms --*- C++ -*-===//
//
// The index algebra behind lib/Target/CPU/FoldLayouts.cpp. A chain of data
// movement (reshapes, transposes, static slices) applied to a static row-major
// source computes a strided view of it: each dimension of the result is a
// row-major combination of "atoms" (a size, and a stride in the flat
// source), plus an element offset. This file composes such views and decides
// whether one can be read in place (a reshape of the source, at most one
// slice, read through a permutation); it knows nothing of MLIR operations, so
// it is unit-tested on its own (lib/Target/CPU/unittests/ViewAlgebraTest.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_CPU_VIEWALGEBRA_H
#define LATHE_TARGET_CPU_VIEWALGEBRA_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Sequence.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <optional>

namespace mlir::lathe::views {

using llvm::ArrayRef;
using llvm::MutableArrayRef;
using llvm::SmallVector;

/// One factor of a dimension: `size` indices `stride` elements apart.
struct Atom {
  int64_t size, stride;
  bool operator==(const Atom &o) const {
    return size == o.size && stride == o.stride;
  }
};
/// A dimension: its atoms, outer first.
using AtomDim = SmallVector<Atom, 2>;

/// `dim` without unit atoms, with neighbours that are contiguous merged.
AtomDim normalized(ArrayRef<Atom> dim);

/// The number of indices of `dim` (the product of its sizes).
int64_t dimSize(ArrayRef<Atom> dim);

/// The dimensions of a dense row-major tensor of `shape`.
SmallVector<AtomDim> denseDims(ArrayRef<int64_t> shape);

/// All atoms of `dims`, outer dimension first (each dimension normalized).
SmallVector<Atom> flatAtoms(ArrayRef<AtomDim> dims);

/// Splits `dim` into row-major dimensions of `sizes` (an expand_shape), or
/// nothing when an atom does not divide.
std::optional<SmallVector<AtomDim>> splitDim(ArrayRef<Atom> dim,
                                             ArrayRef<int64_t> sizes);

/// Applies a box (static `offsets` and `sizes`, unit strides) to the view
/// `dims` read from element `offset` of its source, then removes the
/// `dropped` dimensions; false when a cut dimension has more than one atom.
bool applySlice(SmallVector<AtomDim> &dims, int64_t &offset,
                ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes,
                const llvm::SmallBitVector &dropped);

/// perm' such that transpose(transpose(x, inner), outer) ==
/// transpose(x, perm').
SmallVector<int64_t> composePermutations(ArrayRef<int64_t> inner,
                                         ArrayRef<int64_t> outer);

/// The identity permutation of `rank` dimensions.
SmallVector<int64_t> identityPermutation(int64_t rank);

/// `dims` with dimension i taken from dims[perm[i]] (linalg.transpose); an
/// empty `perm` is the identity.
SmallVector<AtomDim> permuted(ArrayRef<AtomDim> dims, ArrayRef<int64_t> perm);

/// How the atoms of a view tile its source: all atoms (the view's and the
/// "gaps" between them that a slice skips), outer first.
struct Layout {
  SmallVector<Atom> atoms;
  SmallVector<int64_t> gapIndex; // -1 for a view atom, the sliced index else
  SmallVector<int64_t> viewAtom; // view atom i sits at atoms[viewAtom[i]]
};

/// `viewAtoms` (no unit atoms) as a tiling of a source of `numel` elements
/// read from `offset`: nothing when atoms overlap or the offset is not a
/// corner of the gaps.
std::optional<Layout> buildLayout(ArrayRef<Atom> viewAtoms, int64_t numel,
                                  int64_t offset);

/// The dimensions of a tensor of `producedShape` as atoms over the dense
/// row-major layout of the tensor `target` that data movement computes from
/// it element for element, given `targetAtoms`, the flat atoms of target's
/// view of `produced` (flatAtoms). Nothing when the two are not permutations
/// of each other's elements or an atom cannot be cut at a dimension boundary
/// of `produced`.
std::optional<SmallVector<AtomDim>> invertAtoms(ArrayRef<Atom> targetAtoms,
                                                ArrayRef<int64_t> producedShape,
                                                int64_t targetNumel);

/// Splits the batch dimensions of all `views` (the dimensions before the last
/// two) at the same places and merges what is contiguous in every view;
/// afterwards each view has exactly two batch dimensions of at most one atom.
/// False (views unspecified) when that is not possible.
bool refineBatch(MutableArrayRef<SmallVector<AtomDim>> views, int64_t numBatch);

/// How to read a matmul operand whose every dimension is at most one atom:
/// the source's layout and the permutation from logical to stored
/// dimensions (unit dimensions are stored first).
struct OperandPlan {
  Layout layout;
  SmallVector<int64_t> perm;
  SmallVector<int64_t> storedShape;
};

/// The plan for the operand `dims` over a source of `numel` elements read
/// from `offset`; nothing when a dimension has several atoms or the atoms do
/// not tile the source.
std::optional<OperandPlan> planOperand(ArrayRef<AtomDim> dims, int64_t numel,
                                       int64_t offset);

} // namespace mlir::lathe::views

#endif // LATHE_TARGET_CPU_VIEWALGEBRA_H
