//===- ConvTest.cpp - lathe_rt_conv2d_f32 against a naive reference -------===//

#include "TestUtils.h"

using namespace lathe::test;

namespace {

struct ConvShape {
  int64_t n, c, h, w, f, kh, kw;
  int64_t sh, sw, pt, pl, dh, dw;
  int64_t oh, ow; // Output size (may imply asymmetric padding).
};

/// Output size for symmetric padding (PyTorch's formula).
int64_t outSize(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/// Reference on logical NCHW input / FCHW filter, result as NCHW.
std::vector<double>
refConv(const ConvShape &s,
        const std::function<double(int64_t, int64_t, int64_t, int64_t)> &x,
        const std::function<double(int64_t, int64_t, int64_t, int64_t)> &wt,
        const std::vector<float> *bias, int act) {
  std::vector<double> y(s.n * s.f * s.oh * s.ow);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t f = 0; f < s.f; ++f)
      for (int64_t oh = 0; oh < s.oh; ++oh)
        for (int64_t ow = 0; ow < s.ow; ++ow) {
          double acc = bias ? (*bias)[f] : 0.0;
          for (int64_t c = 0; c < s.c; ++c)
            for (int64_t i = 0; i < s.kh; ++i)
              for (int64_t j = 0; j < s.kw; ++j) {
                int64_t ih = oh * s.sh - s.pt + i * s.dh;
                int64_t iw = ow * s.sw - s.pl + j * s.dw;
                if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w)
                  continue;
                acc += x(n, c, ih, iw) * wt(f, c, i, j);
              }
          y[((n * s.f + f) * s.oh + oh) * s.ow + ow] = refActivation(act, acc);
        }
  return y;
}

/// The NHWC input and HWCF filter holding the same values as the NCHW input
/// `x` and FCHW filter `wt` of `s`.
std::pair<std::vector<float>, std::vector<float>>
toNhwc(const ConvShape &s, const std::vector<float> &x,
       const std::vector<float> &wt) {
  std::vector<float> xh(x.size()), wh(wt.size());
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t h = 0; h < s.h; ++h)
        for (int64_t w = 0; w < s.w; ++w)
          xh[((n * s.h + h) * s.w + w) * s.c + c] =
              x[((n * s.c + c) * s.h + h) * s.w + w];
  for (int64_t f = 0; f < s.f; ++f)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t i = 0; i < s.kh; ++i)
        for (int64_t j = 0; j < s.kw; ++j)
          wh[((i * s.kw + j) * s.c + c) * s.f + f] =
              wt[((f * s.c + c) * s.kh + i) * s.kw + j];
  return {std::move(xh), std::move(wh)};
}

class ConvTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_EQ(takePending(), ""); }
  void TearDown() override {
    EXPECT_EQ(takePending(), "");
    lathe_rt_clear_caches();
  }

  /// Runs one case in both layouts, with and without bias/act/const filter.
  void check(const ConvShape &s, unsigned seed) {
    auto x = randomVector(s.n * s.c * s.h * s.w, seed);
    auto wt = randomVector(s.f * s.c * s.kh * s.kw, seed + 1);
    auto bias = randomVector(s.f, seed + 2);
    auto xAt = [&](int64_t n, int64_t c, int64_t h, int64_t w) {
      return double(x[((n * s.c + c) * s.h + h) * s.w + w]);
    };
    auto wAt = [&](int64_t f, int64_t c, int64_t i, int64_t j) {
      return double(wt[((f * s.c + c) * s.kh + i) * s.kw + j]);
    };
    auto [xh, wh] = toNhwc(s, x, wt);

    for (int64_t flags :
         {int64_t(0),
          int64_t(LATHE_MM_HAS_BIAS | (LATHE_ACT_RELU << LATHE_MM_ACT_SHIFT)),
          int64_t(LATHE_MM_CONST_B | LATHE_MM_HAS_BIAS |
                  (LATHE_ACT_GELU_TANH << LATHE_MM_ACT_SHIFT))}) {
      bool hasBias = flags & LATHE_MM_HAS_BIAS;
      int act = int(flags >> LATHE_MM_ACT_SHIFT);
      auto ref = refConv(s, xAt, wAt, hasBias ? &bias : nullptr, act);
      MemRef mbias(bias.data(), {s.f});
      for (int64_t layout : {0, 1}) {
        SCOPED_TRACE("layout " + std::to_string(layout) + " flags " +
                     std::to_string(flags));
        std::vector<float> y(s.n * s.f * s.oh * s.ow, -5.f);
        bool nhwc = layout == 1;
        MemRef mx = nhwc ? MemRef(xh.data(), {s.n, s.h, s.w, s.c})
                         : MemRef(x.data(), {s.n, s.c, s.h, s.w});
        MemRef mw = nhwc ? MemRef(wh.data(), {s.kh, s.kw, s.c, s.f})
                         : MemRef(wt.data(), {s.f, s.c, s.kh, s.kw});
        MemRef my = nhwc ? MemRef(y.data(), {s.n, s.oh, s.ow, s.f})
                         : MemRef(y.data(), {s.n, s.f, s.oh, s.ow});
        // Twice: the second call reuses the primitive (and packed filter).
        for (int rep = 0; rep < 2; ++rep) {
          lathe_rt_conv2d_f32(4, mx.desc(), 4, mw.desc(), 1, mbias.desc(), 4,
                              my.desc(), layout, s.sh, s.sw, s.pt, s.pl, s.dh,
                              s.dw, flags);
          ASSERT_EQ(takePending(), "");
          std::vector<float> got(y.size());
          for (int64_t n = 0; n < s.n; ++n)
            for (int64_t f = 0; f < s.f; ++f)
              for (int64_t h = 0; h < s.oh; ++h)
                for (int64_t w = 0; w < s.ow; ++w)
                  got[((n * s.f + f) * s.oh + h) * s.ow + w] =
                      nhwc ? y[((n * s.oh + h) * s.ow + w) * s.f + f]
                           : y[((n * s.f + f) * s.oh + h) * s.ow + w];
          expectClose(got, ref);
        }
      }
    }
  }
};

ConvShape symmetric(int64_t n, int64_t c, int64_t h, int64_t w, int64_t f,
                    int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  return {n,
          c,
          h,
          w,
          f,
          k,
          k,
          stride,
          stride,
          pad,
          pad,
          dil,
          dil,
          outSize(h, k, stride, pad, dil),
          outSize(w, k, stride, pad, dil)};
}

/// lathe_rt_conv2d_pool_f32 against the naive convolution followed by a naive
/// max pooling (window k, stride ps), NCHW and NHWC.
void checkConvPool(const ConvShape &s, int64_t k, int64_t ps, int64_t flags,
                   unsigned seed) {
  auto x = randomVector(s.n * s.c * s.h * s.w, seed);
  auto wt = randomVector(s.f * s.c * s.kh * s.kw, seed + 1);
  auto bias = randomVector(s.f, seed + 2);
  auto xAt = [&](int64_t n, int64_t c, int64_t h, int64_t w) {
    return double(x[((n * s.c + c) * s.h + h) * s.w + w]);
  };
  auto wAt = [&](int64_t f, int64_t c, int64_t i, int64_t j) {
    return double(wt[((f * s.c + c) * s.kh + i) * s.kw + j]);
  };
  bool hasBias = flags & LATHE_MM_HAS_BIAS;
  int act = int((flags >> LATHE_MM_ACT_SHIFT) & 0xFF);
  auto conv = refConv(s, xAt, wAt, hasBias ? &bias : nullptr, act);
  int64_t ph = (s.oh - k) / ps + 1, pw = (s.ow - k) / ps + 1;
  std::vector<double> ref(s.n * s.f * ph * pw);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t f = 0; f < s.f; ++f)
      for (int64_t i = 0; i < ph; ++i)
        for (int64_t j = 0; j < pw; ++j) {
          double m = -1e300;
          for (int64_t a = 0; a < k; ++a)
            for (int64_t b = 0; b < k; ++b)
              m = std::max(m, conv[((n * s.f + f) * s.oh + i * ps + a) * s.ow +
                                   j * ps + b]);
          ref[((n * s.f + f) * ph + i) * pw + j] = m;
        }
  auto [xh, wh] = toNhwc(s, x, wt);
  MemRef mbias(bias.data(), {s.f});
  for (int64_t layout : {0, 1}) {
    SCOPED_TRACE("layout " + std::to_string(layout));
    bool nhwc = layout == 1;
    std::vector<float> y(ref.size(), -5.f);
    MemRef mx = nhwc ? MemRef(xh.data(), {s.n, s.h, s.w, s.c})
                     : MemRef(x.data(), {s.n, s.c, s.h, s.w});
    MemRef mw = nhwc ? MemRef(wh.data(), {s.kh, s.kw, s.c, s.f})
                     : MemRef(wt.data(), {s.f, s.c, s.kh, s.kw});
    MemRef my = nhwc ? MemRef(y.data(), {s.n, ph, pw, s.f})
                     : MemRef(y.data(), {s.n, s.f, ph, pw});
    for (int rep = 0; rep < 2; ++rep) {
      lathe_rt_conv2d_pool_f32(4, mx.desc(), 4, mw.desc(), 1, mbias.desc(), 4,
                               my.desc(), layout, s.sh, s.sw, s.pt, s.pl, s.dh,
                               s.dw, flags, LATHE_POOL_MAX, k, k, ps, ps, 1, 1);
      ASSERT_EQ(takePending(), "");
      std::vector<float> got(y.size());
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t f = 0; f < s.f; ++f)
          for (int64_t h = 0; h < ph; ++h)
            for (int64_t w = 0; w < pw; ++w)
              got[((n * s.f + f) * ph + h) * pw + w] =
                  nhwc ? y[((n * ph + h) * pw + w) * s.f + f]
                       : y[((n * s.f + f) * ph + h) * pw + w];
      expectClose(got, ref);
    }
  }
}

