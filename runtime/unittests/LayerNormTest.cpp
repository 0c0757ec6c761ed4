//===- LayerNormTest.cpp - lathe_rt_layer_norm_f32 vs a naive reference ---===//

#include "TestUtils.h"

using namespace lathe::test;

namespace {

/// Layer norm of each row of x ([rows, n], given by an accessor) in double.
std::vector<double>
refLayerNorm(int64_t rows, int64_t n,
             const std::function<double(int64_t, int64_t)> &x,
             const float *gamma, const float *beta, double eps) {
  std::vector<double> out(static_cast<size_t>(rows * n));
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < n; ++j)
      mean += x(r, j);
    mean /= n;
    for (int64_t j = 0; j < n; ++j)
      var += (x(r, j) - mean) * (x(r, j) - mean);
    var /= n;
    for (int64_t j = 0; j < n; ++j)
      out[r * n + j] =
          (x(r, j) - mean) / std::sqrt(var + eps) * (gamma ? gamma[j] : 1.0) +
          (beta ? beta[j] : 0.0);
  }
  return out;
}

void layerNorm(MemRef &x, MemRef *gamma, MemRef *beta, MemRef &out, float eps) {
  int64_t flags =
      (gamma ? LATHE_LN_HAS_GAMMA : 0) | (beta ? LATHE_LN_HAS_BETA : 0);
  MemRef &g = gamma ? *gamma : out;
  MemRef &b = beta ? *beta : out;
  lathe_rt_layer_norm_f32(x.rank(), x.desc(), g.rank(), g.desc(), b.rank(),
                          b.desc(), out.rank(), out.desc(), eps, flags);
}

class LayerNormTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_EQ(takePending(), ""); }
  void TearDown() override { EXPECT_EQ(takePending(), ""); }
};

TEST_F(LayerNormTest, Rank3WithGammaBeta) {
  const int64_t b = 3, s = 7, n = 256;
  // Rows with an offset and a small spread, so that eps matters.
  auto x = randomVector(b * s * n, 40, 4.9f, 5.1f);
  auto gamma = randomVector(n, 41, 0.5f, 1.5f), beta = randomVector(n, 42);
  std::vector<float> out(x.size(), 7.f);
  MemRef mx(x.data(), {b, s, n}), mg(gamma.data(), {n}), mb(beta.data(), {n}),
      mo(out.data(), {b, s, n});
  layerNorm(mx, &mg, &mb, mo, 1e-3f);
  expectClose(out,
              refLayerNorm(
                  b * s, n, [&](int64_t r, int64_t j) { return x[r * n + j]; },
                  gamma.data(), beta.data(), 1e-3f));
}

TEST_F(LayerNormTest, StridedInputInPlaceAndNoParams) {
  const int64_t rows = 5, n = 33;
  // x is the transposed view of a [n, rows] buffer.
  auto xt = randomVector(n * rows, 43);
  std::vector<float> out(rows * n);
  MemRef mx(xt.data(), {rows, n}, {1, rows}), mo(out.data(), {rows, n});
  layerNorm(mx, nullptr, nullptr, mo, 1e-5f);
  auto ref = refLayerNorm(
      rows, n, [&](int64_t r, int64_t j) { return xt[j * rows + r]; }, nullptr,
      nullptr, 1e-5f);
  expectClose(out, ref);
  // In place, with only beta.
  auto beta = randomVector(n, 44);
  std::vector<float> y(out);
  MemRef my(y.data(), {rows, n}), mb(beta.data(), {n});
  std::vector<float> copy(y);
  layerNorm(my, nullptr, &mb, my, 0.f);
  expectClose(y, refLayerNorm(
                     rows, n,
                     [&](int64_t r, int64_t j) { return copy[r * n + j]; },
                     nullptr, beta.data(), 0.0));
}

TEST_F(LayerNormTest, EmptyRowsAreANoOp) {
  std::vector<float> x(1), out(1, 3.f);
  MemRef mx(x.data(), {0, 8}), mo(out.data(), {0, 8});
  layerNorm(mx, nullptr, nullptr, mo, 1e-5f);
  EXPECT_EQ(out[0], 3.f);
}

TEST(LayerNormErrorTest, BadArgumentsArePendingErrors) {
  takePending();
  std::vector<float> x(12, 1.f), out(12, 3.f), g(5);
  MemRef mx(x.data(), {3, 4}), mo(out.data(), {3, 4}), mg(g.data(), {5}),
      mbad(out.data(), {4, 3});
  layerNorm(mx, &mg, nullptr, mo, 1e-5f);
  EXPECT_NE(takePending().find("gamma [5] must be [4]"), std::string::npos);
  layerNorm(mx, nullptr, nullptr, mbad, 1e-5f);
  EXPECT_NE(takePending().find("differ in shape"), std::string::npos);
  layerNorm(mx, nullptr, nullptr, mo, -1.f);
  EXPECT_NE(takePending().find("epsilon"), std::string::npos);
  lathe_rt_layer_norm_f32(mx.rank(), mx.desc(), 0, nullptr, 0, nullptr,
                          mo.rank(), mo.desc(), 1e-5f, 64);
  EXPECT_NE(takePending().find("unknown flag"), std::string::npos);
  for (float v : out)
    EXPECT_EQ(v, 3.f);
}

} // namespace
