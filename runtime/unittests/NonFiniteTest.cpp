//===- NonFiniteTest.cpp - NaN and +-Inf through every runtime kernel -----===//
//
// Every kernel given NaN, +Inf and -Inf inputs must give what the reference
// pipeline (scalar loops over the same arith ops) gives: NaN where it gives
// NaN, an infinity of the same sign where it gives one, and finite values
// within rounding elsewhere. The references below are naive loops in double
// with the reference pipeline's semantics: ReLU is arith.maximumf (NaN wins),
// max pooling folds arith.maximumf from -inf, softmax subtracts the row
// maximum. Sums of non-finite terms do not depend on the summation order, so
// the expected NaN/Inf positions are exact.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/Attention.h"
#include "lathe/runtime/Sparse.h"

#include "TestUtils.h"

#include <limits>

using namespace lathe::test;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

/// The reference pipeline's activations (ReLU as arith.maximumf: NaN wins).
double refAct(int act, double x) {
  if (act == LATHE_ACT_RELU)
    return std::isnan(x) ? x : std::max(x, 0.0);
  return refActivation(act, x);
}

/// NaN exactly where `expected` is NaN, infinities of the same sign exactly
/// where it has them, finite values within tol * max(1, |expected|).
/// `expected` is rounded to float first (a double beyond FLT_MAX is an
/// overflow to infinity in float arithmetic).
void expectSameValues(const std::vector<float> &actual,
                      const std::vector<double> &expected, double tol = 1e-4) {
  ASSERT_EQ(actual.size(), expected.size());
  int reported = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    float want = static_cast<float>(expected[i]);
    float got = actual[i];
    bool ok;
    if (std::isnan(want) || std::isnan(got))
      ok = std::isnan(want) && std::isnan(got);
    else if (std::isinf(want) || std::isinf(got))
      ok = want == got;
    else
      ok = std::fabs(double(got) - expected[i]) <=
           tol * std::max(1.0, std::fabs(expected[i]));
    if (!ok && reported++ < 8)
      ADD_FAILURE() << "at flat index " << i << ": got " << got << ", want "
                    << want;
  }
}

int64_t actFlag(int act) { return int64_t(act) << LATHE_MM_ACT_SHIFT; }

class NonFiniteTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_EQ(takePending(), ""); }
  void TearDown() override {
    EXPECT_EQ(takePending(), "");
    lathe_rt_clear_caches();
  }
};

//===----------------------------------------------------------------------===//
// Matmul with every fused epilogue
//===----------------------------------------------------------------------===//

/// act(A x B + bias) in float64 with the product and bias rounded to float
/// as the kernels round them (B [k, n] row-major).
std::vector<double> refLinear(const std::vector<float> &a,
                              const std::vector<float> &b,
                              const std::vector<float> &bias, int64_t m,
                              int64_t k, int64_t n, int act) {
  std::vector<double> y(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t q = 0; q < k; ++q)
        acc += double(a[i * k + q]) * b[q * n + j];
      y[i * n + j] =
          refAct(act, static_cast<float>(static_cast<float>(acc) + bias[j]));
    }
  return y;
}

/// C = act(A x B + bias) + res against the naive reference, for every
/// activation, constant and non-constant B, with and without a residual.
void checkMatmul(int64_t m, int64_t k, int64_t n, std::vector<float> a,
                 std::vector<float> b, std::vector<float> bias,
                 std::vector<float> res, const char *what) {
  const int acts[] = {LATHE_ACT_NONE,     LATHE_ACT_RELU,
                      LATHE_ACT_GELU_ERF, LATHE_ACT_GELU_TANH,
                      LATHE_ACT_SIGMOID,  LATHE_ACT_TANH};
  for (int act : acts)
    for (bool constB : {false, true})
      for (bool withRes : {false, true}) {
        SCOPED_TRACE(testing::Message()
                     << what << ": " << m << "x" << k << "x" << n << " act "
                     << act << (constB ? " const B" : "")
                     << (withRes ? " residual" : ""));
        // Rounded to float as the product is (overflow included).
        std::vector<double> ref = refLinear(a, b, bias, m, k, n, act);
        if (withRes)
          for (int64_t i = 0; i < m * n; ++i)
            ref[i] = static_cast<float>(ref[i]) + double(res[i]);
        std::vector<float> c(m * n, 7.f);
        MemRef ma(a.data(), {m, k}), mb(b.data(), {k, n}), mc(c.data(), {m, n}),
            mbias(bias.data(), {n}), mres(res.data(), {m, n});
        int64_t flags = LATHE_MM_HAS_BIAS | actFlag(act) |
                        (constB ? LATHE_MM_CONST_B : 0) |
                        (withRes ? LATHE_MM_HAS_RESIDUAL : 0);
        lathe_rt_matmul_f32(2, ma.desc(), 2, mb.desc(), 1, mbias.desc(), 2,
                            mres.desc(), 2, mc.desc(), flags);
        ASSERT_EQ(takePending(), "");
        expectSameValues(c, ref);
        lathe_rt_clear_caches(); // constant B: the next case changes B
      }
}