TEST_F(ConvTest, ConvReluMaxPoolInOneCall) {
  int64_t relu = LATHE_MM_HAS_BIAS | LATHE_MM_CONST_B |
                 (LATHE_ACT_RELU << LATHE_MM_ACT_SHIFT);
  // The two layers of bench/peers' CNN (batch 2), then odd sizes where the
  // pooling leaves the last convolution row unused, and no epilogue.
  checkConvPool(symmetric(2, 3, 32, 32, 32, 3, 1, 0, 1), 2, 2, relu, 100);
  checkConvPool(symmetric(2, 32, 15, 15, 64, 3, 1, 0, 1), 2, 2, relu, 110);
  checkConvPool(symmetric(1, 5, 12, 10, 7, 3, 1, 1, 1), 3, 2, relu, 120);
  checkConvPool(symmetric(1, 4, 9, 9, 3, 2, 1, 0, 1), 2, 1, 0, 130);
}

TEST_F(ConvTest, ConvPoolBadPoolingIsAPendingError) {
  std::vector<float> x(1 * 2 * 6 * 6), w(3 * 2 * 3 * 3), y(1 * 3 * 2 * 2, 7.f);
  MemRef mx(x.data(), {1, 2, 6, 6}), mw(w.data(), {3, 2, 3, 3}),
      my(y.data(), {1, 3, 2, 2});
  lathe_rt_conv2d_pool_f32(4, mx.desc(), 4, mw.desc(), 0, nullptr, 4, my.desc(),
                           0, 1, 1, 0, 0, 1, 1, 0, LATHE_POOL_MAX, 0, 2, 2, 2,
                           1, 1);
  std::string msg = takePending();
  EXPECT_NE(msg.find("lathe_rt_conv2d_pool_f32"), std::string::npos) << msg;
  EXPECT_NE(msg.find("window"), std::string::npos) << msg;
  for (float v : y)
    EXPECT_EQ(v, 7.f);
}

