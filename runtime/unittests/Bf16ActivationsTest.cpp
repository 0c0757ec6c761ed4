//===- Bf16ActivationsTest.cpp - kernels reading and writing bf16 ---------===//
//
// The bf16 operands of lathe-cpu-bf16-activations (LATHE_CONV_BF16_*,
// LATHE_MM_A_BF16 / LATHE_MM_C_BF16, LATHE_POOL_BF16) against float64
// references computed from the bf16-rounded inputs (and, for the products,
// bf16-rounded weights: the kernels multiply in bf16), within the rounding
// of the bf16 result. Skipped where oneDNN has no bf16 instructions.
//
//===----------------------------------------------------------------------===//

#include "TestUtils.h"

#include "lathe/runtime/Bf16.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace lathe::test;

namespace {

/// A memref descriptor over bf16 elements (the descriptor does not say the
/// type; the call's flags do).
MemRef bf16MemRef(std::vector<uint16_t> &data, std::vector<int64_t> sizes,
                  std::vector<int64_t> strides = {}, int64_t offset = 0) {
  return MemRef(reinterpret_cast<float *>(data.data()), std::move(sizes),
                std::move(strides), offset);
}

/// |actual - expected| within the rounding of a bf16 result (2^-8
/// relative) plus f32 accumulation error, relative to max(1, |expected|).
void expectBf16Close(const std::vector<float> &actual,
                     const std::vector<double> &expected) {
  expectClose(actual, expected, /*tol=*/8e-3);
}

class Bf16ActivationsTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!lathe_rt_cpu_has_bf16())
      GTEST_SKIP() << "oneDNN has no bf16 instructions on this CPU";
    ASSERT_EQ(takePending(), "");
  }
  void TearDown() override {
    EXPECT_EQ(takePending(), "");
    lathe_rt_clear_caches();
  }
};

constexpr int64_t kN = 2, kC = 32, kH = 8, kW = 8, kF = 48, kK = 3;

/// relu(conv(x, w) + bias + residual) with padding 1, stride 1, x and the
/// output [N, H, W, C] (channels-last), w [F, C, K, K], in float64.
std::vector<double> refConvNhwc(const std::vector<float> &x,
                                const std::vector<float> &w,
                                const std::vector<float> &bias,
                                const std::vector<float> *residual) {
  std::vector<double> y(kN * kH * kW * kF);
  for (int64_t n = 0; n < kN; ++n)
    for (int64_t oh = 0; oh < kH; ++oh)
      for (int64_t ow = 0; ow < kW; ++ow)
        for (int64_t f = 0; f < kF; ++f) {
          double acc = bias[f];
          for (int64_t c = 0; c < kC; ++c)
            for (int64_t i = 0; i < kK; ++i)
              for (int64_t j = 0; j < kK; ++j) {
                int64_t ih = oh - 1 + i, iw = ow - 1 + j;
                if (ih < 0 || ih >= kH || iw < 0 || iw >= kW)
                  continue;
                acc += double(x[((n * kH + ih) * kW + iw) * kC + c]) *
                       double(w[((f * kC + c) * kK + i) * kK + j]);
              }
          int64_t at = ((n * kH + oh) * kW + ow) * kF + f;
          if (residual)
            acc += (*residual)[at];
          y[at] = acc > 0 ? acc : 0;
        }
  return y;
}