TEST_F(NonFiniteTest, MatmulEpiloguesPropagateNaNAndInf) {
  // Small (scalar tails) and brgemm-sized problems; with a constant B, up to
  // 8 rows run as a skinny product (SkinnyMatmul.h).
  for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{6, 40, 33},
                         {64, 256, 128},
                         {4, 300, 70},
                         {8, 129, 200}}) {
    auto a = randomVector(m * k, 1), b = randomVector(k * n, 2);
    auto bias = randomVector(n, 3), res = randomVector(m * n, 4);
    checkMatmul(m, k, n, a, b, bias, res, "finite");
    a[0 * k + 3] = kNaN;
    a[1 * k + 5] = kInf;
    a[2 * k + 7] = -kInf;
    a[3 * k + 1] = kInf;  // +Inf and -Inf in one row: NaN where the
    a[3 * k + 2] = -kInf; // products have the same sign
    checkMatmul(m, k, n, a, b, bias, res, "A");
    a = randomVector(m * k, 1);
    b[4 * n + 2] = kNaN;
    b[5 * n + 3] = kInf;
    checkMatmul(m, k, n, a, b, bias, res, "B");
    b = randomVector(k * n, 2);
    bias[1] = kNaN;
    bias[2] = -kInf;
    bias[3] = kInf;
    res[2 * n + 1] = kNaN;
    res[3 * n + 4] = -kInf;
    checkMatmul(m, k, n, a, b, bias, res, "bias and residual");
  }
}

/// Finite operands whose products overflow: +Inf before the activation.
TEST_F(NonFiniteTest, MatmulOverflowToInfinity) {
  const int64_t m = 8, k = 64, n = 48;
  std::vector<float> a(m * k, 1e30f), b(k * n, 1e10f), bias(n, 0.f),
      res(m * n, 1.f);
  for (int64_t q = 0; q < k; ++q)
    for (int64_t j = 0; j < n; j += 2)
      b[q * n + j] = -1e10f; // even columns: -Inf
  checkMatmul(m, k, n, a, b, bias, res, "overflow");
}

/// K = 0: C = act(bias) + residual without a product (the scalar path).
TEST_F(NonFiniteTest, MatmulWithoutProductKeepsNaN) {
  std::vector<float> a(1), b(1), bias = {kNaN, -kInf, kInf, -2.f, 3.f},
                                 c(2 * 5, 7.f);
  MemRef ma(a.data(), {2, 0}), mb(b.data(), {0, 5}), mbias(bias.data(), {5}),
      mc(c.data(), {2, 5});
  lathe_rt_matmul_f32(2, ma.desc(), 2, mb.desc(), 1, mbias.desc(), 2, mc.desc(),
                      2, mc.desc(),
                      LATHE_MM_HAS_BIAS | actFlag(LATHE_ACT_RELU));
  ASSERT_EQ(takePending(), "");
  std::vector<double> ref;
  for (int i = 0; i < 2; ++i)
    for (float v : bias)
      ref.push_back(refAct(LATHE_ACT_RELU, v));
  expectSameValues(c, ref);
}

/// Batched, strided A (each batch's [M, K] stored transposed) and the scaled
/// entry point: the scan reads views, not just dense buffers.
TEST_F(NonFiniteTest, MatmulStridedBatchedAndScaled) {
  const int64_t batch = 3, m = 5, k = 20, n = 17;
  auto at = randomVector(batch * k * m, 70), b = randomVector(k * n, 71);
  at[(2 * k + 4) * m + 3] = kNaN;  // batch 2, A[3, 4]
  at[(1 * k + 6) * m + 1] = -kInf; // batch 1, A[1, 6]
  std::vector<double> ref(batch * m * n);
  for (int64_t p = 0; p < batch; ++p)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t q = 0; q < k; ++q)
          acc += double(at[(p * k + q) * m + i]) * b[q * n + j];
        ref[(p * m + i) * n + j] = refAct(LATHE_ACT_RELU, 0.5f * float(acc));
      }
  std::vector<float> c(batch * m * n, 7.f);
  MemRef ma(at.data(), {batch, m, k}, {k * m, 1, m}), mb(b.data(), {k, n}),
      mc(c.data(), {batch, m, n});
  lathe_rt_matmul_scaled_f32(3, ma.desc(), 2, mb.desc(), 0, nullptr, 0, nullptr,
                             3, mc.desc(), 0.5f,
                             actFlag(LATHE_ACT_RELU) | LATHE_MM_CONST_B);
  ASSERT_EQ(takePending(), "");
  expectSameValues(c, ref);
}

//===----------------------------------------------------------------------===//
// Convolution (direct and Winograd shapes) and convolution + pooling
//===----------------------------------------------------------------------===//

struct ConvCase {
  int64_t n, c, h, w, f, k, pad;
  int64_t oh() const { return h + 2 * pad - k + 1; }
  int64_t ow() const { return w + 2 * pad - k + 1; }
};

/// NCHW naive convolution (stride 1), pre-activation rounded to float.
std::vector<double> refConv(const ConvCase &s, const std::vector<float> &x,
                            const std::vector<float> &wt,
                            const std::vector<float> &bias, int act) {
  std::vector<double> y(s.n * s.f * s.oh() * s.ow());
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t f = 0; f < s.f; ++f)
      for (int64_t oh = 0; oh < s.oh(); ++oh)
        for (int64_t ow = 0; ow < s.ow(); ++ow) {
          double acc = 0;
          for (int64_t c = 0; c < s.c; ++c)
            for (int64_t i = 0; i < s.k; ++i)
              for (int64_t j = 0; j < s.k; ++j) {
                int64_t ih = oh - s.pad + i, iw = ow - s.pad + j;
                // Padding is tensor.pad's zeros, multiplied like any input
                // (0 * NaN is NaN).
                double v = ih < 0 || ih >= s.h || iw < 0 || iw >= s.w
                               ? 0.0
                               : x[((n * s.c + c) * s.h + ih) * s.w + iw];
                acc += v * wt[((f * s.c + c) * s.k + i) * s.k + j];
              }
          float pre = static_cast<float>(static_cast<float>(acc) + bias[f]);
          y[((n * s.f + f) * s.oh() + oh) * s.ow() + ow] = refAct(act, pre);
        }
  return y;
}

