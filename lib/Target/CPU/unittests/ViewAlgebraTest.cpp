//===- ViewAlgebraTest.cpp - The view algebra of FoldLayouts -------------===//
//
// Checks the view algebra against brute force: the element a view reads at
// every index is computed from its atoms and compared with an explicit
// reference (index arithmetic of reshapes, transposes and slices written out
// here), and the read-in-place plans are checked to address the same
// elements as the views they replace.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CPU/ViewAlgebra.h"

#include <gtest/gtest.h>

#include <functional>
#include <numeric>
#include <vector>

using namespace mlir::lathe::views;

namespace {

/// The flat source element that `dims` (read from `offset`) hold at the
/// row-major index `linear` of the view.
int64_t address(llvm::ArrayRef<AtomDim> dims, int64_t offset, int64_t linear) {
  int64_t addr = offset;
  for (int64_t d = static_cast<int64_t>(dims.size()) - 1; d >= 0; --d) {
    int64_t size = dimSize(dims[d]);
    int64_t index = linear % size;
    linear /= size;
    // Atoms are outer first: the last atom varies fastest.
    for (auto it = dims[d].rbegin(); it != dims[d].rend(); ++it) {
      addr += (index % it->size) * it->stride;
      index /= it->size;
    }
  }
  return addr;
}

int64_t numel(llvm::ArrayRef<AtomDim> dims) {
  int64_t n = 1;
  for (const AtomDim &d : dims)
    n *= dimSize(d);
  return n;
}

/// All addresses of a view, in row-major order of its index.
std::vector<int64_t> addresses(llvm::ArrayRef<AtomDim> dims, int64_t offset) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < numel(dims); ++i)
    out.push_back(address(dims, offset, i));
  return out;
}

/// Reference: the flat source element at `index` of transpose(x, perm) for a
/// dense row-major x of `shape`.
int64_t transposedAddress(llvm::ArrayRef<int64_t> shape,
                          llvm::ArrayRef<int64_t> perm,
                          llvm::ArrayRef<int64_t> index) {
  std::vector<int64_t> src(shape.size());
  for (size_t i = 0; i < perm.size(); ++i)
    src[perm[i]] = index[i];
  int64_t addr = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    addr = addr * shape[d] + src[d];
  return addr;
}

/// Row-major multi-index of `linear` in `shape`.
std::vector<int64_t> unflatten(llvm::ArrayRef<int64_t> shape, int64_t linear) {
  std::vector<int64_t> index(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    index[d] = linear % shape[d];
    linear /= shape[d];
  }
  return index;
}

TEST(ViewAlgebra, NormalizedDropsUnitsAndMergesContiguousAtoms) {
  EXPECT_EQ(normalized({{2, 12}, {1, 7}, {3, 4}, {4, 1}}), (AtomDim{{24, 1}}));
  // Not contiguous: the rows of a column slice stay two atoms.
  EXPECT_EQ(normalized({{2, 8}, {3, 1}}), (AtomDim{{2, 8}, {3, 1}}));
  EXPECT_TRUE(normalized({{1, 5}}).empty());
  EXPECT_EQ(dimSize(AtomDim{{2, 8}, {3, 1}}), 6);
}

TEST(ViewAlgebra, DenseDimsAreRowMajor) {
  SmallVector<AtomDim> dims = denseDims({2, 1, 3, 4});
  ASSERT_EQ(dims.size(), 4u);
  EXPECT_EQ(dims[0], (AtomDim{{2, 12}}));
  EXPECT_TRUE(dims[1].empty());
  EXPECT_EQ(dims[2], (AtomDim{{3, 4}}));
  EXPECT_EQ(dims[3], (AtomDim{{4, 1}}));
  std::vector<int64_t> want(24);
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(addresses(dims, 0), want);
}