/// Channels-last [N, 1, H, W, C] convolutions: bf16 input and output, bf16
/// input with f32 output, and an accumulating one whose bf16 output holds
/// the residual.
TEST_F(Bf16ActivationsTest, ChannelsLastConvolution) {
  auto x16 = toBf16(randomVector(kN * kH * kW * kC, 300));
  auto w = randomVector(kF * kC * kK * kK, 301, -0.2f, 0.2f);
  auto bias = randomVector(kF, 302);
  auto x = fromBf16(x16);
  auto wRounded = fromBf16(toBf16(w));
  MemRef mx = bf16MemRef(x16, {kN, 1, kH, kW, kC});
  MemRef mw(w.data(), {kF, kC, kK, kK}), mb(bias.data(), {kF});
  int64_t flags = LATHE_MM_HAS_BIAS | LATHE_MM_CONST_B |
                  (LATHE_ACT_RELU << LATHE_MM_ACT_SHIFT);
  int64_t blocked = LATHE_CONV_BLOCKED_INPUT | LATHE_CONV_BLOCKED_OUTPUT;

  std::vector<uint16_t> y16(kN * kH * kW * kF);
  MemRef my = bf16MemRef(y16, {kN, 1, kH, kW, kF});
  lathe_rt_conv2d_f32(5, mx.desc(), 4, mw.desc(), 1, mb.desc(), 5, my.desc(),
                      blocked | LATHE_CONV_BF16_INPUT | LATHE_CONV_BF16_OUTPUT,
                      1, 1, 1, 1, 1, 1, flags);
  ASSERT_EQ(takePending(), "");
  auto expected = refConvNhwc(x, wRounded, bias, nullptr);
  expectBf16Close(fromBf16(y16), expected);

  std::vector<float> y32(y16.size());
  MemRef my32(y32.data(), {kN, 1, kH, kW, kF});
  lathe_rt_conv2d_f32(5, mx.desc(), 4, mw.desc(), 1, mb.desc(), 5, my32.desc(),
                      blocked | LATHE_CONV_BF16_INPUT, 1, 1, 1, 1, 1, 1, flags);
  ASSERT_EQ(takePending(), "");
  expectClose(y32, expected, /*tol=*/1e-3);

  auto residual16 = toBf16(randomVector(y16.size(), 303));
  auto residual = fromBf16(residual16);
  MemRef mr = bf16MemRef(residual16, {kN, 1, kH, kW, kF});
  lathe_rt_conv2d_f32(5, mx.desc(), 4, mw.desc(), 1, mb.desc(), 5, mr.desc(),
                      blocked | LATHE_CONV_BF16_INPUT | LATHE_CONV_BF16_OUTPUT,
                      1, 1, 1, 1, 1, 1, flags | LATHE_MM_HAS_RESIDUAL);
  ASSERT_EQ(takePending(), "");
  expectBf16Close(fromBf16(residual16),
                  refConvNhwc(x, wRounded, bias, &residual));
}

/// A convolution with its max pooling (2x2, stride 2) writing bf16.
TEST_F(Bf16ActivationsTest, ConvolutionWithPooling) {
  auto x16 = toBf16(randomVector(kN * kH * kW * kC, 310));
  auto w = randomVector(kF * kC * kK * kK, 311, -0.2f, 0.2f);
  auto bias = randomVector(kF, 312);
  auto conv = refConvNhwc(fromBf16(x16), fromBf16(toBf16(w)), bias, nullptr);
  const int64_t ph = kH / 2, pw = kW / 2;
  std::vector<double> expected(kN * ph * pw * kF);
  for (int64_t n = 0; n < kN; ++n)
    for (int64_t h = 0; h < ph; ++h)
      for (int64_t v = 0; v < pw; ++v)
        for (int64_t f = 0; f < kF; ++f) {
          double m = -std::numeric_limits<double>::infinity();
          for (int64_t i = 0; i < 2; ++i)
            for (int64_t j = 0; j < 2; ++j)
              m = std::max(
                  m, conv[((n * kH + 2 * h + i) * kW + 2 * v + j) * kF + f]);
          expected[((n * ph + h) * pw + v) * kF + f] = m;
        }
  MemRef mx = bf16MemRef(x16, {kN, 1, kH, kW, kC});
  MemRef mw(w.data(), {kF, kC, kK, kK}), mb(bias.data(), {kF});
  std::vector<uint16_t> y16(expected.size());
  MemRef my = bf16MemRef(y16, {kN, 1, ph, pw, kF});
  lathe_rt_conv2d_pool_f32(
      5, mx.desc(), 4, mw.desc(), 1, mb.desc(), 5, my.desc(),
      LATHE_CONV_BLOCKED_INPUT | LATHE_CONV_BLOCKED_OUTPUT |
          LATHE_CONV_BF16_INPUT | LATHE_CONV_BF16_OUTPUT,
      1, 1, 1, 1, 1, 1,
      LATHE_MM_HAS_BIAS | LATHE_MM_CONST_B |
          (LATHE_ACT_RELU << LATHE_MM_ACT_SHIFT),
      LATHE_POOL_MAX, 2, 2, 2, 2, 1, 1);
  ASSERT_EQ(takePending(), "");
  expectBf16Close(fromBf16(y16), expected);
}