/// Max pooling (window = stride = p) of an NCHW tensor of [n, c, h, w],
/// arith.maximumf folded from -inf.
std::vector<double> refMaxPool(const std::vector<double> &x, int64_t n,
                               int64_t c, int64_t h, int64_t w, int64_t p) {
  int64_t ph = (h - p) / p + 1, pw = (w - p) / p + 1;
  std::vector<double> y(n * c * ph * pw);
  for (int64_t b = 0; b < n * c; ++b)
    for (int64_t i = 0; i < ph; ++i)
      for (int64_t j = 0; j < pw; ++j) {
        double m = -INFINITY;
        for (int64_t a = 0; a < p; ++a)
          for (int64_t e = 0; e < p; ++e) {
            double v = x[(b * h + i * p + a) * w + j * p + e];
            m = std::isnan(v) || std::isnan(m) ? NAN : std::max(m, v);
          }
        y[(b * ph + i) * pw + j] = m;
      }
  return y;
}

void checkConv(const ConvCase &s, const std::vector<float> &x,
               const std::vector<float> &wt, const std::vector<float> &bias,
               const char *what) {
  for (int act : {LATHE_ACT_NONE, LATHE_ACT_RELU, LATHE_ACT_GELU_ERF})
    for (bool constW : {false, true})
      for (int64_t layout : {0, 1}) {
        SCOPED_TRACE(testing::Message()
                     << what << ": act " << act << (constW ? " const" : "")
                     << " layout " << layout);
        bool nhwc = layout == 1;
        std::vector<float> xl = x, wl = wt;
        if (nhwc) {
          for (int64_t n = 0; n < s.n; ++n)
            for (int64_t c = 0; c < s.c; ++c)
              for (int64_t h = 0; h < s.h; ++h)
                for (int64_t w = 0; w < s.w; ++w)
                  xl[((n * s.h + h) * s.w + w) * s.c + c] =
                      x[((n * s.c + c) * s.h + h) * s.w + w];
          for (int64_t f = 0; f < s.f; ++f)
            for (int64_t c = 0; c < s.c; ++c)
              for (int64_t i = 0; i < s.k * s.k; ++i)
                wl[(i * s.c + c) * s.f + f] = wt[(f * s.c + c) * s.k * s.k + i];
        }
        int64_t flags =
            LATHE_MM_HAS_BIAS | actFlag(act) | (constW ? LATHE_MM_CONST_B : 0);
        auto ref = refConv(s, x, wt, bias, act);
        MemRef mx = nhwc ? MemRef(xl.data(), {s.n, s.h, s.w, s.c})
                         : MemRef(xl.data(), {s.n, s.c, s.h, s.w});
        MemRef mw = nhwc ? MemRef(wl.data(), {s.k, s.k, s.c, s.f})
                         : MemRef(wl.data(), {s.f, s.c, s.k, s.k});
        MemRef mb(const_cast<float *>(bias.data()), {s.f});
        auto toNchw = [&](const std::vector<float> &y, int64_t h, int64_t w) {
          if (!nhwc)
            return y;
          std::vector<float> r(y.size());
          for (int64_t n = 0; n < s.n; ++n)
            for (int64_t f = 0; f < s.f; ++f)
              for (int64_t i = 0; i < h * w; ++i)
                r[(n * s.f + f) * h * w + i] = y[(n * h * w + i) * s.f + f];
          return r;
        };
        {
          std::vector<float> y(ref.size(), 7.f);
          MemRef my = nhwc ? MemRef(y.data(), {s.n, s.oh(), s.ow(), s.f})
                           : MemRef(y.data(), {s.n, s.f, s.oh(), s.ow()});
          lathe_rt_conv2d_f32(4, mx.desc(), 4, mw.desc(), 1, mb.desc(), 4,
                              my.desc(), layout, 1, 1, s.pad, s.pad, 1, 1,
                              flags);
          ASSERT_EQ(takePending(), "");
          expectSameValues(toNchw(y, s.oh(), s.ow()), ref);
        }
        {
          SCOPED_TRACE("with 2x2 max pooling");
          auto pooled = refMaxPool(ref, s.n, s.f, s.oh(), s.ow(), 2);
          int64_t ph = s.oh() / 2, pw = s.ow() / 2;
          std::vector<float> y(pooled.size(), 7.f);
          MemRef my = nhwc ? MemRef(y.data(), {s.n, ph, pw, s.f})
                           : MemRef(y.data(), {s.n, s.f, ph, pw});
          lathe_rt_conv2d_pool_f32(4, mx.desc(), 4, mw.desc(), 1, mb.desc(), 4,
                                   my.desc(), layout, 1, 1, s.pad, s.pad, 1, 1,
                                   flags, LATHE_POOL_MAX, 2, 2, 2, 2, 1, 1);
          ASSERT_EQ(takePending(), "");
          expectSameValues(toNchw(y, ph, pw), pooled);
        }
        lathe_rt_clear_caches();
      }
}

TEST_F(NonFiniteTest, ConvPropagatesNaNAndInf) {
  // 16 -> 16 channels, 3x3, 10x10 output: Winograd's shape; and a small
  // direct one.
  for (ConvCase s :
       {ConvCase{1, 16, 12, 12, 16, 3, 0}, ConvCase{2, 3, 8, 7, 5, 3, 1}}) {
    auto x = randomVector(s.n * s.c * s.h * s.w, 10);
    auto wt = randomVector(s.f * s.c * s.k * s.k, 11);
    auto bias = randomVector(s.f, 12);
    checkConv(s, x, wt, bias, "finite");
    auto at = [&](int64_t c, int64_t h, int64_t w) -> float & {
      return x[((0 * s.c + c) * s.h + h) * s.w + w];
    };
    at(0, 2, 2) = kNaN;
    at(1, 5, 6) = kInf;
    at(2, 6, 1) = -kInf;
    checkConv(s, x, wt, bias, "input");
    x = randomVector(s.n * s.c * s.h * s.w, 10);
    wt[5] = kNaN;
    bias[1] = kInf;
    checkConv(s, x, wt, bias, "filter and bias");
  }
}