TEST(ViewAlgebra, SplitDimMatchesExpandShape) {
  auto parts = splitDim(AtomDim{{24, 1}}, {2, 3, 4});
  ASSERT_TRUE(parts);
  EXPECT_EQ(*parts, denseDims({2, 3, 4}));
  // A dimension that is two atoms (a transpose's) splits along them.
  auto cut = splitDim(AtomDim{{4, 1}, {6, 4}}, {2, 2, 6});
  ASSERT_TRUE(cut);
  EXPECT_EQ((*cut)[0], (AtomDim{{2, 2}}));
  EXPECT_EQ((*cut)[1], (AtomDim{{2, 1}}));
  EXPECT_EQ((*cut)[2], (AtomDim{{6, 4}}));
  // Sizes that do not divide the atoms, or do not cover the dimension.
  EXPECT_FALSE(splitDim(AtomDim{{6, 1}}, {4}));
  EXPECT_FALSE(splitDim(AtomDim{{4, 1}, {6, 4}}, {3, 8}));
  EXPECT_FALSE(splitDim(AtomDim{{6, 1}}, {2}));
}

// The attention head split: [B*S, H*D] -> expand [B, S, H, D] -> transpose
// [B, H, S, D] -> collapse [B*H, S, D], against explicit index arithmetic.
TEST(ViewAlgebra, HeadSplitChainAddressesTheTransposedElements) {
  const int64_t B = 2, S = 3, H = 2, D = 4;
  SmallVector<AtomDim> dims = denseDims({B * S, H * D});
  auto rows = splitDim(dims[0], {B, S});
  auto cols = splitDim(dims[1], {H, D});
  ASSERT_TRUE(rows && cols);
  SmallVector<AtomDim> expanded = {(*rows)[0], (*rows)[1], (*cols)[0],
                                   (*cols)[1]};
  SmallVector<int64_t> perm = {0, 2, 1, 3};
  SmallVector<AtomDim> transposed = permuted(expanded, perm);
  SmallVector<AtomDim> collapsed = {
      normalized({transposed[0][0], transposed[1][0]}), transposed[2],
      transposed[3]};
  ASSERT_EQ(numel(collapsed), B * S * H * D);
  for (int64_t i = 0; i < B * S * H * D; ++i) {
    std::vector<int64_t> index = unflatten({B, H, S, D}, i);
    EXPECT_EQ(address(collapsed, 0, i),
              transposedAddress({B, S, H, D}, perm, index))
        << "at " << i;
  }
}

TEST(ViewAlgebra, ComposedPermutationsEqualTwoTransposes) {
  SmallVector<int64_t> shape = {2, 3, 4, 5};
  SmallVector<int64_t> inner = {2, 0, 3, 1}, outer = {1, 3, 0, 2};
  SmallVector<int64_t> both = composePermutations(inner, outer);
  SmallVector<AtomDim> twice =
      permuted(permuted(denseDims(shape), inner), outer);
  SmallVector<AtomDim> once = permuted(denseDims(shape), both);
  EXPECT_EQ(addresses(twice, 0), addresses(once, 0));
  for (int64_t i = 0; i < 120; ++i) {
    SmallVector<int64_t> outShape;
    for (int64_t p : both)
      outShape.push_back(shape[p]);
    EXPECT_EQ(address(once, 0, i),
              transposedAddress(shape, both, unflatten(outShape, i)));
  }
  EXPECT_EQ(identityPermutation(3), (SmallVector<int64_t>{0, 1, 2}));
  EXPECT_EQ(permuted(denseDims(shape), {}), denseDims(shape));
}

