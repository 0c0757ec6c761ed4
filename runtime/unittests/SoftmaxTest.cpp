//===- SoftmaxTest.cpp - lathe_rt_softmax_f32 against a reference ---------===//

#include "TestUtils.h"

#include <algorithm>
#include <functional>
#include <limits>

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

/// softmax(where(mask == maskedWhen, fill, x)) along the last dimension, in
/// double; `maskAt(flat index of x)` reads the broadcast mask.
std::vector<double> refMaskedSoftmax(const std::vector<float> &x, int64_t len,
                                     const std::function<bool(int64_t)> &maskAt,
                                     bool maskedWhen, float fill) {
  std::vector<float> masked(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    masked[i] = maskAt(static_cast<int64_t>(i)) == maskedWhen ? fill : x[i];
  return refSoftmax(masked, {static_cast<int64_t>(x.size()) / len, len}, 1);
}

/// Attention scores [B, H, L, S] with a padding mask [B, S] (true = masked,
/// -inf), over enough rows for several cache blocks and both threads.
TEST_F(SoftmaxTest, MaskedPaddingMaskBroadcastOverHeadsAndRows) {
  const int64_t b = 4, h = 8, l = 64, s = 128;
  auto x = randomVector(b * h * l * s, 40, -4.f, 4.f);
  std::vector<uint8_t> mask(b * s);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < s; ++j)
      mask[i * s + j] = j >= s - 16 * (i + 1); // the last 16(i+1) keys padded
  auto maskAt = [&](int64_t flat) {
    return mask[(flat / (h * l * s)) * s + flat % s] != 0;
  };
  const float ninf = -std::numeric_limits<float>::infinity();
  auto ref = refMaskedSoftmax(x, s, maskAt, true, ninf);
  std::vector<float> y(x.size(), 7.f);
  MemRef mx(x.data(), {b, h, l, s}), my(y.data(), {b, h, l, s}),
      mm(reinterpret_cast<float *>(mask.data()), {b, s});
  // Mask dimension 0 is input dimension 0, mask dimension 1 is dimension 3.
  lathe_rt_masked_softmax_f32(4, mx.desc(), 2, mm.desc(), 4, my.desc(), ninf, 3,
                              0 | 3 << 4, 1);
  EXPECT_EQ(takePending(), "");
  expectClose(y, ref, 1e-5);
  // Masked keys get exactly 0.
  EXPECT_EQ(y[s - 1], 0.f);

  // In place.
  std::vector<float> z = x;
  MemRef mz(z.data(), {b, h, l, s});
  lathe_rt_masked_softmax_f32(4, mz.desc(), 2, mm.desc(), 4, mz.desc(), ninf, 3,
                              0 | 3 << 4, 1);
  EXPECT_EQ(takePending(), "");
  expectClose(z, ref, 1e-5);
}

/// A causal mask [1, 1, L, L] (true = keep, the tril buffer), unit
/// dimensions broadcast, a finite fill; a strided input; and a row with
/// every key masked by -inf, which is NaN as in the reference pipeline.
TEST_F(SoftmaxTest, MaskedCausalKeepWhereTrueAndFullyMaskedRow) {
  const int64_t h = 3, l = 10;
  auto x = randomVector(h * l * l, 41, -3.f, 3.f);
  std::vector<uint8_t> tril(l * l);
  for (int64_t i = 0; i < l; ++i)
    for (int64_t j = 0; j < l; ++j)
      tril[i * l + j] = j <= i;
  auto maskAt = [&](int64_t flat) { return tril[flat % (l * l)] != 0; };
  auto ref = refMaskedSoftmax(x, l, maskAt, false, -1e9f);
  // The input read through a padded row stride.
  std::vector<float> padded(h * l * 16, 99.f);
  for (int64_t r = 0; r < h * l; ++r)
    std::copy(x.begin() + r * l, x.begin() + (r + 1) * l,
              padded.begin() + r * 16);
  std::vector<float> y(x.size(), 7.f);
  MemRef mp(padded.data(), {h, l, l}, {l * 16, 16, 1}), my(y.data(), {h, l, l}),
      mm(reinterpret_cast<float *>(tril.data()), {1, l, l});
  lathe_rt_masked_softmax_f32(3, mp.desc(), 3, mm.desc(), 3, my.desc(), -1e9f,
                              2, 0xF | 1 << 4 | 2 << 8, 0);
  EXPECT_EQ(takePending(), "");
  expectClose(y, ref, 1e-5);

  // Every key masked by -inf: no finite score in any row.
  std::vector<uint8_t> none(l * l, 0);
  MemRef mn(reinterpret_cast<float *>(none.data()), {l, l});
  const float ninf = -std::numeric_limits<float>::infinity();
  lathe_rt_masked_softmax_f32(3, mp.desc(), 2, mn.desc(), 3, my.desc(), ninf, 2,
                              1 | 2 << 4, 0);
  EXPECT_EQ(takePending(), "");
  for (float v : y)
    EXPECT_TRUE(std::isnan(v));
}

/// A mask whose size does not match the input is an error, not a crash.
TEST_F(SoftmaxTest, MaskedRejectsMismatchedMask) {
  std::vector<float> x(2 * 4), y(2 * 4);
  std::vector<uint8_t> mask(3);
  MemRef mx(x.data(), {2, 4}), my(y.data(), {2, 4}),
      mm(reinterpret_cast<float *>(mask.data()), {3});
  lathe_rt_masked_softmax_f32(2, mx.desc(), 1, mm.desc(), 2, my.desc(), 0.f, 1,
                              1, 1);
  EXPECT_NE(takePending().find("mask"), std::string::npos);
}

} // namespace