/// All-positive finite activations that overflow inside the convolution:
/// the direct sum is +Inf; a Winograd transform (differences of inputs)
/// would turn the overflow into NaN. Also +Inf inputs (the next layer).
TEST_F(NonFiniteTest, ConvOverflowIsInfinityNotNaN) {
  ConvCase s{1, 16, 12, 12, 16, 3, 1};
  std::vector<float> wt(s.f * s.c * 9, 1e10f), bias(s.f, 0.5f);
  std::vector<float> x(s.n * s.c * s.h * s.w, 3e30f);
  checkConv(s, x, wt, bias, "overflow");
  std::fill(x.begin(), x.end(), kInf);
  checkConv(s, x, wt, bias, "+Inf input");
  // Negative weights: -Inf outputs, whole pooling windows of -inf (no
  // activation) and GELU(-Inf) = NaN from finite inputs.
  std::fill(x.begin(), x.end(), 3e30f);
  std::fill(wt.begin(), wt.end(), -1e10f);
  checkConv(s, x, wt, bias, "overflow to -Inf");
}

/// One NCHW convolution call (stride 1, constant filter, bias, `act`) with
/// the given extra layout bits; `accumulate` adds y's contents first.
void runConv(const ConvCase &s, std::vector<float> &x, std::vector<float> &wt,
             std::vector<float> &bias, std::vector<float> &y, int64_t layout,
             bool accumulate, int act = LATHE_ACT_RELU) {
  MemRef mx(x.data(), {s.n, s.c, s.h, s.w}),
      mw(wt.data(), {s.f, s.c, s.k, s.k}), mb(bias.data(), {s.f}),
      my(y.data(), {s.n, s.f, s.oh(), s.ow()});
  int64_t flags = LATHE_MM_HAS_BIAS | LATHE_MM_CONST_B | actFlag(act) |
                  (accumulate ? LATHE_MM_HAS_RESIDUAL : 0);
  lathe_rt_conv2d_f32(4, mx.desc(), 4, mw.desc(), 1, mb.desc(), 4, my.desc(),
                      layout, 1, 1, s.pad, s.pad, 1, 1, flags);
}

/// relu(conv(x) + bias + residual) in double, the sum rounded to float.
std::vector<double> refResidualConv(const ConvCase &s,
                                    const std::vector<float> &x,
                                    const std::vector<float> &wt,
                                    const std::vector<float> &bias,
                                    const std::vector<double> &residual) {
  std::vector<double> y = refConv(s, x, wt, bias, LATHE_ACT_NONE);
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = refAct(LATHE_ACT_RELU,
                  static_cast<float>(float(y[i]) + float(residual[i])));
  return y;
}

std::vector<float> toFloat(const std::vector<double> &v) {
  return std::vector<float>(v.begin(), v.end());
}

/// A chain whose second and third convolutions take their input and
/// residual bounds from the convolutions that wrote them
/// (LATHE_CONV_INPUT_FROM_CONV / LATHE_CONV_RESIDUAL_FROM_CONV): finite data,
/// a NaN and an Inf in the first input (the first convolution then records
/// nothing; the next ones scan), and a first output whose recorded bound is
/// too large to show Winograd safe while its values are small (a rescan).
TEST_F(NonFiniteTest, ConvChainBoundsMatchReference) {
  const int64_t in = LATHE_CONV_INPUT_FROM_CONV,
                both = in | LATHE_CONV_RESIDUAL_FROM_CONV;
  // 16 -> 16 channels, 3x3, 12x12 with padding 1: Winograd's shape.
  ConvCase s{1, 16, 12, 12, 16, 3, 1}, pointwise{1, 16, 12, 12, 16, 1, 0};
  auto w2 = randomVector(16 * 16 * 9, 21), w3 = randomVector(16 * 16 * 9, 22);
  auto b2 = randomVector(16, 24), b3 = randomVector(16, 25);
  auto check = [&](const ConvCase &first, std::vector<float> x,
                   std::vector<float> w1, std::vector<float> b1,
                   const char *what) {
    SCOPED_TRACE(what);
    std::vector<float> y1(16 * 144, 7.f), y2(16 * 144, 7.f);
    runConv(first, x, w1, b1, y1, 0, false);
    runConv(s, y1, w2, b2, y2, in, false);
    runConv(s, y2, w3, b3, y1, both, true);
    ASSERT_EQ(takePending(), "");
    auto ref1 = refConv(first, x, w1, b1, LATHE_ACT_RELU);
    auto ref2 = refConv(s, toFloat(ref1), w2, b2, LATHE_ACT_RELU);
    auto ref3 = refResidualConv(s, toFloat(ref2), w3, b3, ref1);
    expectSameValues(y2, ref2);
    expectSameValues(y1, ref3);
  };
  auto x = randomVector(16 * 144, 20);
  auto w1 = randomVector(16 * 16 * 9, 26), b1 = randomVector(16, 23);
  check(s, x, w1, b1, "finite");
  x[5 * 144 + 40] = kNaN;
  x[9 * 144 + 100] = kInf;
  check(s, x, w1, b1, "NaN and Inf input");
  // 2^100 in every channel, 1x1 weights +1 and -1 in turn, no bias: the
  // products cancel exactly in any order, so the first output is 0, but its
  // bound (2^100 * 16 * 4) times 16 channels times 2^24 exceeds FLT_MAX.
  std::vector<float> big(16 * 144, 0x1p100f), alternating(16 * 16),
      zeros(16, 0.f);
  for (size_t i = 0; i < alternating.size(); ++i)
    alternating[i] = i % 2 ? -1.f : 1.f;
  check(pointwise, big, alternating, zeros, "bound too large for Winograd");
  check(s, randomVector(16 * 144, 27), w1, b1, "finite again");
}