/// C (bf16) = relu(A (bf16, a view at an offset) x B + bias) + residual
/// (f32).
TEST_F(Bf16ActivationsTest, Matmul) {
  const int64_t m = 24, k = 64, n = 40, rowsBefore = 3;
  auto parent16 = toBf16(randomVector((m + rowsBefore) * k, 320));
  auto b = randomVector(k * n, 321, -0.3f, 0.3f);
  auto bias = randomVector(n, 322);
  auto residual = randomVector(m * n, 323);
  auto a = fromBf16(parent16);
  auto bRounded = fromBf16(toBf16(b));
  std::vector<double> expected(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias[j];
      for (int64_t p = 0; p < k; ++p)
        acc +=
            double(a[(rowsBefore + i) * k + p]) * double(bRounded[p * n + j]);
      expected[i * n + j] = (acc > 0 ? acc : 0) + residual[i * n + j];
    }
  MemRef ma = bf16MemRef(parent16, {m, k}, {k, 1}, rowsBefore * k);
  MemRef mb(b.data(), {k, n}), mbias(bias.data(), {n}),
      mr(residual.data(), {m, n});
  std::vector<uint16_t> c16(m * n);
  MemRef mc = bf16MemRef(c16, {m, n});
  lathe_rt_matmul_f32(2, ma.desc(), 2, mb.desc(), 1, mbias.desc(), 2, mr.desc(),
                      2, mc.desc(),
                      LATHE_MM_HAS_BIAS | LATHE_MM_HAS_RESIDUAL |
                          LATHE_MM_CONST_B | LATHE_MM_A_BF16 | LATHE_MM_C_BF16 |
                          (LATHE_ACT_RELU << LATHE_MM_ACT_SHIFT));
  ASSERT_EQ(takePending(), "");
  expectBf16Close(fromBf16(c16), expected);
}

/// A session in bf16 precision runs an f32 A's product in bf16: A is rounded
/// to nearest even (ties included) and scanned for NaN and Inf on the way.
/// Against B = identity the product is A rounded, exactly; a NaN makes its
/// row NaN and an Inf its row NaN but for its own column (Inf * 0), through
/// the ReLU. A is large enough to be converted on more than one thread.
TEST_F(Bf16ActivationsTest, SessionBf16ProductOfF32Input) {
  const int64_t m = 96, k = 512;
  auto a = randomVector(m * k, 340, -4.f, 4.f);
  // Halfway between two bf16 values: even below (1.0), even above (1.015625).
  auto fromBits = [](uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    return f;
  };
  a[5] = fromBits(0x3f808000u);
  a[6] = fromBits(0x3f818000u);
  a[7] = -a[6];
  std::vector<float> eye(k * k, 0.f), bias(k, 0.f);
  for (int64_t i = 0; i < k; ++i)
    eye[i * k + i] = 1.f;
  auto run = [&](const std::vector<float> &in) {
    BoundSession session(LATHE_PRECISION_BF16, 2);
    std::vector<float> c(m * k, -1.f);
    MemRef ma(const_cast<float *>(in.data()), {m, k}), mb(eye.data(), {k, k}),
        mbias(bias.data(), {k}), mc(c.data(), {m, k});
    lathe_rt_matmul_f32(2, ma.desc(), 2, mb.desc(), 1, mbias.desc(), 0, nullptr,
                        2, mc.desc(),
                        LATHE_MM_HAS_BIAS | LATHE_MM_CONST_B |
                            (LATHE_ACT_RELU << LATHE_MM_ACT_SHIFT));
    EXPECT_EQ(takePending(), "");
    return c;
  };
  std::vector<float> c = run(a);
  EXPECT_EQ(c[5], 1.f);
  EXPECT_EQ(c[6], 1.015625f);
  EXPECT_EQ(c[7], 0.f);
  for (int64_t i = 0; i < m * k; ++i)
    ASSERT_EQ(c[i], std::max(fromBf16(toBf16(a[i])), 0.f)) << "at " << i;

  const int64_t nanAt = 40 * k + 100, infAt = 70 * k + 3;
  a[nanAt] = std::numeric_limits<float>::quiet_NaN();
  a[infAt] = std::numeric_limits<float>::infinity();
  c = run(a);
  for (int64_t i = 0; i < m * k; ++i) {
    int64_t row = i / k;
    if (i == infAt)
      EXPECT_EQ(c[i], std::numeric_limits<float>::infinity());
    else if (row == nanAt / k || row == infAt / k)
      ASSERT_TRUE(std::isnan(c[i])) << "at " << i << ": " << c[i];
    else
      ASSERT_EQ(c[i], std::max(fromBf16(toBf16(a[i])), 0.f)) << "at " << i;
  }
}

