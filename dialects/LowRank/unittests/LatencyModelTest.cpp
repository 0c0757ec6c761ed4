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

} // namespace
