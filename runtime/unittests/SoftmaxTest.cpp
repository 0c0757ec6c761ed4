//===- SoftmaxTest.cpp - lathe_rt_softmax_f32 against a reference ---------===//

#include "TestUtils.h"

#include <algorithm>

using namespace lathe::test;

namespace {

/// Softmax of a row-major tensor of `shape` along `axis`, in double.
std::vector<double> refSoftmax(const std::vector<float> &x,
                               const std::vector<int64_t> &shape,
                               int64_t axis) {
  int64_t outer = 1, inner = 1, len = shape[axis];
  for (int64_t i = 0; i < axis; ++i)
    outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i)
    inner *= shape[i];
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      auto at = [&](int64_t j) { return (o * len + j) * inner + in; };
      double mx = -INFINITY;
      for (int64_t j = 0; j < len; ++j)
        mx = std::max(mx, double(x[at(j)]));
      double sum = 0;
      for (int64_t j = 0; j < len; ++j)
        sum += std::exp(double(x[at(j)]) - mx);
      for (int64_t j = 0; j < len; ++j)
        y[at(j)] = std::exp(double(x[at(j)]) - mx) / sum;
    }
  return y;
}

class SoftmaxTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_EQ(takePending(), ""); }
};

TEST_F(SoftmaxTest, EveryAxisOf3D) {
  std::vector<int64_t> shape = {3, 5, 7};
  auto x = randomVector(3 * 5 * 7, 30, -4.f, 4.f);
  for (int64_t axis : {0, 1, 2, -1}) {
    std::vector<float> y(x.size());
    MemRef mx(x.data(), shape), my(y.data(), shape);
    lathe_rt_softmax_f32(3, mx.desc(), 3, my.desc(), axis);
    EXPECT_EQ(takePending(), "");
    SCOPED_TRACE(axis);
    expectClose(y, refSoftmax(x, shape, axis < 0 ? axis + 3 : axis), 1e-5);
  }
}

TEST_F(SoftmaxTest, LargeValuesAreStable) {
  std::vector<float> x = {1000.f, 1001.f, 1002.f, -1000.f};
  std::vector<float> y(4);
  MemRef mx(x.data(), {1, 4}), my(y.data(), {1, 4});
  lathe_rt_softmax_f32(2, mx.desc(), 2, my.desc(), 1);
  EXPECT_EQ(takePending(), "");
  expectClose(y, refSoftmax(x, {1, 4}, 1), 1e-5);
}

TEST_F(SoftmaxTest, DifferentStridesAndInPlace) {
  const int64_t r = 6, c = 10;
  auto x = randomVector(r * c, 31, -3.f, 3.f);
  auto ref = refSoftmax(x, {r, c}, 1);
  // Output is a transposed view: out[i][j] lives at j*r + i.
  std::vector<float> yt(r * c);
  MemRef mx(x.data(), {r, c}), myt(yt.data(), {r, c}, {1, r});
  lathe_rt_softmax_f32(2, mx.desc(), 2, myt.desc(), 1);
  EXPECT_EQ(takePending(), "");
  std::vector<float> y(r * c);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j)
      y[i * c + j] = yt[j * r + i];
  expectClose(y, ref, 1e-5);

  // Input with a padded row stride, output dense.
  std::vector<float> padded(r * 16, 99.f);
  for (int64_t i = 0; i < r; ++i)
    std::copy(x.begin() + i * c, x.begin() + (i + 1) * c,
              padded.begin() + i * 16);
  MemRef mp(padded.data(), {r, c}, {16, 1}), my(y.data(), {r, c});
  lathe_rt_softmax_f32(2, mp.desc(), 2, my.desc(), 1);
  EXPECT_EQ(takePending(), "");
  expectClose(y, ref, 1e-5);

  // In place.
  std::vector<float> z = x;
  MemRef mz(z.data(), {r, c});
  lathe_rt_softmax_f32(2, mz.desc(), 2, mz.desc(), -1);
  EXPECT_EQ(takePending(), "");
  expectClose(z, ref, 1e-5);
}

TEST_F(SoftmaxTest, EdgeCasesAndErrors) {
  float scalar = 3.f, out = 0.f;
  MemRef ms(&scalar, {}), mo(&out, {});
  lathe_rt_softmax_f32(0, ms.desc(), 0, mo.desc(), 0);
  EXPECT_EQ(takePending(), "");
  EXPECT_EQ(out, 1.f);

  std::vector<float> x(4), y(4);
  MemRef me(x.data(), {0, 4}), mye(y.data(), {0, 4});
  lathe_rt_softmax_f32(2, me.desc(), 2, mye.desc(), 1);
  EXPECT_EQ(takePending(), "");

  MemRef mx(x.data(), {2, 2}), my(y.data(), {4});
  lathe_rt_softmax_f32(2, mx.desc(), 1, my.desc(), 1);
  EXPECT_NE(takePending().find("lathe_rt_softmax_f32"), std::string::npos);
  MemRef my2(y.data(), {2, 2});
  lathe_rt_softmax_f32(2, mx.desc(), 2, my2.desc(), 2);
  EXPECT_NE(takePending().find("axis"), std::string::npos);
}

} // namespace