/// lathe.max_pool2d on bf16 channels-last operands (3x3, stride 2, padding
/// 1), and with a NaN (the exact path: the NaN wins its windows).
TEST_F(Bf16ActivationsTest, PaddedPooling) {
  const int64_t oh = 4, ow = 4;
  auto x = randomVector(kN * kH * kW * kC, 330);
  auto run = [&](const std::vector<float> &in) {
    auto x16 = toBf16(in);
    std::vector<uint16_t> y16(kN * oh * ow * kC);
    MemRef mx = bf16MemRef(x16, {kN, 1, kH, kW, kC});
    MemRef my = bf16MemRef(y16, {kN, 1, oh, ow, kC});
    lathe_rt_pool2d_padded_f32(
        5, mx.desc(), 5, my.desc(),
        LATHE_CONV_BLOCKED_INPUT | LATHE_CONV_BLOCKED_OUTPUT, LATHE_POOL_MAX, 3,
        3, 2, 2, 1, 1, 1, 1, LATHE_POOL_BF16);
    return fromBf16(y16);
  };
  auto rounded = fromBf16(toBf16(x));
  std::vector<double> expected(kN * oh * ow * kC);
  for (int64_t n = 0; n < kN; ++n)
    for (int64_t h = 0; h < oh; ++h)
      for (int64_t v = 0; v < ow; ++v)
        for (int64_t c = 0; c < kC; ++c) {
          double mx = -std::numeric_limits<double>::infinity();
          for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 3; ++j) {
              int64_t ih = 2 * h - 1 + i, iw = 2 * v - 1 + j;
              if (ih >= 0 && ih < kH && iw >= 0 && iw < kW)
                mx = std::max(
                    mx, double(rounded[((n * kH + ih) * kW + iw) * kC + c]));
            }
          expected[((n * oh + h) * ow + v) * kC + c] = mx;
        }
  // Max pooling of bf16 values is exact.
  expectClose(run(x), expected, /*tol=*/0.0);
  ASSERT_EQ(takePending(), "");

  x[0] = std::numeric_limits<float>::quiet_NaN(); // [0, 0, 0, 0]
  std::vector<float> y = run(x);
  ASSERT_EQ(takePending(), "");
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_FALSE(std::isnan(y[1])); // another channel
}

/// A bf16 pooling cannot accumulate: a pending error naming both flags.
TEST_F(Bf16ActivationsTest, AccumulatingBf16PoolingIsAPendingError) {
  std::vector<uint16_t> x16(1 * 4 * 4 * 2), y16(1 * 2 * 2 * 2);
  MemRef mx = bf16MemRef(x16, {1, 2, 4, 4}), my = bf16MemRef(y16, {1, 2, 2, 2});
  lathe_rt_pool2d_padded_f32(4, mx.desc(), 4, my.desc(), 0, LATHE_POOL_MAX, 2,
                             2, 2, 2, 1, 1, 0, 0,
                             LATHE_POOL_BF16 | LATHE_POOL_ACCUMULATE);
  EXPECT_NE(takePending().find("not channel-blocked or bf16"),
            std::string::npos);
}

} // namespace

