//===- AccelSimTest.cpp - The timing model against hand-counted cycles ----===//
//
// Every expected number here is worked out by hand in the comment above it
// from the formulas in AccelSim.h, on a tiny device whose numbers make the
// arithmetic easy.

#include "lathe/runtime/AccelSim.h"

#include <gtest/gtest.h>

using namespace lathe::accel;

namespace {

Device tinyDevice() {
  Device d;
  d.name = "tiny";
  d.clockGHz = 1.0;
  d.mmeCount = 1;
  d.mmeRows = 4;
  d.mmeCols = 4;
  d.mmeF32Rate = 0.5;
  d.mmeFillCycles = 8;
  d.tpcCount = 2;
  d.tpcSimdBytes = 16; // 4 f32 lanes
  d.tpcStartupCycles = 10;
  d.tpcSoftmaxOpsPerElement = 10;
  d.tpcLayerNormOpsPerElement = 8;
  d.dmaCount = 2;
  d.dmaBytesPerCycle = 8;
  d.hbmBytesPerCycle = 4;
  d.hbmLatencyCycles = 5;
  d.sparseMacsPerCycle = 16;
  d.sparseStartupCycles = 3;
  return d;
}

Op matmul(OpKind kind, int64_t m, int64_t n, int64_t k, bool f32 = true) {
  Op op;
  op.kind = kind;
  op.m = m;
  op.n = n;
  op.k = k;
  op.f32 = f32;
  return op;
}

TEST(AccelSimCost, MmeTile) {
  Device d = tinyDevice();
  // ceil(6/4) * ceil(5/4) = 4 passes of k / rate = 10 / 0.5 = 20 cycles,
  // plus the fill of 8: 88. bf16 runs at full rate: 4 * 10 + 8 = 48.
  EXPECT_EQ(tileCycles(d, matmul(OpKind::MmeMatmul, 6, 5, 10)), 88);
  EXPECT_EQ(tileCycles(d, matmul(OpKind::MmeMatmul, 6, 5, 10, false)), 48);
  // A skinny product still pays whole passes: ceil(1/4) * ceil(4/4) * 20 + 8.
  EXPECT_EQ(tileCycles(d, matmul(OpKind::MmeMatmul, 1, 4, 10)), 28);
}

TEST(AccelSimCost, TpcTiles) {
  Device d = tinyDevice();
  // 2 * 3 * 4 = 24 MACs over 4 lanes = 6, plus start-up 10.
  EXPECT_EQ(tileCycles(d, matmul(OpKind::TpcMatmul, 2, 3, 4)), 16);
  // The skinny product above on a core: 1*4*10/4 = 10 + 10 = 20 < 28.
  EXPECT_EQ(tileCycles(d, matmul(OpKind::TpcMatmul, 1, 4, 10)), 20);
  Op softmax;
  softmax.kind = OpKind::TpcSoftmax;
  softmax.rows = 2;
  softmax.cols = 8;
  // 16 elements * 10 instructions / 4 lanes = 40, + 10.
  EXPECT_EQ(tileCycles(d, softmax), 50);
  Op ln = softmax;
  ln.kind = OpKind::TpcLayerNorm;
  // 16 * 8 / 4 = 32, + 10.
  EXPECT_EQ(tileCycles(d, ln), 42);
  Op ew;
  ew.kind = OpKind::TpcElementwise;
  ew.elements = 10;
  ew.opsPerElement = 3;
  // ceil(30 / 4) = 8, + 10.
  EXPECT_EQ(tileCycles(d, ew), 18);
}

TEST(AccelSimCost, DmaAndSparse) {
  Device d = tinyDevice();
  Op load;
  load.kind = OpKind::DmaLoad;
  load.bytes = 64;
  // latency 5 + max(64/8 = 8 on the engine, 64/4 = 16 on HBM) = 21; the
  // engine and HBM are busy 16 of those.
  EXPECT_EQ(tileCycles(d, load), 21);
  EXPECT_EQ(hbmCycles(d, 64), 16);
  EXPECT_EQ(dmaBusyCycles(d, 64), 16);
  Op spmm;
  spmm.kind = OpKind::SparseSpMM;
  spmm.nnz = 10;
  spmm.cols = 8;
  // 80 MACs / 16 per cycle = 5, + 3.
  EXPECT_EQ(tileCycles(d, spmm), 8);
}

/// load (64 B) -> MME (4x4x4, 12 cycles at full rate) -> store (32 B), three
/// tiles, on two DMA engines sharing one HBM.
Program pipeline(int64_t buffers) {
  Program p;
  Op load;
  load.kind = OpKind::DmaLoad;
  load.name = "load";
  load.bytes = 64;
  load.group = 0;
  load.tiles = 3;
  load.buffers = buffers;
  Op mm = matmul(OpKind::MmeMatmul, 4, 4, 4, /*f32=*/false);
  mm.name = "mm";
  mm.group = 0;
  mm.tiles = 3;
  mm.deps = {0};
  Op store;
  store.kind = OpKind::DmaStore;
  store.name = "store";
  store.bytes = 32;
  store.group = 0;
  store.tiles = 3;
  store.deps = {1};
  p.ops = {load, mm, store};
  return p;
}

TEST(AccelSimTimeline, DoubleBuffering) {
  Device d = tinyDevice();
  // Tile costs: load busy max(64/8, 64/4) = 16 on its DMA engine and HBM,
  // done 5 (latency) later = 21; compute 4 + 8 = 12; store busy max(4, 8)
  // = 8 (HBM 8), done at 13. Double buffered on the one MME: loads run up
  // to one tile ahead, the load of tile t waits for the compute of t - 2.
  //   L0 DMA0 busy [0,16] done 21, HBM [0,16]
  //   L1 DMA1 (HBM free at 16) busy [16,32] done 37, HBM [16,32]
  //   C0 [21,33]; S0 DMA0 (HBM free at 32) busy [33,41] done 46
  //   L2 (needs C0) DMA1 (HBM free at 41) busy [41,57] done 62
  //   C1 [37,49]; S1 DMA0 (HBM free at 57) busy [57,65] done 70
  //   C2 [62,74]; S2 DMA1 [74,82] done 87.
  Result r;
  std::string error;
  ASSERT_TRUE(simulate(d, pipeline(2), r, error)) << error;
  EXPECT_EQ(r.totalCycles, 87);
  EXPECT_EQ(r.bytesLoaded, 3 * 64);
  EXPECT_EQ(r.bytesStored, 3 * 32);
  // Single buffered, in tile order (the load of tile t waits for the
  // compute of t - 1):
  //   L0 [0,16] done 21; C0 [21,33]; S0 DMA1 [33,41] done 46, HBM [33,41]
  //   L1 DMA0 (HBM free at 41) [41,57] done 62; C1 [62,74]
  //   S1 DMA1 [74,82] done 87; L2 (needs C1, HBM free at 82) [82,98] done
  //   103; C2 [103,115]; S2 [115,123] done 128.
  ASSERT_TRUE(simulate(d, pipeline(1), r, error)) << error;
  EXPECT_EQ(r.totalCycles, 128);
}

TEST(AccelSimTimeline, MmeWaitsOnTpc) {
  Device d = tinyDevice();
  Program p;
  Op softmax;
  softmax.kind = OpKind::TpcSoftmax;
  softmax.name = "softmax";
  softmax.rows = 2;
  softmax.cols = 8;
  Op mm = matmul(OpKind::MmeMatmul, 6, 5, 10);
  mm.name = "mm";
  mm.deps = {0};
  p.ops = {softmax, mm};
  Result r;
  std::string error;
  ASSERT_TRUE(simulate(d, p, r, error)) << error;
  // softmax [0,50] on TPC0, the matmul [50,138]: the MME waited 50 cycles
  // on vector-core work, 50 / 138 of the run.
  EXPECT_EQ(r.totalCycles, 138);
  EXPECT_EQ(r.engines[0].name, "MME0");
  EXPECT_EQ(r.engines[0].waitCycles[int(EngineKind::TPC)], 50);
  EXPECT_NEAR(r.mmeWaitShareOnTpc, 50.0 / 138.0, 1e-12);
  // No MME is busy during the softmax's 50 cycles.
  EXPECT_NEAR(r.mmeIdleWhileTpcBusy, 50.0 / 138.0, 1e-12);
  EXPECT_NEAR(busyFraction(r, r.engines[0]), 88.0 / 138.0, 1e-12);
  // 1 us per 1000 cycles at 1 GHz.
  EXPECT_NEAR(r.timeUs, 0.138, 1e-12);
  std::string trace = chromeTrace(d, p, r);
  EXPECT_NE(trace.find("\"name\":\"tpc_softmax\""), std::string::npos);
  EXPECT_NE(trace.find("\"MME0\""), std::string::npos);
}

TEST(AccelSimTimeline, TilesSpreadOverCores) {
  Device d = tinyDevice();
  Program p;
  Op ew;
  ew.kind = OpKind::TpcElementwise;
  ew.elements = 10;
  ew.opsPerElement = 3;
  ew.tiles = 3;
  p.ops = {ew};
  Result r;
  std::string error;
  ASSERT_TRUE(simulate(d, p, r, error)) << error;
  // 18 cycles a tile; two cores: [0,18] [0,18] then [18,36]. No MME works:
  // the MMEs are idle the whole time the cores are busy.
  EXPECT_EQ(r.totalCycles, 36);
  EXPECT_NEAR(r.mmeIdleWhileTpcBusy, 1.0, 1e-12);
}

/// A sparse aggregation's blocks of rows each cost their own non-zeros.
TEST(AccelSimTimeline, PerTileNonZeros) {
  Device d = tinyDevice();
  Op spmm;
  spmm.kind = OpKind::SparseSpMM;
  spmm.cols = 8;
  spmm.nnz = 11; // the average block's
  spmm.tiles = 3;
  spmm.tileNnz = {30, 2, 0};
  // 30 * 8 / 16 = 15 + 3; 2 * 8 / 16 = 1 + 3; 0 + 3; one sparse engine:
  // 18 + 4 + 3 = 25 (three average blocks: 3 * (ceil(88 / 16) + 3) = 27).
  EXPECT_EQ(tileCycles(d, spmm, 0), 18);
  EXPECT_EQ(tileCycles(d, spmm, 1), 4);
  EXPECT_EQ(tileCycles(d, spmm, 2), 3);
  EXPECT_EQ(tileCycles(d, spmm), 9);
  Program p;
  p.ops = {spmm};
  Result r;
  std::string error;
  ASSERT_TRUE(simulate(d, p, r, error)) << error;
  EXPECT_EQ(r.totalCycles, 25);
  // On the vector cores (4 lanes, start-up 10), 2 instructions a
  // multiply-add: blocks of 240, 16 and 0: 120 + 10, 8 + 10, 0 + 10; two
  // cores: [0,130] and [0,18] [18,28]: 130.
  Op reduce;
  reduce.kind = OpKind::TpcReduce;
  reduce.elements = 86;
  reduce.opsPerElement = 2;
  reduce.tiles = 3;
  reduce.tileElements = {240, 16, 0};
  p.ops = {reduce};
  ASSERT_TRUE(simulate(d, p, r, error)) << error;
  EXPECT_EQ(r.totalCycles, 130);
  // One size per tile, or the program is refused.
  p.ops[0].tileElements = {240, 16};
  EXPECT_FALSE(simulate(d, p, r, error));
  EXPECT_NE(error.find("2 per-tile sizes for 3 tiles"), std::string::npos)
      << error;
}

TEST(AccelSimErrors, BadPrograms) {
  Device d = tinyDevice();
  Program p;
  Op a;
  a.deps = {0};
  p.ops = {a};
  Result r;
  std::string error;
  EXPECT_FALSE(simulate(d, p, r, error));
  EXPECT_NE(error.find("does not come before it"), std::string::npos);
  d.sparseMacsPerCycle = 0;
  Op s;
  s.kind = OpKind::SparseSpMM;
  p.ops = {s};
  EXPECT_FALSE(simulate(d, p, r, error));
  EXPECT_NE(error.find("has none"), std::string::npos);
}

} // namespace