/// A convolution without activation (no scan of its own) whose constant
/// filter holds a NaN, reading a recorded input bound: its output holds NaN,
/// so it must record no bound, and the ReLU convolution after it scans and
/// keeps the NaN.
TEST_F(NonFiniteTest, ConvChainNaNFilterRecordsNoBound) {
  ConvCase s{1, 16, 12, 12, 16, 3, 1}, pointwise{1, 16, 12, 12, 16, 1, 0};
  auto x = randomVector(16 * 144, 60);
  auto w1 = randomVector(16 * 16 * 9, 61), w2 = randomVector(16 * 16, 62),
       w3 = randomVector(16 * 16, 63);
  auto b1 = randomVector(16, 64), b2 = randomVector(16, 65),
       b3 = randomVector(16, 66);
  w2[3 * 16 + 5] = kNaN; // output channel 3
  std::vector<float> y1(16 * 144, 7.f), y2(16 * 144, 7.f), y3(16 * 144, 7.f);
  runConv(s, x, w1, b1, y1, 0, false);
  runConv(pointwise, y1, w2, b2, y2, LATHE_CONV_INPUT_FROM_CONV, false,
          LATHE_ACT_NONE);
  runConv(pointwise, y2, w3, b3, y3, LATHE_CONV_INPUT_FROM_CONV, false);
  ASSERT_EQ(takePending(), "");
  auto ref1 = refConv(s, x, w1, b1, LATHE_ACT_RELU);
  auto ref2 = refConv(pointwise, toFloat(ref1), w2, b2, LATHE_ACT_NONE);
  expectSameValues(y2, ref2);
  expectSameValues(y3,
                   refConv(pointwise, toFloat(ref2), w3, b3, LATHE_ACT_RELU));
}

/// A chain of linear layers with constant weights whose later layers read
/// the bound the previous one recorded (LATHE_MM_A_FROM_KERNEL) instead of
/// scanning: ReLU, ReLU, no activation with a NaN in its weights, written
/// over the first layer's output (its output holds NaN: the first layer's
/// bound must go and no new one may be recorded), ReLU (must scan and keep
/// the NaN).
/// Also with NaN and Inf in the first input (no bound at all) and with a
/// bound too large to record (products that cancel exactly).
TEST_F(NonFiniteTest, MatmulChainBoundsMatchReference) {
  const int64_t m = 24, k = 64, n = 48;
  const int64_t from = LATHE_MM_A_FROM_KERNEL;
  auto w2 = randomVector(n * n, 81), w3 = randomVector(n * n, 82),
       w4 = randomVector(n * n, 83);
  auto b2 = randomVector(n, 84), b3 = randomVector(n, 85),
       b4 = randomVector(n, 86);
  w3[7 * n + 5] = kNaN; // output column 5 of the third layer
  auto check = [&](std::vector<float> x, std::vector<float> w1,
                   std::vector<float> b1, const char *what) {
    SCOPED_TRACE(what);
    std::vector<float> y1(m * n, 7.f), y2(m * n, 7.f), y4(m * n, 7.f);
    std::vector<float> &y3 = y1;
    auto layer = [&](std::vector<float> &in, int64_t kIn, std::vector<float> &w,
                     std::vector<float> &bias, std::vector<float> &out, int act,
                     int64_t extra) {
      MemRef ma(in.data(), {m, kIn}), mb(w.data(), {kIn, n}),
          mbias(bias.data(), {n}), mc(out.data(), {m, n});
      lathe_rt_matmul_f32(
          2, ma.desc(), 2, mb.desc(), 1, mbias.desc(), 0, nullptr, 2, mc.desc(),
          LATHE_MM_HAS_BIAS | LATHE_MM_CONST_B | actFlag(act) | extra);
    };
    layer(x, k, w1, b1, y1, LATHE_ACT_RELU, 0);
    layer(y1, n, w2, b2, y2, LATHE_ACT_RELU, from);
    layer(y2, n, w3, b3, y3, LATHE_ACT_NONE, from);
    layer(y3, n, w4, b4, y4, LATHE_ACT_RELU, from);
    ASSERT_EQ(takePending(), "");
    auto r1 = refLinear(x, w1, b1, m, k, n, LATHE_ACT_RELU);
    auto r2 = refLinear(toFloat(r1), w2, b2, m, n, n, LATHE_ACT_RELU);
    auto r3 = refLinear(toFloat(r2), w3, b3, m, n, n, LATHE_ACT_NONE);
    auto r4 = refLinear(toFloat(r3), w4, b4, m, n, n, LATHE_ACT_RELU);
    expectSameValues(y2, r2);
    expectSameValues(y3, r3);
    expectSameValues(y4, r4);
    // Constant weights are packed once per address: the next case's copies
    // may reuse these addresses.
    lathe_rt_clear_caches();
  };
  auto x = randomVector(m * k, 80);
  auto w1 = randomVector(k * n, 87), b1 = randomVector(n, 88);
  check(x, w1, b1, "finite");
  x[3 * k + 9] = kNaN;
  x[11 * k + 2] = kInf;
  check(x, w1, b1, "NaN and Inf input");
  // 2^100 everywhere, weights +1 and -1 in turn along K, no bias: each
  // product cancels exactly to 0, but its bound (2^100 * k) is too large to
  // record.
  std::vector<float> big(m * k, 0x1p100f), alternating(k * n), zeros(n, 0.f);
  for (int64_t q = 0; q < k; ++q)
    for (int64_t j = 0; j < n; ++j)
      alternating[q * n + j] = q % 2 ? -1.f : 1.f;
  check(big, alternating, zeros, "bound too large to record");
  check(randomVector(m * k, 89), w1, b1, "finite again");
}