/// Attention's scores in a bf16 session: Q [B, H, S, D] and K^T [B, H, D, S]
/// as views of [B, S, H*D] projections (K read transposed, converted per
/// call keeping that order), alpha, against float64 on the bf16-rounded
/// inputs; a NaN in K makes its key's column NaN in every query row.
TEST_F(Bf16ActivationsTest, TransposedRhsPerCall) {
  const int64_t batch = 2, seq = 37, heads = 3, dim = 24;
  const HeadLayout layout{batch, seq, heads, dim};
  auto q = randomVector(batch * layout.batchStride(), 330);
  auto k = randomVector(batch * layout.batchStride(), 331);
  const int64_t nanKey = 11, nanHead = 1;
  k[1 * layout.batchStride() + nanKey * layout.rowStride() + nanHead * dim +
    5] = std::numeric_limits<float>::quiet_NaN();
  const float alpha = 0.25f;
  std::vector<float> scores;
  {
    BoundSession session(LATHE_PRECISION_BF16, 0);
    scores = layout.runScores(q, k, alpha);
    EXPECT_EQ(takePending(), "");
  }

  auto q16 = fromBf16(toBf16(q)), k16 = fromBf16(toBf16(k));
  std::vector<double> expected = layout.scores(q16, k16, alpha);
  for (size_t i = 0; i < scores.size(); ++i) {
    int64_t j = static_cast<int64_t>(i) % seq;
    int64_t bh = static_cast<int64_t>(i) / (seq * seq);
    bool nan = bh == 1 * heads + nanHead && j == nanKey;
    ASSERT_EQ(std::isnan(expected[i]), nan) << i;
    ASSERT_EQ(std::isnan(scores[i]), nan) << "at flat index " << i;
    if (!nan)
      ASSERT_NEAR(scores[i], expected[i],
                  1e-4 * std::max(1.0, std::fabs(expected[i])))
          << "at flat index " << i;
  }
}

/// Softmax into a bf16 output (attention's probabilities for a bf16 P·V):
/// rows of [B, S, S] scores along the last axis, once through oneDNN and
/// once with a NaN and a row of -inf only (the exact path: NaN rows), into a
/// strided output (every other row of a larger buffer), against float64
/// within one bf16 step.
TEST_F(Bf16ActivationsTest, SoftmaxBf16Output) {
  const int64_t batch = 3, rows = 17, len = 40;
  for (bool nonFinite : {false, true}) {
    auto x = randomVector(batch * rows * len, nonFinite ? 341 : 340, -4.f, 4.f);
    if (nonFinite) {
      x[(1 * rows + 2) * len + 7] = std::numeric_limits<float>::quiet_NaN();
      for (int64_t j = 0; j < len; ++j)
        x[(2 * rows + 5) * len + j] = -std::numeric_limits<float>::infinity();
    }
    std::vector<uint16_t> out16(batch * rows * 2 * len, 0x7fc0);
    MemRef mx(x.data(), {batch, rows, len});
    MemRef mo =
        bf16MemRef(out16, {batch, rows, len}, {rows * 2 * len, 2 * len, 1});
    lathe_rt_softmax_f32_bf16(3, mx.desc(), 3, mo.desc(), 2);
    ASSERT_EQ(takePending(), "");
    for (int64_t r = 0; r < batch * rows; ++r) {
      double m = -std::numeric_limits<double>::infinity(), sum = 0;
      bool nan = false;
      for (int64_t j = 0; j < len; ++j) {
        nan |= std::isnan(x[r * len + j]);
        m = std::max(m, double(x[r * len + j]));
      }
      nan |= std::isinf(m) && m < 0;
      for (int64_t j = 0; j < len; ++j)
        sum += std::exp(double(x[r * len + j]) - m);
      for (int64_t j = 0; j < len; ++j) {
        float got = fromBf16(out16[r * 2 * len + j]);
        if (nan) {
          ASSERT_TRUE(std::isnan(got)) << r << " " << j;
          continue;
        }
        double want = std::exp(double(x[r * len + j]) - m) / sum;
        // One bf16 step (2^-7 relative): oneDNN 2.6's softmax without
        // AVX512-BF16 code truncates to bf16 rather than rounding.
        ASSERT_NEAR(got, want, 0x1p-7 * want + 1e-7) << r << " " << j;
      }
      // The gaps between the output rows stay as they were.
      ASSERT_EQ(out16[r * 2 * len + len], 0x7fc0) << r;
    }
  }
}
