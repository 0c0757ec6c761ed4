//===- AttentionBackwardTest.cpp - Host-side arithmetic of the backward ---===//
//
// What lathe_attention_bwd_* are handed, checked on the host: a bias
// gradient's elements and terms cover every score element exactly once and
// sum it into the element the CPU kernel sums it into; the tiles fit the
// shared memory of both tiled kernels.
//
//===----------------------------------------------------------------------===//

#include "AttentionBackward.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

using namespace lathe_cuda;

namespace {

/// A dense row-major gradient of `sizes` over scores of `scores`.
BiasGradParams denseGrad(std::vector<int64_t> sizes,
                         std::vector<int64_t> scores) {
  BiasGradParams g;
  g.rank = int(sizes.size());
  int64_t stride = 1;
  for (int dim = g.rank - 1; dim >= 0; --dim) {
    g.sizes[dim] = sizes[dim];
    g.strides[dim] = stride;
    g.scoreSizes[dim] = scores[dim];
    stride *= sizes[dim];
  }
  return g;
}

/// Checks every (element, term) pair against the CPU's rule: score element
/// idx is summed into the gradient element at idx with the broadcast
/// dimensions set to 0.
void expectCoversScores(const BiasGradParams &g) {
  int64_t elements = 1, scores = 1;
  for (int dim = 0; dim < g.rank; ++dim) {
    elements *= g.sizes[dim];
    scores *= g.scoreSizes[dim];
  }
  int64_t terms = biasGradTerms(g);
  EXPECT_EQ(elements * terms, scores);
  std::map<std::vector<int64_t>, int> seen;
  for (int64_t e = 0; e < elements; ++e) {
    int64_t offset = biasGradOffset(g, e);
    for (int64_t t = 0; t < terms; ++t) {
      int64_t idx[2 + kAttnMaxBatch];
      biasGradTerm(g, e, t, idx);
      std::vector<int64_t> at(idx, idx + g.rank);
      ++seen[at];
      int64_t want = 0;
      for (int dim = 0; dim < g.rank; ++dim) {
        ASSERT_GE(idx[dim], 0);
        ASSERT_LT(idx[dim], g.scoreSizes[dim]);
        if (g.sizes[dim] != 1)
          want += idx[dim] * g.strides[dim];
      }
      EXPECT_EQ(offset, want);
    }
  }
  EXPECT_EQ(int64_t(seen.size()), scores);
  for (auto &[at, count] : seen)
    EXPECT_EQ(count, 1);
}

TEST(AttentionBackward, BiasGradientTermsCoverTheScores) {
  // A key mask [B, 1, 1, Lk], a pair bias [1, H, Lq, Lk], a full bias, a
  // rank-5 Evoformer mask and a bias broadcast everywhere.
  expectCoversScores(denseGrad({2, 1, 1, 5}, {2, 3, 4, 5}));
  expectCoversScores(denseGrad({1, 3, 4, 5}, {2, 3, 4, 5}));
  expectCoversScores(denseGrad({2, 3, 4, 5}, {2, 3, 4, 5}));
  expectCoversScores(denseGrad({2, 3, 1, 1, 6}, {2, 3, 2, 6, 6}));
  expectCoversScores(denseGrad({1, 1}, {7, 9}));
}

TEST(AttentionBackward, BiasGradientOffsetsFollowStrides) {
  // A transposed [1, 4, 3] view (strides 0-irrelevant, 1, 4).
  BiasGradParams g = denseGrad({1, 4, 3}, {2, 4, 3});
  g.strides[1] = 1;
  g.strides[2] = 4;
  EXPECT_EQ(biasGradOffset(g, 0), 0);
  EXPECT_EQ(biasGradOffset(g, 1), 4);
  EXPECT_EQ(biasGradOffset(g, 3), 1);
  EXPECT_EQ(biasGradOffset(g, 11), 3 + 8);
}

TEST(AttentionBackward, NoTermsWhenAScoreDimensionIsEmpty) {
  // Lq = 0: the gradient [1, 1, 5] gets zeros (no term, no division by 0).
  BiasGradParams g = denseGrad({1, 1, 5}, {2, 0, 5});
  EXPECT_EQ(biasGradTerms(g), 0);
  EXPECT_EQ(biasGradOffset(g, 4), 4);
}

TEST(AttentionBackward, TilesFitTheSharedMemory) {
  for (int64_t d : {1, 8, 16, 64, 128, 256, 512}) {
    int64_t bq = 0, bk = 0;
    ASSERT_TRUE(attentionBwdTiles(1024, 1024, d, d, 48 * 1024, bq, bk)) << d;
    EXPECT_LE(4 * attentionBwdDqFloats(bq, bk, d, d), 48 * 1024) << d;
    EXPECT_LE(4 * attentionBwdDkdvFloats(bq, bk, d, d), 48 * 1024) << d;
    EXPECT_GE(bq, 1);
    EXPECT_GE(bk, 1);
  }
  // Short sequences: tiles no larger than the sequence.
  int64_t bq = 0, bk = 0;
  ASSERT_TRUE(attentionBwdTiles(6, 24, 8, 8, 48 * 1024, bq, bk));
  EXPECT_EQ(bq, 6);
  EXPECT_EQ(bk, 24);
  // A head too wide for even 1 x 1 tiles.
  EXPECT_FALSE(attentionBwdTiles(64, 64, 8000, 8000, 48 * 1024, bq, bk));
}

} // namespace
