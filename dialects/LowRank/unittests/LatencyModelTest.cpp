//===- LatencyModelTest.cpp - lowrank target latency models ---------------===//

#include "lathe/Dialect/LowRank/LatencyModel.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::lowrank;

namespace {

TEST(LatencyModel, BundledCpuIsARoofline) {
  std::string error;
  FailureOr<LatencyModel> model = getLatencyModel("cpu", error);
  ASSERT_TRUE(succeeded(model)) << error;
  EXPECT_EQ(model->name, "cpu");
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
  FailureOr<LatencyModel> model = getLatencyModel("cpu", error);
  ASSERT_TRUE(succeeded(model));
  // Halving N below minEfficientDim does not halve the compute time.
  int64_t d = model->minEfficientDim;
  double half = model->matmulUs(4096, d / 2, 1024) - model->callOverheadUs;
  double full = model->matmulUs(4096, d, 1024) - model->callOverheadUs;
  EXPECT_NEAR(half, full, 1e-9 * full);
}

TEST(LatencyModel, MeasuredEntriesOverrideTheRoofline) {
  std::string error;
  FailureOr<LatencyModel> model = parseLatencyModel(
      R"({"name": "t", "peak_gflops": 10, "bandwidth_gbps": 1,
          "call_overhead_us": 0, "granularity": 8,
          "matmul": [{"m": 2, "n": 3, "k": 4, "us": 7.5}]})",
      error);
  ASSERT_TRUE(succeeded(model)) << error;
  EXPECT_EQ(model->name, "t");
  EXPECT_EQ(model->granularity, 8);
  EXPECT_DOUBLE_EQ(model->matmulUs(2, 3, 4), 7.5);
  EXPECT_NE(model->matmulUs(3, 3, 4), 7.5);
}

TEST(LatencyModel, BadDescriptionsFailWithAReason) {
  std::string error;
  EXPECT_TRUE(failed(parseLatencyModel("{", error)));
  EXPECT_NE(error.find("malformed JSON"), std::string::npos) << error;
  EXPECT_TRUE(failed(parseLatencyModel("[1, 2]", error)));
  EXPECT_NE(error.find("expected a JSON object"), std::string::npos) << error;
  EXPECT_TRUE(failed(parseLatencyModel(R"({"bandwidth_gbps": 1})", error)));
  EXPECT_NE(error.find("peak_gflops"), std::string::npos) << error;
  EXPECT_TRUE(failed(parseLatencyModel(
      R"({"peak_gflops": 1, "bandwidth_gbps": 1, "call_overhead_us": -1})",
      error)));
  EXPECT_NE(error.find("non-negative"), std::string::npos) << error;
  EXPECT_TRUE(failed(parseLatencyModel(
      R"({"peak_gflops": 1, "bandwidth_gbps": 1, "matmul": [{"m": 1}]})",
      error)));
  EXPECT_NE(error.find("{m, n, k, us}"), std::string::npos) << error;
  EXPECT_TRUE(failed(getLatencyModel("tpu", error)));
  EXPECT_NE(error.find("unknown target 'tpu'"), std::string::npos) << error;
  EXPECT_TRUE(failed(getLatencyModel("/nonexistent/t.json", error)));
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
}

TEST(LatencyModel, MeasuredConvolutionsOverrideTheIm2colEstimate) {
  std::string error;
  FailureOr<LatencyModel> model = parseLatencyModel(
      R"({"peak_gflops": 10, "bandwidth_gbps": 1,
          "conv": [{"n": 2, "c": 3, "h": 9, "w": 9, "f": 4, "kh": 3, "kw": 3,
                    "sh": 2, "sw": 2, "us": 11.5},
                   {"n": 2, "c": 3, "h": 9, "w": 9, "f": 4, "kh": 3, "kw": 3,
                    "us": 12.5}]})",
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
  EXPECT_TRUE(failed(parseLatencyModel(
      R"({"peak_gflops": 1, "bandwidth_gbps": 1, "conv": 3})", error)));
  EXPECT_NE(error.find("\"conv\" to be an array"), std::string::npos) << error;
  // Missing "f".
  EXPECT_TRUE(failed(parseLatencyModel(
      R"({"peak_gflops": 1, "bandwidth_gbps": 1,
          "conv": [{"n": 1, "c": 1, "h": 3, "w": 3, "kh": 1, "kw": 1,
                    "us": 1}]})",
      error)));
  EXPECT_NE(error.find("(entry 0)"), std::string::npos) << error;
  // The window does not fit; a negative latency; a fractional size.
  for (
      const char *entry :
      {R"({"n": 1, "c": 1, "h": 2, "w": 3, "f": 1, "kh": 3, "kw": 1, "us": 1})",
       R"({"n": 1, "c": 1, "h": 3, "w": 3, "f": 1, "kh": 1, "kw": 1, "us": -1})",
       R"({"n": 1.5, "c": 1, "h": 3, "w": 3, "f": 1, "kh": 1, "kw": 1, "us": 1})",
       R"({"n": 1, "c": 1, "h": 3, "w": 3, "f": 1, "kh": 1, "kw": 1, "sh": 0,
            "us": 1})"}) {
    std::string json =
        std::string(R"({"peak_gflops": 1, "bandwidth_gbps": 1, "conv": [)") +
        entry + "]}";
    EXPECT_TRUE(failed(parseLatencyModel(json, error))) << entry;
    EXPECT_NE(error.find("\"conv\" entry"), std::string::npos) << error;
  }
}

} // namespace
