//===- CostModelTest.cpp - sparsegcn tile cost model ----------------------===//

#include "lathe/Dialect/SparseGCN/CostModel.h"

#include "gtest/gtest.h"

using namespace mlir::lathe::sparsegcn;

namespace {

const TileCostModel &cpu() {
  const TileCostModel *model = TileCostModel::lookup("cpu");
  EXPECT_NE(model, nullptr);
  return *model;
}

TEST(TileCostModel, KnownTargetsOnly) {
  EXPECT_NE(TileCostModel::lookup("cpu"), nullptr);
  EXPECT_EQ(TileCostModel::lookup("tpu"), nullptr);
  EXPECT_EQ(cpu().getName(), "cpu");
}

TEST(TileCostModel, ThresholdIsADensity) {
  for (int64_t t : {1, 8, 32, 50, 64, 128, 256, 1024})
    for (int64_t f : {1, 7, 16, 40, 64, 256, 1000}) {
      double d = cpu().denseThreshold(t, f);
      EXPECT_GT(d, 0.0) << "T=" << t << " F=" << f;
      EXPECT_LE(d, 1.0) << "T=" << t << " F=" << f;
    }
}

TEST(TileCostModel, ThresholdIsTheBreakEven) {
  // At the threshold density a dense tile and its non-zeros on the sparse
  // engine take the same time (local sparse rate).
  for (int64_t t : {32, 64, 128})
    for (int64_t f : {16, 64, 256}) {
      double d = cpu().denseThreshold(t, f);
      if (d >= 1.0)
        continue;
      double dense = 2.0 * t * t * f / cpu().gemmGflops(t, f);
      double sparse = 2.0 * d * t * t * f / cpu().spmmLocalGflops(f);
      EXPECT_NEAR(dense, sparse, 1e-9 * dense);
    }
}

TEST(TileCostModel, TinyTilesAreNotWorthTheGemm) {
  // Below the measured sizes the GEMM only gets slower per flop.
  EXPECT_LT(cpu().gemmGflops(4, 64), cpu().gemmGflops(32, 64));
  EXPECT_GE(cpu().denseThreshold(4, 64), cpu().denseThreshold(32, 64));
}

TEST(TileCostModel, InterpolatesBetweenMeasuredPoints) {
  double lo = cpu().gemmGflops(64, 64), hi = cpu().gemmGflops(128, 64);
  double mid = cpu().gemmGflops(90, 64);
  EXPECT_GE(mid, std::min(lo, hi));
  EXPECT_LE(mid, std::max(lo, hi));
  // Outside the table: the nearest measured width.
  EXPECT_DOUBLE_EQ(cpu().spmmLocalGflops(1000), cpu().spmmLocalGflops(256));
}

TEST(TileCostModel, StreamedFeaturesAreSlower) {
  // X of 1000 x 64 floats stays in the cache; 100000 x 64 does not.
  EXPECT_GT(cpu().spmmGflops(64, 1000), cpu().spmmGflops(64, 100000));
  EXPECT_GT(cpu().sparseSeconds(1000, 64, 100000),
            cpu().sparseSeconds(1000, 64, 1000));
  EXPECT_DOUBLE_EQ(cpu().sparseSeconds(0, 64, 1000), 0.0);
  EXPECT_GT(cpu().denseSeconds(128 * 128, 128, 64), 0.0);
}

} // namespace
