//===- LatencyModelTest.cpp - lowrank target latency models ---------------===//
//
// The model is read from a `lowrank` table (a dictionary, as the module's
// #lathe.target carries it); tables are written here in attribute syntax.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/LowRank/LatencyModel.h"
#include "lathe/Interfaces/Target.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::lowrank;

namespace {

/// Reads `table` (a dictionary in attribute syntax) as the lowrank table of
/// a target named "t"; `error` gets the diagnostic on failure.
FailureOr<LatencyModel> readTable(const char *table, std::string &error) {
  static MLIRContext context;
  error.clear();
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    error = d.str();
    return success();
  });
  auto dict = dyn_cast_or_null<DictionaryAttr>(parseAttribute(table, &context));
  if (!dict) {
    error = "not a dictionary";
    return failure();
  }
  OpBuilder b(&context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
  return readLatencyModel(lathe::TargetTable(*module, "t", "lowrank", dict));
}

/// The roofline of the CPU's shipped table (lib/Target/CPU/
/// CpuLowRankTable.inc), without its measured rows.
const char *kCpu = "{peak_gflops = 232.1, bandwidth_gbps = 115.9, "
                   "call_overhead_us = 2.0, min_efficient_dim = 16, "
                   "granularity = 16}";

TEST(LatencyModel, CpuRooflineIsMonotone) {
  std::string error;
  FailureOr<LatencyModel> model = readTable(kCpu, error);
  ASSERT_TRUE(succeeded(model)) << error;
  EXPECT_EQ(model->name, "t");
  EXPECT_EQ(model->granularity, 16);
  // Monotone in every size, and never below the per-call overhead.
  double small = model->matmulUs(64, 64, 64);
  EXPECT_GE(small, model->callOverheadUs);
  EXPECT_LT(small, model->matmulUs(64, 128, 64));
  EXPECT_LT(small, model->matmulUs(128, 64, 64));
  EXPECT_LT(small, model->matmulUs(64, 64, 128));
  // Large, well-shaped GEMMs run at the peak: 2·M·N·K / peak.
  double big = model->matmulUs(1024, 1024, 1024);
  double ideal = 2.0 * 1024 * 1024 * 1024 / (model->peakGflops * 1e3);
  EXPECT_NEAR(big, ideal + model->callOverheadUs, 1e-6 * ideal);
}

TEST(LatencyModel, SkinnyGemmsPayTheEfficiencyRamp) {
  std::string error;
  FailureOr<LatencyModel> model = readTable(kCpu, error);
  ASSERT_TRUE(succeeded(model)) << error;
  // Halving N below minEfficientDim does not halve the compute time.
  int64_t d = model->minEfficientDim;
  double half = model->matmulUs(4096, d / 2, 1024) - model->callOverheadUs;
  double full = model->matmulUs(4096, d, 1024) - model->callOverheadUs;
  EXPECT_NEAR(half, full, 1e-9 * full);
}

TEST(LatencyModel, MeasuredEntriesOverrideTheRoofline) {
  std::string error;
  FailureOr<LatencyModel> model =
      readTable("{peak_gflops = 10, bandwidth_gbps = 1, call_overhead_us = 0, "
                "granularity = 8, matmul = [{m = 2, n = 3, k = 4, us = 7.5}]}",
                error);
  ASSERT_TRUE(succeeded(model)) << error;
  EXPECT_EQ(model->name, "t");
  EXPECT_EQ(model->granularity, 8);
  EXPECT_DOUBLE_EQ(model->matmulUs(2, 3, 4), 7.5);
  EXPECT_NE(model->matmulUs(3, 3, 4), 7.5);
}

TEST(LatencyModel, BadTablesNameTheKey) {
  std::string error;
  EXPECT_TRUE(failed(readTable("{bandwidth_gbps = 1}", error)));
  EXPECT_NE(error.find("target 't': table 'lowrank': key 'peak_gflops': "
                       "missing (expected a positive number)"),
            std::string::npos)
      << error;
  EXPECT_TRUE(
      failed(readTable("{peak_gflops = \"fast\", bandwidth_gbps = 1}", error)));
  EXPECT_NE(error.find("key 'peak_gflops': expected a positive number, got "
                       "\"fast\""),
            std::string::npos)
      << error;
  EXPECT_TRUE(failed(readTable(
      "{peak_gflops = 1, bandwidth_gbps = 1, call_overhead_us = -1}", error)));
  EXPECT_NE(error.find("key 'call_overhead_us': expected a non-negative"),
            std::string::npos)
      << error;
  EXPECT_TRUE(failed(readTable(
      "{peak_gflops = 1, bandwidth_gbps = 1, granularity = 2.5}", error)));
  EXPECT_NE(error.find("key 'granularity': expected an integer >= 1"),
            std::string::npos)
      << error;
  EXPECT_TRUE(failed(readTable(
      "{peak_gflops = 1, bandwidth_gbps = 1, matmul = [{m = 1}]}", error)));
  EXPECT_NE(error.find("key 'matmul': entry 0: expected {m, n, k, us}"),
            std::string::npos)
      << error;
}