/// Channel-blocked operands (LATHE_CONV_BLOCKED_INPUT / _OUTPUT): a 32-channel
/// input read as a [N, 2, H, W, 16] view at an offset inside a larger blocked
/// buffer (a crop, so its strides are not dense), a 32-channel output written
/// blocked, with and without pooling; against the naive reference.
TEST_F(ConvTest, ChannelBlockedOperands) {
  const int64_t n = 2, c = 32, h = 9, w = 8, f = 32, k = 3;
  const int64_t ph = h + 2, pw = w + 3; // parent buffer of the cropped input
  auto parent = randomVector(n * (c / 16) * ph * pw * 16, 140);
  auto wt = randomVector(f * c * k * k, 141, -0.3f, 0.3f);
  auto bias = randomVector(f, 142);
  // The input is the crop [1:1+h, 2:2+w] of the parent.
  auto xAt = [&](int64_t in, int64_t ic, int64_t ih, int64_t iw) {
    return double(
        parent[(((in * (c / 16) + ic / 16) * ph + ih + 1) * pw + iw + 2) * 16 +
               ic % 16]);
  };
  auto wAt = [&](int64_t of, int64_t ic, int64_t i, int64_t j) {
    return double(wt[((of * c + ic) * k + i) * k + j]);
  };
  ConvShape s = symmetric(n, c, h, w, f, k, 1, 0, 1);
  int64_t flags = LATHE_MM_HAS_BIAS | LATHE_MM_CONST_B |
                  (LATHE_ACT_RELU << LATHE_MM_ACT_SHIFT);
  auto conv = refConv(s, xAt, wAt, &bias, LATHE_ACT_RELU);
  MemRef mx(parent.data(), {n, c / 16, h, w, 16},
            {(c / 16) * ph * pw * 16, ph * pw * 16, pw * 16, 16, 1},
            (1 * pw + 2) * 16);
  MemRef mw(wt.data(), {f, c, k, k}), mbias(bias.data(), {f});
  auto blockedAt = [&](const std::vector<float> &y, int64_t oh, int64_t ow,
                       int64_t in, int64_t of, int64_t i, int64_t j) {
    return y[(((in * (f / 16) + of / 16) * oh + i) * ow + j) * 16 + of % 16];
  };
  // The same filter as HWCF, for the NHWC layouts (JAX's chains).
  std::vector<float> wtH(wt.size());
  for (int64_t of = 0; of < f; ++of)
    for (int64_t ic = 0; ic < c; ++ic)
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j)
          wtH[((i * k + j) * c + ic) * f + of] =
              wt[((of * c + ic) * k + i) * k + j];
  MemRef mwH(wtH.data(), {k, k, c, f});
  // Plain output from a blocked input; blocked output from a blocked input;
  // the same with layout NHWC (HWCF filter, plain output NHWC).
  for (int64_t layout :
       {int64_t(LATHE_CONV_BLOCKED_INPUT),
        int64_t(LATHE_CONV_BLOCKED_INPUT | LATHE_CONV_BLOCKED_OUTPUT),
        int64_t(LATHE_CONV_NHWC | LATHE_CONV_BLOCKED_INPUT),
        int64_t(LATHE_CONV_NHWC | LATHE_CONV_BLOCKED_INPUT |
                LATHE_CONV_BLOCKED_OUTPUT)}) {
    SCOPED_TRACE("layout " + std::to_string(layout));
    bool blockedOut = layout & LATHE_CONV_BLOCKED_OUTPUT;
    bool nhwc = layout & LATHE_CONV_NHWC;
    std::vector<float> y(n * f * s.oh * s.ow, -5.f);
    MemRef my = blockedOut ? MemRef(y.data(), {n, f / 16, s.oh, s.ow, 16})
                : nhwc     ? MemRef(y.data(), {n, s.oh, s.ow, f})
                           : MemRef(y.data(), {n, f, s.oh, s.ow});
    for (int rep = 0; rep < 2; ++rep) {
      lathe_rt_conv2d_f32(5, mx.desc(), 4, nhwc ? mwH.desc() : mw.desc(), 1,
                          mbias.desc(), my.rank(), my.desc(), layout, 1, 1, 0,
                          0, 1, 1, flags);
      ASSERT_EQ(takePending(), "");
      std::vector<float> got(y.size());
      for (int64_t in = 0; in < n; ++in)
        for (int64_t of = 0; of < f; ++of)
          for (int64_t i = 0; i < s.oh; ++i)
            for (int64_t j = 0; j < s.ow; ++j)
              got[((in * f + of) * s.oh + i) * s.ow + j] =
                  blockedOut ? blockedAt(y, s.oh, s.ow, in, of, i, j)
                  : nhwc     ? y[((in * s.oh + i) * s.ow + j) * f + of]
                             : y[((in * f + of) * s.oh + i) * s.ow + j];
      expectClose(got, conv);
    }
  }
  // Pooled (2x2/2 on the 7x6 map: the last conv row is unused), blocked out.
  int64_t qh = (s.oh - 2) / 2 + 1, qw = (s.ow - 2) / 2 + 1;
  std::vector<double> ref(n * f * qh * qw);
  for (int64_t in = 0; in < n; ++in)
    for (int64_t of = 0; of < f; ++of)
      for (int64_t i = 0; i < qh; ++i)
        for (int64_t j = 0; j < qw; ++j) {
          double m = -1e300;
          for (int64_t a = 0; a < 2; ++a)
            for (int64_t b = 0; b < 2; ++b)
              m = std::max(
                  m,
                  conv[((in * f + of) * s.oh + 2 * i + a) * s.ow + 2 * j + b]);
          ref[((in * f + of) * qh + i) * qw + j] = m;
        }
  std::vector<float> y(n * f * qh * qw, -5.f);
  MemRef my(y.data(), {n, f / 16, qh, qw, 16});
  lathe_rt_conv2d_pool_f32(
      5, mx.desc(), 4, mw.desc(), 1, mbias.desc(), 5, my.desc(),
      LATHE_CONV_BLOCKED_INPUT | LATHE_CONV_BLOCKED_OUTPUT, 1, 1, 0, 0, 1, 1,
      flags, LATHE_POOL_MAX, 2, 2, 2, 2, 1, 1);
  ASSERT_EQ(takePending(), "");
  std::vector<float> got(y.size());
  for (int64_t in = 0; in < n; ++in)
    for (int64_t of = 0; of < f; ++of)
      for (int64_t i = 0; i < qh; ++i)
        for (int64_t j = 0; j < qw; ++j)
          got[((in * f + of) * qh + i) * qw + j] =
              blockedAt(y, qh, qw, in, of, i, j);
  expectClose(got, ref);
}

