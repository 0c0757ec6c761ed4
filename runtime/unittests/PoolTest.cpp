//===- PoolTest.cpp - lathe_rt_pool2d_f32 against a naive reference -------===//

#include "TestUtils.h"

#include <cmath>
#include <limits>

using namespace lathe::test;

namespace {

struct PoolShape {
  int64_t n, c, h, w; // Input (logical NCHW).
  int64_t kh, kw, sh, sw, dh, dw;
  int64_t oh, ow; // Output (may be smaller than the input allows).
  /// lathe_rt_pool2d_padded_f32 with this top and left padding (-inf; the
  /// windows may read past the end of the input too).
  bool padded = false;
  int64_t ph = 0, pw = 0;
};

/// Naive max pooling on logical NCHW data, result as NCHW.
std::vector<double> refPool(const PoolShape &s, const std::vector<float> &x) {
  std::vector<double> y(s.n * s.c * s.oh * s.ow);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t oh = 0; oh < s.oh; ++oh)
        for (int64_t ow = 0; ow < s.ow; ++ow) {
          double m = -std::numeric_limits<double>::infinity();
          for (int64_t i = 0; i < s.kh; ++i)
            for (int64_t j = 0; j < s.kw; ++j) {
              int64_t ih = oh * s.sh + i * s.dh - s.ph,
                      iw = ow * s.sw + j * s.dw - s.pw;
              if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w)
                continue; // -inf padding
              m = std::max(m, double(x[((n * s.c + c) * s.h + ih) * s.w + iw]));
            }
          y[((n * s.c + c) * s.oh + oh) * s.ow + ow] = m;
        }
  return y;
}

std::vector<float> toNhwc(const std::vector<float> &x, int64_t n, int64_t c,
                          int64_t h, int64_t w) {
  std::vector<float> out(x.size());
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < c; ++b)
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j)
          out[((a * h + i) * w + j) * c + b] = x[((a * c + b) * h + i) * w + j];
  return out;
}

/// NCHW -> channel-blocked [N, C/b, H, W, b] (b = C: NHWC memory order).
std::vector<float> toBlocked(const std::vector<float> &x, int64_t n, int64_t c,
                             int64_t h, int64_t w, int64_t b) {
  std::vector<float> out(x.size());
  for (int64_t a = 0; a < n; ++a)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j)
          out[(((a * (c / b) + ch / b) * h + i) * w + j) * b + ch % b] =
              x[((a * c + ch) * h + i) * w + j];
  return out;
}

class PoolTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_EQ(takePending(), ""); }
  void TearDown() override {
    EXPECT_EQ(takePending(), "");
    lathe_rt_clear_caches();
  }

  void check(const PoolShape &s, unsigned seed) {
    auto x = randomVector(s.n * s.c * s.h * s.w, seed);
    auto ref = refPool(s, x);
    auto xh = toNhwc(x, s.n, s.c, s.h, s.w);
    // Layouts: NCHW, NHWC, channel-blocked by 16 (nChw16c, where the
    // channels allow it) and by all channels ([N, 1, H, W, C]).
    for (int mode : {0, 1, 2, 3}) {
      if (mode == 2 && s.c % 16 != 0)
        continue;
      SCOPED_TRACE("layout mode " + std::to_string(mode));
      bool nhwc = mode == 1, blocked = mode >= 2;
      int64_t b = mode == 2 ? 16 : s.c;
      int64_t layout =
          blocked
              ? int64_t(LATHE_CONV_BLOCKED_INPUT | LATHE_CONV_BLOCKED_OUTPUT)
              : mode;
      int64_t rank = blocked ? 5 : 4;
      std::vector<float> xb =
          blocked ? toBlocked(x, s.n, s.c, s.h, s.w, b) : std::vector<float>();
      std::vector<float> y(s.n * s.c * s.oh * s.ow, 123.f);
      MemRef mx = blocked ? MemRef(xb.data(), {s.n, s.c / b, s.h, s.w, b})
                  : nhwc  ? MemRef(xh.data(), {s.n, s.h, s.w, s.c})
                          : MemRef(x.data(), {s.n, s.c, s.h, s.w});
      MemRef my = blocked ? MemRef(y.data(), {s.n, s.c / b, s.oh, s.ow, b})
                  : nhwc  ? MemRef(y.data(), {s.n, s.oh, s.ow, s.c})
                          : MemRef(y.data(), {s.n, s.c, s.oh, s.ow});
      for (int rep = 0; rep < 2; ++rep) { // The second call hits the cache.
        if (s.padded)
          lathe_rt_pool2d_padded_f32(rank, mx.desc(), rank, my.desc(), layout,
                                     LATHE_POOL_MAX, s.kh, s.kw, s.sh, s.sw,
                                     s.dh, s.dw, s.ph, s.pw, 0);
        else
          lathe_rt_pool2d_f32(rank, mx.desc(), rank, my.desc(), layout,
                              LATHE_POOL_MAX, s.kh, s.kw, s.sh, s.sw, s.dh,
                              s.dw, 0);
        ASSERT_EQ(takePending(), "");
        std::vector<float> got = mode == 0 ? y : std::vector<float>(y.size());
        for (int64_t n = 0; mode != 0 && n < s.n; ++n)
          for (int64_t c = 0; c < s.c; ++c)
            for (int64_t h = 0; h < s.oh; ++h)
              for (int64_t w = 0; w < s.ow; ++w)
                got[((n * s.c + c) * s.oh + h) * s.ow + w] =
                    nhwc ? y[((n * s.oh + h) * s.ow + w) * s.c + c]
                         : y[(((n * (s.c / b) + c / b) * s.oh + h) * s.ow + w) *
                                 b +
                             c % b];
        // A window of -inf padding only is -inf (ASSERT_NEAR takes no
        // infinities).
        std::vector<double> want = ref;
        for (size_t i = 0; i < want.size(); ++i)
          if (std::isinf(want[i])) {
            EXPECT_EQ(got[i], -std::numeric_limits<float>::infinity()) << i;
            want[i] = got[i] = 0;
          }
        expectClose(got, want, 0.0);
      }
    }
  }
};

TEST_F(PoolTest, TwoByTwoStrideTwo) {
  check({8, 32, 30, 30, 2, 2, 2, 2, 1, 1, 15, 15}, 1);
  check({2, 5, 13, 13, 2, 2, 2, 2, 1, 1, 6, 6}, 2); // Odd: last row unused.
}

TEST_F(PoolTest, OverlappingDilatedNonSquare) {
  check({1, 3, 9, 11, 3, 2, 1, 2, 1, 1, 7, 5}, 3);
  check({2, 4, 10, 10, 2, 3, 2, 1, 2, 2, 4, 6}, 4);
}

TEST_F(PoolTest, PaddedTakesNoPadding) {
  // ResNet's stem pooling: 3x3 / 2, padding 1 on every side.
  check({1, 8, 16, 16, 3, 3, 2, 2, 1, 1, 8, 8, true, 1, 1}, 7);
  // ceil_mode: no padding before, the last windows read past the end.
  check({2, 3, 13, 11, 2, 2, 2, 2, 1, 1, 7, 6, true, 0, 0}, 8);
  // Unequal, dilated, a window of padding only (-inf, not oneDNN's -FLT_MAX).
  check({1, 2, 7, 9, 2, 3, 2, 1, 2, 1, 5, 9, true, 3, 1}, 9);
}

TEST_F(PoolTest, PaddedBlockedStem) {
  // ResNet's stem pooling on a map of 32 channels: two nChw16c blocks.
  check({2, 32, 14, 14, 3, 3, 2, 2, 1, 1, 7, 7, true, 1, 1}, 10);
}

TEST_F(PoolTest, SmallerOutputThanAllowed) {
  check({1, 2, 12, 12, 2, 2, 2, 2, 1, 1, 3, 4}, 5);
}