TEST(ViewAlgebra, ApplySliceMovesTheOffsetAndDropsDimensions) {
  // x[1:3, 2:5] of a dense [4, 6].
  SmallVector<AtomDim> dims = denseDims({4, 6});
  int64_t offset = 0;
  ASSERT_TRUE(
      applySlice(dims, offset, {1, 2}, {2, 3}, llvm::SmallBitVector(2)));
  EXPECT_EQ(offset, 1 * 6 + 2);
  std::vector<int64_t> want;
  for (int64_t r = 1; r < 3; ++r)
    for (int64_t c = 2; c < 5; ++c)
      want.push_back(r * 6 + c);
  EXPECT_EQ(addresses(dims, offset), want);

  // x[2, :] with the row dimension dropped.
  dims = denseDims({4, 6});
  offset = 0;
  llvm::SmallBitVector dropped(2);
  dropped.set(0);
  ASSERT_TRUE(applySlice(dims, offset, {2, 0}, {1, 6}, dropped));
  EXPECT_EQ(dims.size(), 1u);
  EXPECT_EQ(offset, 12);

  // A dimension of two atoms cannot be cut.
  dims = {AtomDim{{2, 8}, {3, 1}}};
  offset = 0;
  EXPECT_FALSE(applySlice(dims, offset, {1}, {4}, llvm::SmallBitVector(1)));
}

TEST(ViewAlgebra, BuildLayoutTilesTheSourceWithGaps) {
  // Columns 2..3 of a dense [4, 6]: atoms {4, 6} and {2, 1} from offset 2.
  auto layout = buildLayout({{4, 6}, {2, 1}}, 24, 2);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->atoms, (SmallVector<Atom>{{4, 6}, {3, 2}, {2, 1}}));
  EXPECT_EQ(layout->gapIndex, (SmallVector<int64_t>{-1, 1, -1}));
  EXPECT_EQ(layout->viewAtom, (SmallVector<int64_t>{0, 2}));
  // A transposed dense view: no gaps, the atoms in source order.
  auto transposed = buildLayout({{3, 1}, {2, 3}}, 6, 0);
  ASSERT_TRUE(transposed);
  EXPECT_EQ(transposed->atoms, (SmallVector<Atom>{{2, 3}, {3, 1}}));
  EXPECT_EQ(transposed->viewAtom, (SmallVector<int64_t>{1, 0}));
  // Overlapping atoms, an offset inside a view atom, a size that does not
  // tile the source.
  EXPECT_FALSE(buildLayout({{2, 1}, {2, 1}}, 4, 0));
  EXPECT_FALSE(buildLayout({{4, 6}, {2, 1}}, 24, 1 * 6));
  EXPECT_FALSE(buildLayout({{5, 1}}, 12, 0));
  // The second half of a source of 6 is a view from offset 3; from offset 6
  // it would read past the end.
  auto half = buildLayout({{3, 1}}, 6, 3);
  ASSERT_TRUE(half);
  EXPECT_EQ(half->gapIndex, (SmallVector<int64_t>{1, -1}));
  EXPECT_FALSE(buildLayout({{3, 1}}, 6, 6));
}

TEST(ViewAlgebra, InvertAtomsSeesTheProducerFromTheTarget) {
  // target = transpose(produced [2, 3, 4], [2, 0, 1]) = [4, 2, 3]: the
  // dimensions of `produced` as atoms over target's dense layout.
  SmallVector<int64_t> shape = {2, 3, 4}, perm = {2, 0, 1};
  SmallVector<AtomDim> targetView = permuted(denseDims(shape), perm);
  auto dims = invertAtoms(flatAtoms(targetView), shape, 24);
  ASSERT_TRUE(dims);
  // Round trip: element k of `produced` sits at address(dims, k) of target,
  // where target reads back element k.
  std::vector<int64_t> targetReads = addresses(targetView, 0);
  for (int64_t k = 0; k < 24; ++k)
    EXPECT_EQ(targetReads[address(*dims, 0, k)], k) << "at " << k;
  // Element counts that disagree.
  EXPECT_FALSE(invertAtoms(flatAtoms(targetView), shape, 12));
  EXPECT_FALSE(invertAtoms(flatAtoms(targetView), {2, 3, 5}, 24));
  // Atoms that read some elements twice and others never.
  EXPECT_FALSE(invertAtoms({{2, 2}, {2, 2}}, {4}, 4));
}