// Filters larger than their input and output together (a ResNet's last
// stage) run on oneDNN's brgemm kernel where the CPU has it (AVX-512), with
// the nChw16c input, residual and output reordered around it: a residual
// block's two convolutions (stride 2, then stride 1 adding the residual) on
// blocked tensors, against float64.
TEST_F(ConvTest, LargeFilterBlockedResidualChain) {
  const int64_t c = 64, h = 14, f = 64, k = 3;
  ConvShape down = symmetric(1, c, h, h, f, k, 2, 1, 1);
  ConvShape same = symmetric(1, f, down.oh, down.ow, f, k, 1, 1, 1);
  auto x = randomVector(c * h * h, 150);
  auto w1 = randomVector(f * c * k * k, 151, -0.1f, 0.1f);
  auto w2 = randomVector(f * f * k * k, 152, -0.1f, 0.1f);
  auto b1 = randomVector(f, 153), b2 = randomVector(f, 154);
  auto residual = randomVector(f * same.oh * same.ow, 155);
  // Blocked [1, C/16, H, W, 16] copies and the logical NCHW accessors.
  auto block = [](const std::vector<float> &v, int64_t ch, int64_t hw) {
    std::vector<float> out(v.size());
    for (int64_t i = 0; i < ch; ++i)
      for (int64_t p = 0; p < hw; ++p)
        out[((i / 16) * hw + p) * 16 + i % 16] = v[i * hw + p];
    return out;
  };
  auto at = [](const std::vector<float> &v, int64_t hh, int64_t ww) {
    return [&v, hh, ww](int64_t, int64_t i, int64_t r, int64_t q) {
      return double(v[(i * hh + r) * ww + q]);
    };
  };
  auto wAt = [](const std::vector<float> &w, int64_t ci) {
    return [&w, ci](int64_t o, int64_t i, int64_t r, int64_t q) {
      return double(w[((o * ci + i) * k + r) * k + q]);
    };
  };
  std::vector<double> ref1 =
      refConv(down, at(x, h, h), wAt(w1, c), &b1, LATHE_ACT_RELU);
  std::vector<float> mid(ref1.begin(), ref1.end());
  std::vector<double> ref2 =
      refConv(same, at(mid, same.h, same.w), wAt(w2, f), &b2, LATHE_ACT_NONE);
  for (size_t i = 0; i < ref2.size(); ++i)
    ref2[i] = std::max(ref2[i] + residual[i], 0.0);

  auto xb = block(x, c, h * h);
  std::vector<float> y1(f * down.oh * down.ow, -5.f),
      y2 = block(residual, f, same.oh * same.ow);
  MemRef mx(xb.data(), {1, c / 16, h, h, 16}), mw1(w1.data(), {f, c, k, k}),
      mw2(w2.data(), {f, f, k, k}), mb1(b1.data(), {f}), mb2(b2.data(), {f}),
      my1(y1.data(), {1, f / 16, down.oh, down.ow, 16}),
      my2(y2.data(), {1, f / 16, same.oh, same.ow, 16});
  const int64_t blocked = LATHE_CONV_BLOCKED_INPUT | LATHE_CONV_BLOCKED_OUTPUT;
  const int64_t flags = LATHE_MM_HAS_BIAS | LATHE_MM_CONST_B |
                        (LATHE_ACT_RELU << LATHE_MM_ACT_SHIFT);
  lathe_rt_conv2d_f32(5, mx.desc(), 4, mw1.desc(), 1, mb1.desc(), 5, my1.desc(),
                      blocked, 2, 2, 1, 1, 1, 1, flags);
  lathe_rt_conv2d_f32(5, my1.desc(), 4, mw2.desc(), 1, mb2.desc(), 5,
                      my2.desc(), blocked, 1, 1, 1, 1, 1, 1,
                      flags | LATHE_MM_HAS_RESIDUAL);
  ASSERT_EQ(takePending(), "");
  auto unblock = [](const std::vector<float> &v, int64_t ch, int64_t hw) {
    std::vector<float> out(v.size());
    for (int64_t i = 0; i < ch; ++i)
      for (int64_t p = 0; p < hw; ++p)
        out[i * hw + p] = v[((i / 16) * hw + p) * 16 + i % 16];
    return out;
  };
  expectClose(unblock(y1, f, down.oh * down.ow), ref1);
  expectClose(unblock(y2, f, same.oh * same.ow), ref2);
}