/// A max pooling between two convolutions passes the first one's bound on
/// (LATHE_CONV_INPUT_FROM_CONV on the pooling and on the second
/// convolution); with a NaN in the first input nothing is recorded and both
/// scan.
TEST_F(NonFiniteTest, ConvPoolChainBoundsMatchReference) {
  ConvCase s{1, 16, 12, 12, 16, 3, 1}, after{1, 16, 6, 6, 16, 3, 1};
  auto w1 = randomVector(16 * 16 * 9, 40), w2 = randomVector(16 * 16 * 9, 41);
  auto b1 = randomVector(16, 42), b2 = randomVector(16, 43);
  auto x = randomVector(16 * 144, 44);
  for (bool withNaN : {false, true}) {
    SCOPED_TRACE(withNaN ? "NaN input" : "finite");
    if (withNaN)
      x[3 * 144 + 50] = kNaN;
    std::vector<float> y1(16 * 144, 7.f), pooled(16 * 36, 7.f),
        y2(16 * 36, 7.f);
    runConv(s, x, w1, b1, y1, 0, false);
    MemRef my1(y1.data(), {1, 16, 12, 12}), mp(pooled.data(), {1, 16, 6, 6});
    lathe_rt_pool2d_padded_f32(4, my1.desc(), 4, mp.desc(),
                               LATHE_CONV_INPUT_FROM_CONV, LATHE_POOL_MAX, 2, 2,
                               2, 2, 1, 1, 0, 0, 0);
    runConv(after, pooled, w2, b2, y2, LATHE_CONV_INPUT_FROM_CONV, false);
    ASSERT_EQ(takePending(), "");
    auto ref1 = refConv(s, x, w1, b1, LATHE_ACT_RELU);
    auto refPooled = refMaxPool(ref1, 1, 16, 12, 12, 2);
    expectSameValues(pooled, refPooled);
    expectSameValues(
        y2, refConv(after, toFloat(refPooled), w2, b2, LATHE_ACT_RELU));
  }
}

/// An input large enough for the session's threads to share its scan, with
/// a NaN at its last element and an Inf in its middle.
TEST_F(NonFiniteTest, ConvScanSharedByThreads) {
  int saved = lathe_rt_get_num_threads();
  lathe_rt_set_num_threads(2);
  ConvCase s{1, 64, 64, 64, 16, 1, 0};
  auto x = randomVector(64 * 64 * 64, 30);
  auto wt = randomVector(16 * 64, 31), bias = randomVector(16, 32);
  for (auto [pos, value] :
       {std::pair<int64_t, float>{64 * 64 * 64 - 1, kNaN},
        std::pair<int64_t, float>{32 * 64 * 64 + 7, kInf}}) {
    SCOPED_TRACE(testing::Message() << value << " at " << pos);
    std::vector<float> xi = x, y(16 * 64 * 64, 7.f);
    xi[pos] = value;
    runConv(s, xi, wt, bias, y, 0, false);
    ASSERT_EQ(takePending(), "");
    expectSameValues(y, refConv(s, xi, wt, bias, LATHE_ACT_RELU));
  }
  lathe_rt_set_num_threads(saved);
}

//===----------------------------------------------------------------------===//
// Max pooling
//===----------------------------------------------------------------------===//

TEST_F(NonFiniteTest, MaxPoolPropagatesNaNAndKeepsMinusInf) {
  const int64_t n = 1, c = 3, h = 6, w = 6;
  auto x = randomVector(n * c * h * w, 20);
  auto at = [&](int64_t ch, int64_t i, int64_t j) -> float & {
    return x[(ch * h + i) * w + j];
  };
  at(0, 0, 0) = kNaN; // first element of a window
  at(0, 1, 3) = kNaN; // last element of a window
  at(1, 2, 2) = kInf;
  for (int64_t i = 4; i < 6; ++i)
    for (int64_t j = 2; j < 4; ++j)
      at(2, i, j) = -kInf; // a window of -inf only
  at(2, 0, 0) = -kInf;     // and one -inf among finite values
  std::vector<double> xd(x.begin(), x.end());
  auto ref = refMaxPool(xd, n, c, h, w, 2);
  for (int64_t layout : {0, 1}) {
    SCOPED_TRACE(layout ? "NHWC" : "NCHW");
    std::vector<float> xl = x;
    if (layout)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < h * w; ++i)
          xl[i * c + ch] = x[ch * h * w + i];
    std::vector<float> y(ref.size(), 7.f);
    MemRef mx = layout ? MemRef(xl.data(), {n, h, w, c})
                       : MemRef(xl.data(), {n, c, h, w});
    MemRef my = layout ? MemRef(y.data(), {n, 3, 3, c})
                       : MemRef(y.data(), {n, c, 3, 3});
    lathe_rt_pool2d_f32(4, mx.desc(), 4, my.desc(), layout, LATHE_POOL_MAX, 2,
                        2, 2, 2, 1, 1, 0);
    ASSERT_EQ(takePending(), "");
    std::vector<float> got = y;
    if (layout)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < 9; ++i)
          got[ch * 9 + i] = y[i * c + ch];
    expectSameValues(got, ref);

    // Accumulating into an output that holds NaN and -inf already.
    std::vector<float> acc(ref.size(), -kInf);
    acc[4] = kNaN;
    MemRef ma = layout ? MemRef(acc.data(), {n, 3, 3, c})
                       : MemRef(acc.data(), {n, c, 3, 3});
    lathe_rt_pool2d_f32(4, mx.desc(), 4, ma.desc(), layout, LATHE_POOL_MAX, 2,
                        2, 2, 2, 1, 1, LATHE_POOL_ACCUMULATE);
    ASSERT_EQ(takePending(), "");
    std::vector<double> refAcc = ref;
    refAcc[layout ? (4 % c) * 9 + 4 / c : 4] = NAN;
    got = acc;
    if (layout)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < 9; ++i)
          got[ch * 9 + i] = acc[i * c + ch];
    expectSameValues(got, refAcc);
  }
}