TEST_F(PoolTest, StridedInputView) {
  // Every other channel of a [1, 8, 6, 6] buffer, pooled 2x2/2.
  PoolShape s{1, 4, 6, 6, 2, 2, 2, 2, 1, 1, 3, 3};
  auto base = randomVector(8 * 36, 6);
  std::vector<float> x(4 * 36);
  for (int64_t c = 0; c < 4; ++c)
    for (int64_t i = 0; i < 36; ++i)
      x[c * 36 + i] = base[2 * c * 36 + i];
  std::vector<float> y(4 * 9);
  MemRef mx(base.data(), {1, 4, 6, 6}, {8 * 36, 72, 6, 1});
  MemRef my(y.data(), {1, 4, 3, 3});
  lathe_rt_pool2d_f32(4, mx.desc(), 4, my.desc(), 0, LATHE_POOL_MAX, 2, 2, 2, 2,
                      1, 1, 0);
  ASSERT_EQ(takePending(), "");
  expectClose(y, refPool(s, x), 0.0);
}

TEST_F(PoolTest, AccumulateKeepsLargerOutput) {
  PoolShape s{1, 2, 4, 4, 2, 2, 2, 2, 1, 1, 2, 2};
  auto x = randomVector(32, 7);
  auto ref = refPool(s, x);
  std::vector<float> y(8);
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = i % 2 ? 5.f : -5.f; // Odd positions beat any pooled value.
  MemRef mx(x.data(), {1, 2, 4, 4}), my(y.data(), {1, 2, 2, 2});
  lathe_rt_pool2d_f32(4, mx.desc(), 4, my.desc(), 0, LATHE_POOL_MAX, 2, 2, 2, 2,
                      1, 1, LATHE_POOL_ACCUMULATE);
  ASSERT_EQ(takePending(), "");
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_EQ(y[i], i % 2 ? 5.f : float(ref[i])) << i;
}

TEST_F(PoolTest, BadArgumentsArePendingErrors) {
  std::vector<float> x(1 * 2 * 4 * 4), y(1 * 2 * 3 * 3, 7.f);
  MemRef mx(x.data(), {1, 2, 4, 4}), my(y.data(), {1, 2, 3, 3});
  // 3 outputs with stride 2 read 6 rows; the input has 4.
  lathe_rt_pool2d_f32(4, mx.desc(), 4, my.desc(), 0, LATHE_POOL_MAX, 2, 2, 2, 2,
                      1, 1, 0);
  std::string msg = takePending();
  EXPECT_NE(msg.find("lathe_rt_pool2d_f32"), std::string::npos) << msg;
  EXPECT_NE(msg.find("reads 6 input rows"), std::string::npos) << msg;
  lathe_rt_pool2d_f32(4, mx.desc(), 4, my.desc(), 0, 7, 2, 2, 1, 1, 1, 1, 0);
  EXPECT_NE(takePending().find("pooling kind 7"), std::string::npos);
  lathe_rt_pool2d_f32(4, mx.desc(), 4, my.desc(), 0, LATHE_POOL_MAX, 0, 2, 1, 1,
                      1, 1, 0);
  EXPECT_NE(takePending().find("window"), std::string::npos);
  lathe_rt_pool2d_f32(4, mx.desc(), 4, my.desc(), 3, LATHE_POOL_MAX, 2, 2, 1, 1,
                      1, 1, 0);
  EXPECT_NE(takePending().find("layout"), std::string::npos);
  MemRef other(y.data(), {1, 3, 3, 3});
  lathe_rt_pool2d_f32(4, mx.desc(), 4, other.desc(), 0, LATHE_POOL_MAX, 2, 2, 1,
                      1, 1, 1, 0);
  EXPECT_NE(takePending().find("channels"), std::string::npos);
  for (float v : y)
    EXPECT_EQ(v, 7.f);
}

} // namespace