TEST_F(ConvTest, BadBlockedOperandIsAPendingError) {
  // Inner block of 8, not 16.
  std::vector<float> x(1 * 2 * 6 * 6 * 8), w(4 * 16 * 3 * 3),
      y(1 * 4 * 4 * 4, 7.f);
  MemRef mx(x.data(), {1, 2, 6, 6, 8}), mw(w.data(), {4, 16, 3, 3}),
      my(y.data(), {1, 4, 4, 4});
  lathe_rt_conv2d_f32(5, mx.desc(), 4, mw.desc(), 0, nullptr, 4, my.desc(),
                      LATHE_CONV_BLOCKED_INPUT, 1, 1, 0, 0, 1, 1, 0);
  std::string msg = takePending();
  EXPECT_NE(msg.find("blocked input [1x2x6x6x8]"), std::string::npos) << msg;
  // An unknown layout bit.
  MemRef mx4(x.data(), {1, 6, 6, 16});
  lathe_rt_conv2d_f32(4, mx4.desc(), 4, mw.desc(), 0, nullptr, 4, my.desc(),
                      LATHE_CONV_NHWC | 128, 1, 1, 0, 0, 1, 1, 0);
  msg = takePending();
  EXPECT_NE(msg.find("layout 129"), std::string::npos) << msg;
  for (float v : y)
    EXPECT_EQ(v, 7.f);
}

TEST_F(ConvTest, Basic3x3) { check(symmetric(2, 3, 8, 8, 4, 3, 1, 1, 1), 40); }

// 3x3, stride 1, >= 16 channels, >= 8x8 outputs: the runtime tries oneDNN's
// Winograd kernels first (F(2x2, 3x3) at batch 1, F(4x4, 3x3) preferred from
// batch 2 where the CPU has them); rounding only against float64.
TEST_F(ConvTest, WinogradShapes) {
  check(symmetric(1, 16, 10, 10, 16, 3, 1, 1, 1), 44);
  check(symmetric(2, 32, 12, 12, 32, 3, 1, 1, 1), 45);
}

TEST_F(ConvTest, StridePaddingDilation) {
  check(symmetric(1, 5, 11, 9, 6, 3, 2, 2, 2), 50);
}

TEST_F(ConvTest, NonSquareAndOneByOne) {
  check({2, 4, 7, 10, 3, 2, 5, 1, 2, 0, 2, 1, 1, 6, 5}, 60);
  check(symmetric(1, 16, 5, 5, 32, 1, 1, 0, 1), 70);
}

TEST_F(ConvTest, AsymmetricPaddingFromOutputSize) {
  // TF-style "same" with stride 2 on an even size: pad 0 before, 1 after.
  check({1, 2, 8, 8, 3, 3, 3, 2, 2, 0, 0, 1, 1, 4, 4}, 80);
  // An output smaller than the input allows: trailing rows are unused.
  check({1, 2, 9, 9, 2, 3, 3, 2, 2, 0, 0, 1, 1, 3, 3}, 90);
}