//===----------------------------------------------------------------------===//
// Softmax, layer norm
//===----------------------------------------------------------------------===//

/// Rows: NaN, +Inf, two +Inf, -Inf among finite values, all -Inf, finite.
std::vector<float> specialRows(int64_t cols, unsigned seed) {
  auto x = randomVector(6 * cols, seed, -3.f, 3.f);
  x[0 * cols + 3] = kNaN;
  x[1 * cols + 5] = kInf;
  x[2 * cols + 1] = kInf;
  x[2 * cols + cols - 1] = kInf;
  x[3 * cols + 2] = -kInf;
  for (int64_t j = 0; j < cols; ++j)
    x[4 * cols + j] = -kInf;
  return x;
}

TEST_F(NonFiniteTest, SoftmaxMatchesMaxSubtraction) {
  for (int64_t cols : {5, 37}) {
    auto x = specialRows(cols, 30);
    int64_t rows = static_cast<int64_t>(x.size()) / cols;
    std::vector<double> ref(x.size());
    for (int64_t i = 0; i < rows; ++i) {
      double m = -INFINITY;
      for (int64_t j = 0; j < cols; ++j) {
        double v = x[i * cols + j];
        m = std::isnan(v) || std::isnan(m) ? NAN : std::max(m, v);
      }
      double sum = 0;
      for (int64_t j = 0; j < cols; ++j)
        sum += std::exp(double(x[i * cols + j]) - m);
      for (int64_t j = 0; j < cols; ++j)
        ref[i * cols + j] = std::exp(double(x[i * cols + j]) - m) / sum;
    }
    std::vector<float> y(x.size(), 7.f);
    MemRef mx(x.data(), {rows, cols}), my(y.data(), {rows, cols});
    lathe_rt_softmax_f32(2, mx.desc(), 2, my.desc(), 1);
    ASSERT_EQ(takePending(), "");
    SCOPED_TRACE(cols);
    expectSameValues(y, ref);
  }
}

TEST_F(NonFiniteTest, LayerNormPropagatesNaNAndInf) {
  for (int64_t cols : {5, 40}) {
    auto x = specialRows(cols, 31);
    int64_t rows = static_cast<int64_t>(x.size()) / cols;
    auto gamma = randomVector(cols, 32), beta = randomVector(cols, 33);
    const double eps = 1e-5;
    std::vector<double> ref(x.size());
    for (int64_t i = 0; i < rows; ++i) {
      double mean = 0, var = 0;
      for (int64_t j = 0; j < cols; ++j)
        mean += x[i * cols + j];
      mean /= cols;
      for (int64_t j = 0; j < cols; ++j)
        var += (x[i * cols + j] - mean) * (x[i * cols + j] - mean);
      var /= cols;
      for (int64_t j = 0; j < cols; ++j)
        ref[i * cols + j] =
            (x[i * cols + j] - mean) / std::sqrt(var + eps) * gamma[j] +
            beta[j];
    }
    std::vector<float> y(x.size(), 7.f);
    MemRef mx(x.data(), {rows, cols}), my(y.data(), {rows, cols}),
        mg(gamma.data(), {cols}), mb(beta.data(), {cols});
    lathe_rt_layer_norm_f32(2, mx.desc(), 1, mg.desc(), 1, mb.desc(), 2,
                            my.desc(), float(eps),
                            LATHE_LN_HAS_GAMMA | LATHE_LN_HAS_BETA);
    ASSERT_EQ(takePending(), "");
    SCOPED_TRACE(cols);
    expectSameValues(y, ref, 1e-3);
  }
}

//===----------------------------------------------------------------------===//
// Chunked attention
//===----------------------------------------------------------------------===//

/// Softmax attention in double with the reference's max subtraction (NaN
/// and +Inf scores make the row NaN). A row whose scores are all -inf is 0:
/// the kernel's documented convention for fully masked rows.
std::vector<double> refAttention(const std::vector<float> &q,
                                 const std::vector<float> &k,
                                 const std::vector<float> &v,
                                 const std::vector<float> &mask, int64_t lq,
                                 int64_t lk, int64_t d, double scale) {
  std::vector<double> o(lq * d, 0.0), s(lk);
  for (int64_t i = 0; i < lq; ++i) {
    double m = -INFINITY;
    for (int64_t j = 0; j < lk; ++j) {
      double dot = 0;
      for (int64_t e = 0; e < d; ++e)
        dot += double(q[i * d + e]) * k[j * d + e];
      s[j] = static_cast<float>(static_cast<float>(dot * scale) +
                                mask[i * lk + j]);
      m = std::isnan(s[j]) || std::isnan(m) ? NAN : std::max(m, s[j]);
    }
    if (m == -INFINITY)
      continue;
    double sum = 0;
    for (int64_t j = 0; j < lk; ++j)
      sum += std::exp(s[j] - m);
    for (int64_t j = 0; j < lk; ++j)
      for (int64_t e = 0; e < d; ++e)
        o[i * d + e] += std::exp(s[j] - m) / sum * v[j * d + e];
  }
  return o;
}