TEST(LatencyModel, MeasuredConvolutionsOverrideTheIm2colEstimate) {
  std::string error;
  FailureOr<LatencyModel> model = readTable(
      "{peak_gflops = 10, bandwidth_gbps = 1, conv = ["
      "{n = 2, c = 3, h = 9, w = 9, f = 4, kh = 3, kw = 3, sh = 2, sw = 2, "
      "us = 11.5}, "
      "{n = 2, c = 3, h = 9, w = 9, f = 4, kh = 3, kw = 3, us = 12.5}]}",
      error);
  ASSERT_TRUE(succeeded(model)) << error;
  ConvShape strided{2, 3, 9, 9, 4, 3, 3, 2, 2, 1, 1};
  ConvShape unit{2, 3, 9, 9, 4, 3, 3, 1, 1, 1, 1};
  EXPECT_EQ(strided.outH(), 4);
  EXPECT_EQ(unit.outW(), 7);
  EXPECT_TRUE(model->hasMeasuredConv(strided));
  EXPECT_DOUBLE_EQ(model->convUs(strided), 11.5);
  // Strides default to 1 when the entry omits them.
  EXPECT_DOUBLE_EQ(model->convUs(unit), 12.5);
  // Unmeasured: the im2col matmul [n·oh·ow, c·kh·kw]·[c·kh·kw, f].
  ConvShape other = unit;
  other.f = 8;
  EXPECT_FALSE(model->hasMeasuredConv(other));
  EXPECT_DOUBLE_EQ(model->convUs(other), model->matmulUs(2 * 7 * 7, 8, 27));
}

TEST(LatencyModel, TuckerShapesAreWhatLowrankLowerEmits) {
  // [Cout=32, Cin=16, 3, 3] on a padded 2x16x10x10 input, stride 2.
  ConvShape dense{2, 16, 10, 10, 32, 3, 3, 2, 2, 1, 1};
  std::array<ConvShape, 3> parts = tuckerConvShapes(dense, 8);
  ConvShape in{2, 16, 10, 10, 8, 1, 1, 1, 1, 1, 1};
  ConvShape core{2, 8, 10, 10, 8, 3, 3, 2, 2, 1, 1};
  ConvShape out{2, 8, 4, 4, 32, 1, 1, 1, 1, 1, 1};
  EXPECT_EQ(parts[0].key(), in.key());
  EXPECT_EQ(parts[1].key(), core.key());
  EXPECT_EQ(parts[2].key(), out.key());
  // 16·r + 9·r² + 32·r < 4608: r = 8, 16 (3072); 24 > min(16, 32).
  EXPECT_EQ(tuckerCandidateRanks(32, 16, 9, 8), (std::vector<int64_t>{8, 16}));
  // Full rank with Cin = Cout never saves.
  EXPECT_TRUE(tuckerCandidateRanks(4, 4, 9, 4).empty());
  // r·(64 + 48) < 3072: r = 16 only at granularity 16; 8, 16, 24 at 8.
  EXPECT_EQ(linearCandidateRanks(64, 48, 16), (std::vector<int64_t>{16}));
  EXPECT_EQ(linearCandidateRanks(64, 48, 8), (std::vector<int64_t>{8, 16, 24}));
}

TEST(LatencyModel, BadConvEntriesFailWithAReason) {
  std::string error;
  EXPECT_TRUE(failed(
      readTable("{peak_gflops = 1, bandwidth_gbps = 1, conv = 3}", error)));
  EXPECT_NE(error.find("key 'conv': expected an array of dictionaries"),
            std::string::npos)
      << error;
  // Missing "f".
  EXPECT_TRUE(failed(
      readTable("{peak_gflops = 1, bandwidth_gbps = 1, conv = [{n = 1, c = 1, "
                "h = 3, w = 3, kh = 1, kw = 1, us = 1}]}",
                error)));
  EXPECT_NE(error.find("key 'conv': entry 0:"), std::string::npos) << error;
  // The window does not fit; a negative latency; a fractional size.
  for (const char *entry :
       {"{n = 1, c = 1, h = 2, w = 3, f = 1, kh = 3, kw = 1, us = 1}",
        "{n = 1, c = 1, h = 3, w = 3, f = 1, kh = 1, kw = 1, us = -1}",
        "{n = 1.5, c = 1, h = 3, w = 3, f = 1, kh = 1, kw = 1, us = 1}",
        "{n = 1, c = 1, h = 3, w = 3, f = 1, kh = 1, kw = 1, sh = 0, us = "
        "1}"}) {
    std::string table =
        std::string("{peak_gflops = 1, bandwidth_gbps = 1, conv = [") + entry +
        "]}";
    EXPECT_TRUE(failed(readTable(table.c_str(), error))) << entry;
    EXPECT_NE(error.find("key 'conv': entry 0:"), std::string::npos) << error;
  }
}

} // namespace