TEST_F(ConvTest, MismatchIsAPendingError) {
  std::vector<float> x(1 * 3 * 4 * 4), w(2 * 4 * 3 * 3), y(1 * 2 * 2 * 2, 7.f);
  MemRef mx(x.data(), {1, 3, 4, 4}), mw(w.data(), {2, 4, 3, 3}),
      my(y.data(), {1, 2, 2, 2});
  lathe_rt_conv2d_f32(4, mx.desc(), 4, mw.desc(), 0, nullptr, 4, my.desc(), 0,
                      1, 1, 0, 0, 1, 1, 0);
  std::string msg = takePending();
  EXPECT_NE(msg.find("lathe_rt_conv2d_f32"), std::string::npos) << msg;
  EXPECT_NE(msg.find("C=3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("C=4"), std::string::npos) << msg;
  for (float v : y)
    EXPECT_EQ(v, 7.f);
  lathe_rt_conv2d_f32(4, mx.desc(), 4, mw.desc(), 0, nullptr, 4, my.desc(), 128,
                      1, 1, 0, 0, 1, 1, 0);
  EXPECT_NE(takePending().find("layout 128"), std::string::npos);
  // A blocked input (layout 2) must be a rank-5 view.
  lathe_rt_conv2d_f32(4, mx.desc(), 4, mw.desc(), 0, nullptr, 4, my.desc(),
                      LATHE_CONV_BLOCKED_INPUT, 1, 1, 0, 0, 1, 1, 0);
  EXPECT_NE(takePending().find("must have rank 5, 4 and 4"), std::string::npos);
  lathe_rt_conv2d_f32(4, mx.desc(), 4, mw.desc(), 0, nullptr, 4, my.desc(), 0,
                      0, 1, 0, 0, 1, 1, 0);
  EXPECT_NE(takePending().find("stride"), std::string::npos);
}

/// lathe_rt_conv2d_int8_f32 (bias, ReLU, constant filter) against the
/// float64 convolution of the unquantized data, within the quantization's
/// own error bound: per output, the sum over its window of |w| * sx / 2 +
/// |x| * sw / 2 + sx * sw / 4 (sx the input's step, sw the channel's weight
/// step, taken for 7-bit weights, which also covers 8-bit ones and oneDNN's
/// halving of them without VNNI). u8 (non-negative range) and s8 inputs,
/// NCHW input (its layout changes before it is quantized) and NHWC, 16 and
/// 12 input channels (int8) and 4 (stays f32: the site says why).
TEST_F(ConvTest, Int8WithinQuantizationErrorOfF64) {
  for (int64_t c : {16, 12, 4})
    for (bool isSigned : {false, true})
      for (int64_t layout : {0, 1}) {
        SCOPED_TRACE("c " + std::to_string(c) + (isSigned ? " s8" : " u8") +
                     " layout " + std::to_string(layout));
        // Each case in a session of its own: the constant filter is cached by
        // address, and the next case's filter (same size, other values) may
        // be allocated where this one was, as a module unloaded and another
        // loaded would be; that is what destroying the session is for.
        BoundSession session;
        ASSERT_NE(session.session, nullptr);
        ConvShape s = symmetric(3, c, 7, 6, 24, 3, 1, 1, 1);
        unsigned seed = 200 + unsigned(c) * 4 + isSigned * 2 + layout;
        auto x = randomVector(s.n * s.c * s.h * s.w, seed,
                              isSigned ? -1.f : 0.f, 1.f);
        auto wt = randomVector(s.f * s.c * s.kh * s.kw, seed + 1);
        auto bias = randomVector(s.f, seed + 2);
        float lo = isSigned ? -1.f : 0.f, hi = 1.f;
        double sx = isSigned ? 1.0 / 127 : 1.0 / 255;
        std::vector<double> sw(s.f, 0.0);
        for (int64_t f = 0; f < s.f; ++f)
          for (int64_t i = 0; i < s.c * s.kh * s.kw; ++i)
            sw[f] = std::max(
                sw[f], std::fabs(double(wt[f * s.c * s.kh * s.kw + i])) / 63);
        auto xAt = [&](int64_t n, int64_t ch, int64_t h, int64_t w) {
          return double(x[((n * s.c + ch) * s.h + h) * s.w + w]);
        };
        auto wAt = [&](int64_t f, int64_t ch, int64_t i, int64_t j) {
          return double(wt[((f * s.c + ch) * s.kh + i) * s.kw + j]);
        };
        auto ref = refConv(s, xAt, wAt, &bias, LATHE_ACT_RELU);
        // The bound: the same sum over |x| and |w| (ReLU only shrinks errors).
        auto one = [](int64_t, int64_t, int64_t, int64_t) { return 1.0; };
        std::vector<double> bound(ref.size());
        for (int64_t f = 0; f < s.f; ++f) {
          auto term = [&](int64_t ff, int64_t ch, int64_t i, int64_t j) {
            return ff == f
                       ? std::fabs(wAt(ff, ch, i, j)) * sx / 2 + sx * sw[f] / 4
                       : 0.0;
          };
          auto byX = [&](int64_t ff, int64_t, int64_t, int64_t) {
            return ff == f ? sw[f] / 2 : 0.0;
          };
          auto b1 = refConv(s, one, term, nullptr, LATHE_ACT_NONE);
          auto b2 = refConv(
              s,
              [&](int64_t n, int64_t ch, int64_t h, int64_t w) {
                return std::fabs(xAt(n, ch, h, w));
              },
              byX, nullptr, LATHE_ACT_NONE);
          for (int64_t n = 0; n < s.n; ++n)
            for (int64_t i = 0; i < s.oh * s.ow; ++i) {
              size_t at = size_t((n * s.f + f) * s.oh * s.ow + i);
              bound[at] = b1[at] + b2[at] + 1e-4 * (1 + std::fabs(ref[at]));
            }
        }
        auto [xh, wh] = toNhwc(s, x, wt);
        bool nhwc = layout == 1;
        std::vector<float> y(ref.size(), -5.f);
        MemRef mx = nhwc ? MemRef(xh.data(), {s.n, s.h, s.w, s.c})
                         : MemRef(x.data(), {s.n, s.c, s.h, s.w});
        MemRef mw = nhwc ? MemRef(wh.data(), {s.kh, s.kw, s.c, s.f})
                         : MemRef(wt.data(), {s.f, s.c, s.kh, s.kw});
        MemRef my = nhwc ? MemRef(y.data(), {s.n, s.oh, s.ow, s.f})
                         : MemRef(y.data(), {s.n, s.f, s.oh, s.ow});
        MemRef mbias(bias.data(), {s.f});
        int64_t flags = LATHE_MM_CONST_B | LATHE_MM_HAS_BIAS |
                        (LATHE_ACT_RELU << LATHE_MM_ACT_SHIFT);
        for (int rep = 0; rep < 2; ++rep) {
          lathe_rt_conv2d_int8_f32(4, mx.desc(), 4, mw.desc(), 1, mbias.desc(),
                                   4, my.desc(), lo, hi, layout, 1, 1, 1, 1, 1,
                                   1, flags, /*site=*/7);
          ASSERT_EQ(takePending(), "");
          char text[256] = "";
          ASSERT_EQ(lathe_rt_int8_site_info(7, text, sizeof(text)), 1);
          std::string ran = text;
          if (c < 8)
            EXPECT_EQ(ran, "f32 (fewer than 8 input channels: oneDNN's f32 "
                           "kernel is faster)");
          else
            EXPECT_EQ(
                ran.rfind(isSigned ? "int8 (s8 x s8" : "int8 (u8 x s8", 0), 0u)
                << ran;
          double worst = 0, maxRef = 0;
          for (int64_t n = 0; n < s.n; ++n)
            for (int64_t f = 0; f < s.f; ++f)
              for (int64_t h = 0; h < s.oh; ++h)
                for (int64_t w = 0; w < s.ow; ++w) {
                  size_t at = size_t(((n * s.f + f) * s.oh + h) * s.ow + w);
                  float got =
                      nhwc ? y[((n * s.oh + h) * s.ow + w) * s.f + f] : y[at];
                  ASSERT_LE(std::fabs(got - ref[at]), bound[at])
                      << "at n " << n << " f " << f << " h " << h << " w " << w;
                  worst = std::max(worst, bound[at]);
                  maxRef = std::max(maxRef, std::fabs(ref[at]));
                }
          // The bound is tight enough to catch a wrong scale or layout.
          EXPECT_LT(worst, 0.1 * maxRef);
        }
      }
}

} // namespace