TEST(ViewAlgebra, RefineBatchCutsEveryViewAtTheSamePlaces) {
  // One batch dimension of 6: contiguous in the first view, [2, 3] with a
  // gap in the second (heads read from a wider tensor).
  SmallVector<SmallVector<AtomDim>> views = {
      {AtomDim{{6, 20}}, AtomDim{{4, 5}}, AtomDim{{5, 1}}},
      {AtomDim{{2, 60}, {3, 5}}, AtomDim{{5, 1}}, AtomDim{{7, 100}}}};
  std::vector<int64_t> before0 = addresses(views[0], 0),
                       before1 = addresses(views[1], 0);
  ASSERT_TRUE(refineBatch(views, 1));
  for (auto &dims : views) {
    ASSERT_EQ(dims.size(), 4u);
    EXPECT_LE(normalized(dims[0]).size(), 1u);
    EXPECT_LE(normalized(dims[1]).size(), 1u);
  }
  EXPECT_EQ(views[0][0], (AtomDim{{2, 60}}));
  EXPECT_EQ(views[0][1], (AtomDim{{3, 20}}));
  EXPECT_EQ(views[1][0], (AtomDim{{2, 60}}));
  EXPECT_EQ(views[1][1], (AtomDim{{3, 5}}));
  // The same elements in the same order.
  EXPECT_EQ(addresses(views[0], 0), before0);
  EXPECT_EQ(addresses(views[1], 0), before1);

  // Batches of different sizes do not refine.
  SmallVector<SmallVector<AtomDim>> mismatched = {
      {AtomDim{{6, 1}}, AtomDim{{2, 6}}, AtomDim{{2, 12}}},
      {AtomDim{{4, 1}}, AtomDim{{2, 4}}, AtomDim{{2, 8}}}};
  EXPECT_FALSE(refineBatch(mismatched, 1));
  // Three runs that are contiguous in no view: more than two batch
  // dimensions would be left.
  SmallVector<SmallVector<AtomDim>> threeRuns = {
      {AtomDim{{2, 1000}, {3, 100}, {4, 1}}, AtomDim{{5, 4}}, AtomDim{{7, 20}}},
      {AtomDim{{24, 1}}, AtomDim{{5, 24}}, AtomDim{{7, 120}}}};
  EXPECT_FALSE(refineBatch(threeRuns, 1));
}

TEST(ViewAlgebra, PlanOperandReadsTheSameElementsInPlace) {
  // [B, H, S, D] = transpose([B, S, H, D], [0, 2, 1, 3]) of a dense source,
  // with a unit dimension in front.
  const int64_t B = 2, S = 3, H = 2, D = 4, N = B * S * H * D;
  SmallVector<AtomDim> src = denseDims({B, S, H, D});
  SmallVector<AtomDim> dims = {AtomDim{}, src[0], src[2], src[1], src[3]};
  auto plan = planOperand(dims, N, 0);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->storedShape, (SmallVector<int64_t>{1, B, S, H, D}));
  EXPECT_EQ(plan->perm, (SmallVector<int64_t>{0, 1, 3, 2, 4}));
  // Logical index i reads stored index perm(i) of the dense stored tensor.
  SmallVector<AtomDim> stored = denseDims(plan->storedShape);
  SmallVector<AtomDim> logical = permuted(stored, plan->perm);
  EXPECT_EQ(addresses(logical, 0), addresses(dims, 0));

  // A sliced operand: columns 4..7 of a dense [6, 12].
  SmallVector<AtomDim> slice = denseDims({6, 12});
  int64_t offset = 0;
  ASSERT_TRUE(
      applySlice(slice, offset, {0, 4}, {6, 4}, llvm::SmallBitVector(2)));
  auto sliced = planOperand(slice, 72, offset);
  ASSERT_TRUE(sliced);
  EXPECT_EQ(sliced->storedShape, (SmallVector<int64_t>{6, 4}));
  EXPECT_EQ(sliced->layout.gapIndex, (SmallVector<int64_t>{-1, 1, -1}));

  // A dimension of two atoms is not one stride.
  EXPECT_FALSE(planOperand({AtomDim{{2, 8}, {3, 1}}}, 16, 0));
}

} // namespace