TEST_F(NonFiniteTest, AttentionPropagatesNaNAndInf) {
  const int64_t lq = 12, lk = 40, d = 8;
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    auto q = randomVector(lq * d, 40), k = randomVector(lk * d, 41),
         v = randomVector(lk * d, 42);
    std::vector<float> mask(lq * lk, 0.f);
    if (variant == 0) {
      q[0 * d + 1] = kNaN; // query row 0: NaN scores
      k[3 * d + 2] = kInf; // key 3: +-Inf scores (sign of q[i, 2])
    } else if (variant == 1) {
      v[7 * d + 4] = kNaN; // every row weighs key 7: column 4 NaN
      v[9 * d + 1] = -kInf;
    } else {
      // Row 2: a NaN score in the second key block, every other key masked
      // (the first block has no finite score); row 3: +Inf score.
      for (int64_t j = 0; j < lk; ++j)
        mask[2 * lk + j] = -kInf;
      mask[2 * lk + 20] = kNaN;
      mask[3 * lk + 30] = kInf;
    }
    auto ref = refAttention(q, k, v, mask, lq, lk, d, 0.5);
    std::vector<float> o(lq * d, 7.f);
    MemRef mq(q.data(), {1, lq, d}), mk(k.data(), {1, lk, d}),
        mv(v.data(), {1, lk, d}), mo(o.data(), {1, lq, d}),
        mm(mask.data(), {1, lq, lk});
    lathe_rt_chunked_attention_f32(3, mq.desc(), 3, mk.desc(), 3, mv.desc(), 3,
                                   mm.desc(), 0, nullptr, 3, mo.desc(), 0.5f, 4,
                                   16, 1);
    ASSERT_EQ(takePending(), "");
    expectSameValues(o, ref);
  }
}

/// NaN scores must not break the token selection (std::sort needs a strict
/// weak order): the call succeeds and keeps the right number of rows.
TEST_F(NonFiniteTest, CrossModalReduceWithNaNScores) {
  const int64_t h = 2, lq = 3, n = 64, d = 4, c = 5;
  auto q = randomVector(h * lq * d, 50), k = randomVector(h * n * d, 51),
       t = randomVector(n * c, 52);
  for (int64_t j = 0; j < n; j += 3)
    k[j * d] = kNaN;
  int64_t m = lathe_rt_cross_modal_kept_count(n, 0.25, 0.5);
  std::vector<float> o(m * c, 7.f);
  MemRef mq(q.data(), {h, lq, d}), mk(k.data(), {h, n, d}),
      mt(t.data(), {n, c}), mo(o.data(), {m, c});
  lathe_rt_cross_modal_reduce_f32(3, mq.desc(), 3, mk.desc(), 2, mt.desc(), 2,
                                  mo.desc(), 0.25, 0.5, 0.5f);
  ASSERT_EQ(takePending(), "");
  // Every output row is one of the tokens, in order.
  int64_t next = 0;
  for (int64_t r = 0; r < m; ++r) {
    while (next < n && t[next * c] != o[r * c])
      ++next;
    ASSERT_LT(next, n) << "output row " << r << " is not a later token";
    ++next;
  }
}

//===----------------------------------------------------------------------===//
// Sparse aggregation
//===----------------------------------------------------------------------===//

/// y = A x sums A's stored entries only (the op's semantics): a NaN in row j
/// of x reaches exactly the rows with an entry in column j, whether a tile
/// runs as CSR or as a dense block (whose absent entries are zeros).
TEST_F(NonFiniteTest, SpMMSumsStoredEntriesOnly) {
  const int64_t n = 40, f = 5, tile = 8;
  std::vector<int64_t> rowPtr = {0}, colIdx;
  std::vector<float> values;
  std::mt19937 gen(60);
  std::uniform_real_distribution<float> dist(0.1f, 1.f);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j)
      if ((i * 7 + j * 3) % 5 == 0 || i == j) {
        colIdx.push_back(j);
        values.push_back(dist(gen));
      }
    rowPtr.push_back(static_cast<int64_t>(colIdx.size()));
  }
  auto x = randomVector(n * f, 61);
  x[3 * f + 1] = kNaN;
  x[11 * f + 2] = kInf;
  x[20 * f + 0] = -kInf;
  std::vector<double> ref(n * f, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = rowPtr[i]; k < rowPtr[i + 1]; ++k)
      for (int64_t c = 0; c < f; ++c)
        ref[i * f + c] += double(values[k]) * x[colIdx[k] * f + c];
  MemRef rp(reinterpret_cast<float *>(rowPtr.data()), {n + 1}),
      ci(reinterpret_cast<float *>(colIdx.data()),
         {static_cast<int64_t>(colIdx.size())}),
      v(values.data(), {static_cast<int64_t>(values.size())}),
      xm(x.data(), {n, f});
  std::vector<int8_t> none(1);
  std::vector<int64_t> noPerm(1);
  MemRef cm(reinterpret_cast<float *>(none.data()), {1}),
      pm(reinterpret_cast<float *>(noPerm.data()), {1});
  {
    SCOPED_TRACE("CSR");
    std::vector<float> y(n * f, 7.f);
    MemRef ym(y.data(), {n, f});
    lathe_rt_spmm_csr_f32(1, rp.desc(), 1, ci.desc(), 1, v.desc(), 2, xm.desc(),
                          2, ym.desc(), n, n, 0);
    ASSERT_EQ(takePending(), "");
    expectSameValues(y, ref);
  }
  for (int64_t ppm : {1, 1000000}) { // every non-empty tile dense; none
    SCOPED_TRACE(testing::Message() << "tiled, threshold " << ppm << " ppm");
    std::vector<float> y(n * f, 7.f);
    MemRef ym(y.data(), {n, f});
    lathe_rt_spmm_tiled_f32(1, rp.desc(), 1, ci.desc(), 1, v.desc(), 1,
                            cm.desc(), 1, pm.desc(), 2, xm.desc(), 2, ym.desc(),
                            n, n, tile, ppm, LATHE_SPMM_CLASSIFY);
    ASSERT_EQ(takePending(), "");
    expectSameValues(y, ref);
    lathe_rt_spmm_clear_plans();
  }
}

} // namespace
