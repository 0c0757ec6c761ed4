//===- SparseGCNCostModelTest.cpp - sparsegcn's model on the CPU's table --===//
//
// sparsegcn-tile's cost model with the CPU's shipped `sparsegcn` table, read
// the way the pass reads it: from a module without #lathe.target.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/SparseGCN/CostModel.h"
#include "lathe/Dialect/SparseGCN/Passes.h"
#include "lathe/Target/CPU/Target.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::lathe::sparsegcn;

namespace {

const TileCostModel &cpu() {
  static const TileCostModel model = [] {
    mlir::lathe::registerCpuTarget();
    static MLIRContext context;
    OpBuilder b(&context);
    OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
    FailureOr<TileCostTable> table = readTileCostTable(*module);
    EXPECT_TRUE(succeeded(table));
    return TileCostModel(succeeded(table) ? *table : TileCostTable());
  }();
  return model;
}

TEST(TileCostModel, DefaultIsTheCpuTable) {
  EXPECT_EQ(cpu().getName(), "cpu");
  EXPECT_EQ(cpu().getTileSizes().size(), 4u);
  EXPECT_EQ(cpu().getWidths().size(), 5u);
}

TEST(TileCostModel, ThresholdIsADensity) {
  for (int64_t t : {1, 8, 32, 50, 64, 128, 256, 1024})
    for (int64_t f : {1, 7, 16, 40, 64, 256, 1000}) {
      double d = cpu().denseThreshold(t, f);
      EXPECT_GT(d, 0.0) << "T=" << t << " F=" << f;
      EXPECT_LE(d, 1.0) << "T=" << t << " F=" << f;
    }
}

TEST(TileCostModel, ThresholdIsTheBreakEvenTimesTheMargin) {
  // At the break-even density a dense tile and its non-zeros on the sparse
  // engine (local rate) take the same time; the threshold adds the margin.
  EXPECT_GT(cpu().getSafetyMargin(), 1.0);
  for (int64_t t : {32, 64, 100, 128, 256})
    for (int64_t f : {16, 24, 64, 200, 256}) {
      double e = cpu().breakEvenDensity(t, f);
      double dense = 2.0 * t * t * f / cpu().gemmGflops(t, f);
      double sparse = 2.0 * e * t * t * f / cpu().spmmLocalGflops(t, f);
      EXPECT_NEAR(dense, sparse, 1e-9 * dense) << "T=" << t << " F=" << f;
      EXPECT_DOUBLE_EQ(cpu().denseThreshold(t, f),
                       std::min(1.0, cpu().getSafetyMargin() * e));
    }
}

TEST(TileCostModel, ThresholdDependsOnTheWidth) {
  // The engines' ratio changes with F (the CSR kernel's register blocks,
  // the X window's cache footprint): a 128-tile's threshold is not one
  // number. A tile at the F = 256 threshold is sparse at F = 64.
  double at64 = cpu().denseThreshold(128, 64);
  double at256 = cpu().denseThreshold(128, 256);
  EXPECT_GT(at64, at256 * 1.2);
  // For an unknown width: dense only where dense at every measured width.
  for (int64_t t : {32, 64, 128, 256}) {
    double any = cpu().denseThresholdAnyWidth(t);
    for (int64_t f : cpu().getWidths())
      EXPECT_GE(any, cpu().denseThreshold(t, f));
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
  EXPECT_DOUBLE_EQ(cpu().spmmLocalGflops(128, 1000),
                   cpu().spmmLocalGflops(128, 256));
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

namespace {
TEST(TileCostModel, TileOverheadIsOptionalAndLeavesTheBreakEven) {
  // The CPU's table has no per-tile overhead; a table with one (the
  // accelerator target's) interpolates it like the rates, in microseconds,
  // and the break-even depends on the rates alone.
  EXPECT_EQ(cpu().tileOverheadSeconds(64, 16), 0.0);
  TileCostTable table;
  table.tileSizes = {32, 64};
  table.widths = {16, 32};
  table.gemm = {100, 200, 300, 400};
  table.spmmLocal = {50, 50, 50, 50};
  table.spmmResident = {50, 50};
  table.spmmStreamed = {50, 50};
  table.cacheBytes = 1 << 20;
  TileCostModel without(table);
  table.tileOverhead = {0.1, 0.2, 0.3, 0.4};
  TileCostModel with(table);
  EXPECT_DOUBLE_EQ(with.tileOverheadSeconds(32, 16), 0.1e-6);
  EXPECT_DOUBLE_EQ(with.tileOverheadSeconds(64, 32), 0.4e-6);
  EXPECT_DOUBLE_EQ(with.breakEvenDensity(64, 16),
                   without.breakEvenDensity(64, 16));
  EXPECT_DOUBLE_EQ(with.breakEvenDensity(64, 16), 50.0 / 300.0);
}
} // namespace

namespace {

// The row-group engine: the CPU's table describes groups of 2 to 4 rows; one
// threshold serves every group size, so it is at least the margin times each
// size's break-even (a group that reaches it is predicted faster whatever its
// size) and at most 1; at a group's break-even density its predicted time
// equals the CSR kernel's on its stored entries.
TEST(TileCostModel, RowGroupThresholdCoversEveryGroupSize) {
  ASSERT_EQ(cpu().getGroupMax(), 4);
  for (int64_t f : {1, 16, 24, 64, 200, 256, 1000}) {
    double threshold = cpu().groupThreshold(f);
    EXPECT_LE(threshold, 1.0) << "F=" << f;
    double largest = 0;
    for (int64_t g = 2; g <= 4; ++g) {
      double e = cpu().groupBreakEvenDensity(g, f);
      EXPECT_GT(e, 0.0) << "g=" << g << " F=" << f;
      largest = std::max(largest, e);
      EXPECT_GE(threshold + 1e-12, std::min(1.0, cpu().getSafetyMargin() * e))
          << "g=" << g << " F=" << f;
      int64_t elements = g * 40, n = 2000;
      double stored = e * double(elements);
      EXPECT_NEAR(cpu().groupSeconds(g, elements, f, n),
                  2.0 * stored * f / (cpu().spmmGflops(f, n) * 1e9), 1e-12)
          << "g=" << g << " F=" << f;
    }
    EXPECT_NEAR(threshold, std::min(1.0, cpu().getSafetyMargin() * largest),
                1e-12)
        << "F=" << f;
    EXPECT_LE(threshold, cpu().groupThresholdAnyWidth() + 1e-12);
  }
}

} // namespace
