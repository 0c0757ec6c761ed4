//===- LaunchGeometryTest.cpp - Host-side arithmetic of own CUDA kernels --===//
//
// What the row, attention and grid-stride kernels are handed, checked on the
// host: every element of a strided view is visited exactly once by the row
// decomposition, masks broadcast as the CPU runtime's masked softmax reads
// them, attention tiles fit the shared memory, launch shapes cover the work.
//
//===----------------------------------------------------------------------===//

#include "LaunchGeometry.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

using namespace lathe_cuda;

namespace {

TEST(Ref, AppliesTheOffsetInElementsOfItsType) {
  // An i64 CSR array viewed from element 3 on, and an i8 mask from 5: the
  // offset counts elements of each type, not floats.
  int64_t words[10] = {};
  struct {
    void *allocated, *aligned;
    int64_t offset, size, stride;
  } d64 = {words, words, 3, 7, 1};
  Ref r = ref(1, &d64, sizeof(int64_t));
  EXPECT_EQ(r.as<int64_t>(), words + 3);
  EXPECT_EQ(r.size(0), 7);
  EXPECT_EQ(r.stride(0), 1);
  signed char bytes[16] = {};
  struct {
    void *allocated, *aligned;
    int64_t offset, sizes[2], strides[2];
  } d8 = {bytes, bytes, 5, {2, 4}, {4, 1}};
  Ref m = ref(2, &d8, 1);
  EXPECT_EQ(m.as<signed char>(), bytes + 5);
  EXPECT_EQ(m.numel(), 8);
  EXPECT_EQ(m.stride(0), 4);
}

TEST(RowParams, VisitsEveryElementOfAStridedViewOnce) {
  // A [2, 3, 4] tensor stored as a transposed [4, 3, 2] buffer (strides
  // 1, 2, 6), reduced along axis 1; the output is dense.
  const int64_t sizes[] = {2, 3, 4}, in[] = {1, 2, 6}, out[] = {12, 4, 1};
  RowParams p;
  ASSERT_TRUE(makeRowParams(3, sizes, in, out, 1, p));
  EXPECT_EQ(p.rows, 8);
  EXPECT_EQ(p.n, 3);
  EXPECT_EQ(p.inAxis, 2);
  EXPECT_EQ(p.outAxis, 4);
  std::set<int64_t> inSeen, outSeen;
  for (int64_t r = 0; r < p.rows; ++r) {
    int64_t io, oo, mo;
    rowOffsets(p, r, io, oo, mo);
    EXPECT_EQ(mo, 0);
    for (int64_t j = 0; j < p.n; ++j) {
      EXPECT_TRUE(inSeen.insert(io + j * p.inAxis).second);
      EXPECT_TRUE(outSeen.insert(oo + j * p.outAxis).second);
    }
  }
  EXPECT_EQ(inSeen.size(), 24u);
  EXPECT_EQ(*inSeen.rbegin(), 23);
  EXPECT_EQ(*outSeen.rbegin(), 23);
}

TEST(RowParams, RejectsBadAxisAndRank) {
  const int64_t sizes[] = {2, 3}, strides[] = {3, 1};
  RowParams p;
  EXPECT_FALSE(makeRowParams(2, sizes, strides, strides, 2, p));
  EXPECT_FALSE(makeRowParams(2, sizes, strides, strides, -1, p));
  EXPECT_FALSE(makeRowParams(0, sizes, strides, strides, 0, p));
}

TEST(RowMask, CausalMaskBroadcastsOverBatchAndHeads) {
  // Scores [B=2, H=3, L=4, L=4]; mask [4, 4] mapped to dims 2 and 3
  // (maskDims = 0x32), read as mask[i, j] for every batch and head.
  const int64_t sizes[] = {2, 3, 4, 4}, strides[] = {48, 16, 4, 1};
  const int64_t maskSizes[] = {4, 4}, maskStrides[] = {4, 1};
  RowParams p;
  ASSERT_TRUE(makeRowParams(4, sizes, strides, strides, 3, p));
  ASSERT_TRUE(addRowMask(4, sizes, 3, 2, maskSizes, maskStrides, 0x32, p));
  EXPECT_EQ(p.maskAxis, 1);
  for (int64_t r = 0; r < p.rows; ++r) {
    int64_t io, oo, mo;
    rowOffsets(p, r, io, oo, mo);
    EXPECT_EQ(mo, (r % 4) * 4) << "row " << r;
  }
}

TEST(RowMask, UnitAndSizeOneDimensionsBroadcast) {
  const int64_t sizes[] = {2, 4, 5}, strides[] = {20, 5, 1};
  // mask [1, 2, 1, 5]: a unit dim (0xF), dim 0, a size-1 dim 1, dim 2.
  const int64_t maskSizes[] = {1, 2, 1, 5}, maskStrides[] = {10, 5, 5, 1};
  int64_t dims = 0xF | (0 << 4) | (1 << 8) | (2 << 12);
  RowParams p;
  ASSERT_TRUE(makeRowParams(3, sizes, strides, strides, 2, p));
  ASSERT_TRUE(addRowMask(3, sizes, 2, 4, maskSizes, maskStrides, dims, p));
  EXPECT_EQ(p.maskAxis, 1);
  EXPECT_EQ(p.maskStrides[0], 5); // batch dim
  EXPECT_EQ(p.maskStrides[1], 0); // broadcast over rows
}

TEST(RowMask, RejectsMismatchedSizes) {
  const int64_t sizes[] = {2, 4}, strides[] = {4, 1};
  const int64_t maskSizes[] = {3}, maskStrides[] = {1};
  RowParams p;
  ASSERT_TRUE(makeRowParams(2, sizes, strides, strides, 1, p));
  EXPECT_FALSE(addRowMask(2, sizes, 1, 1, maskSizes, maskStrides, 0x1, p));
  // A unit (0xF) dimension must have size 1.
  EXPECT_FALSE(addRowMask(2, sizes, 1, 1, maskSizes, maskStrides, 0xF, p));
}

TEST(Launch, WarpPerRowCoversEveryRow) {
  Launch l = warpPerRowLaunch(17);
  EXPECT_EQ(l.block, 256u);
  EXPECT_EQ(l.grid, 3u);
  EXPECT_GE(int64_t(l.grid) * l.block / 32, 17);
  EXPECT_EQ(warpPerRowLaunch(0).grid, 1u);
}

TEST(Launch, GridStrideIsCapped) {
  EXPECT_EQ(gridStrideLaunch(1000).grid, 4u);
  EXPECT_EQ(gridStrideLaunch(int64_t(1) << 40).grid, 65535u * 4);
  EXPECT_EQ(gridStrideLaunch(0).grid, 1u);
}

TEST(Attention, SmallProblemsTakeOneTile) {
  int64_t bq, bk;
  ASSERT_TRUE(attentionTiles(16, 16, 8, 8, 48 * 1024, bq, bk));
  EXPECT_EQ(bq, 16);
  EXPECT_EQ(bk, 16);
  Launch l = attentionLaunch(12, 16, bq, bk, 8, 8);
  EXPECT_EQ(l.grid, 12u);
  EXPECT_EQ(l.block, 128u);
  EXPECT_EQ(int64_t(l.sharedBytes), attentionSharedBytes(16, 16, 8, 8));
}

TEST(Attention, TilesShrinkToFitSharedMemory) {
  for (int64_t d : {64, 128, 256, 1024, 2048}) {
    int64_t bq, bk;
    ASSERT_TRUE(attentionTiles(4096, 4096, d, d, 48 * 1024, bq, bk)) << d;
    EXPECT_LE(attentionSharedBytes(bq, bk, d, d), 48 * 1024) << d;
    EXPECT_GE(bq, 1);
    EXPECT_GE(bk, 1);
  }
  int64_t bq, bk;
  ASSERT_TRUE(attentionTiles(4096, 4096, 64, 64, 48 * 1024, bq, bk));
  EXPECT_EQ(bq, 32); // d = 64 keeps the full query tile
  Launch l = attentionLaunch(8, 4096, bq, bk, 64, 64);
  EXPECT_EQ(l.grid, 8u * 128);
  // A head too large even for 1 x 1 tiles is refused, not launched.
  EXPECT_FALSE(attentionTiles(1, 1, 8000, 8000, 48 * 1024, bq, bk));
}

TEST(Attention, CausalMaskRunsAlongRowsAndColumns) {
  // Scores [B=2, H=4, Lq=16, Lk=16]; a [16, 16] mask along dims 2 and 3.
  const int64_t scores[] = {2, 4, 16, 16};
  const int64_t sizes[] = {16, 16}, strides[] = {16, 1};
  AttnOperand m;
  ASSERT_TRUE(attentionMaskStrides(4, scores, 2, sizes, strides, 0x32, m));
  EXPECT_EQ(m.rowStride, 16);
  EXPECT_EQ(m.colStride, 1);
  EXPECT_EQ(m.batchStrides[0], 0);
  EXPECT_EQ(m.batchStrides[1], 0);
}

TEST(Attention, PaddingMaskBroadcastsOverHeadsAndRows) {
  // A key-padding mask [B=2, 1, 1, Lk=16] (dims 0, 1, 2, 3): per batch
  // element, the same for every head and query row.
  const int64_t scores[] = {2, 4, 8, 16};
  const int64_t sizes[] = {2, 1, 1, 16}, strides[] = {16, 16, 16, 1};
  AttnOperand m;
  ASSERT_TRUE(attentionMaskStrides(4, scores, 4, sizes, strides, 0x3210, m));
  EXPECT_EQ(m.batchStrides[0], 16);
  EXPECT_EQ(m.batchStrides[1], 0);
  EXPECT_EQ(m.rowStride, 0);
  EXPECT_EQ(m.colStride, 1);
  // A mask whose size fits neither 1 nor the scores' is refused.
  const int64_t bad[] = {3, 1, 1, 16};
  EXPECT_FALSE(attentionMaskStrides(4, scores, 4, bad, strides, 0x3210, m));
}

} // namespace
