//===- RnnTest.cpp - lathe_rt_rnn_f32 against a naive reference ----------===//

#include "TestUtils.h"

#include <cmath>
#include <functional>
#include <limits>

using namespace lathe::test;

namespace {

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

/// `v` rounded to float, then to bf16 (to nearest, ties to even).
double roundBf16(double v) {
  float f = static_cast<float>(v);
  if (std::isnan(f) || std::isinf(f))
    return f;
  return fromBf16(toBf16(f));
}

struct RnnCase {
  int cell;
  bool reverse;
  int64_t t, n, in, h;
  std::vector<int64_t> gates; // block of each canonical gate
  bool recurrentBias;
};

/// The lathe.rnn semantics in double: returns y [T, N, H], hT, cT.
void reference(const RnnCase &c, const std::vector<float> &x,
               const std::vector<float> &w, const std::vector<float> &r,
               const std::vector<float> &b, const std::vector<float> &rb,
               const std::vector<float> &h0, const std::vector<float> &c0,
               std::vector<double> &y, std::vector<double> &hT,
               std::vector<double> &cT, bool bf16Recurrent = false) {
  // bf16 recurrent products: R and h rounded to bf16, exact products summed.
  auto rnd = [&](double v) { return bf16Recurrent ? roundBf16(v) : v; };
  int64_t hid = c.h;
  std::vector<double> h(h0.begin(), h0.end()), cs(c0.begin(), c0.end());
  y.assign(c.t * c.n * hid, 0);
  for (int64_t s = 0; s < c.t; ++s) {
    int64_t t = c.reverse ? c.t - 1 - s : s;
    std::vector<double> hn(c.n * hid), cn(c.n * hid);
    for (int64_t n = 0; n < c.n; ++n)
      for (int64_t o = 0; o < hid; ++o) {
        // Projections of block k at output o, with or without h scaled.
        auto xproj = [&](int64_t k) {
          double acc = b[k * hid + o];
          for (int64_t i = 0; i < c.in; ++i)
            acc += x[(t * c.n + n) * c.in + i] * w[(k * hid + o) * c.in + i];
          return acc;
        };
        auto hproj = [&](int64_t k, const std::vector<double> &hv) {
          double acc = c.recurrentBias ? rb[k * hid + o] : 0.0;
          for (int64_t i = 0; i < hid; ++i)
            acc += rnd(hv[n * hid + i]) * rnd(r[(k * hid + o) * hid + i]);
          return acc;
        };
        const std::vector<int64_t> &k = c.gates;
        if (c.cell == LATHE_RNN_LSTM) {
          double ig = sigmoid(xproj(k[0]) + hproj(k[0], h));
          double fg = sigmoid(xproj(k[1]) + hproj(k[1], h));
          double cg = std::tanh(xproj(k[2]) + hproj(k[2], h));
          double og = sigmoid(xproj(k[3]) + hproj(k[3], h));
          double cv = fg * cs[n * hid + o] + ig * cg;
          cn[n * hid + o] = cv;
          hn[n * hid + o] = og * std::tanh(cv);
          continue;
        }
        double z = sigmoid(xproj(k[0]) + hproj(k[0], h));
        double hc;
        if (c.cell == LATHE_RNN_LBR_GRU) {
          double rg = sigmoid(xproj(k[1]) + hproj(k[1], h));
          hc = std::tanh(xproj(k[2]) + rg * hproj(k[2], h));
        } else {
          // (r ⊙ h) R_h^T needs r for every hidden unit of this row.
          std::vector<double> rh(c.n * hid, 0);
          for (int64_t i = 0; i < hid; ++i) {
            double acc = b[k[1] * hid + i] +
                         (c.recurrentBias ? rb[k[1] * hid + i] : 0.0);
            for (int64_t j = 0; j < c.in; ++j)
              acc +=
                  x[(t * c.n + n) * c.in + j] * w[(k[1] * hid + i) * c.in + j];
            for (int64_t j = 0; j < hid; ++j)
              acc += h[n * hid + j] * r[(k[1] * hid + i) * hid + j];
            rh[n * hid + i] = sigmoid(acc) * h[n * hid + i];
          }
          hc = std::tanh(xproj(k[2]) + hproj(k[2], rh));
        }
        hn[n * hid + o] = (1 - z) * hc + z * h[n * hid + o];
      }
    h = hn;
    if (c.cell == LATHE_RNN_LSTM)
      cs = cn;
    std::copy(h.begin(), h.end(), y.begin() + t * c.n * hid);
  }
  hT = h;
  cT = cs;
}

class RnnTest : public ::testing::Test {
protected:
  /// NaN where the reference is NaN (as PyTorch propagates it), else within
  /// `tolerance`.
  void expectClose(float got, double want) {
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << got;
    } else {
      ASSERT_NEAR(got, want, tolerance);
      maxError = std::max(maxError, std::abs(got - want));
    }
  }

  /// The reference rounds R and h to bf16 in the recurrent products (the
  /// bf16 path of a bf16 session), and its tolerance.
  bool bf16Reference = false;
  double tolerance = 2e-5;
  /// The largest difference expectClose has seen.
  double maxError = 0;

  void SetUp() override { ASSERT_EQ(takePending(), ""); }
  void TearDown() override {
    EXPECT_EQ(takePending(), "");
    lathe_rt_clear_caches();
  }

  void nanAndInfinity(const RnnCase &c, unsigned seed);

  /// Runs `c` twice (the second call reuses the primitive and, with
  /// constant weights, the packed weights); y is written into direction 1
  /// of a [T, 2, N, H] buffer when `stridedY`.
  void check(const RnnCase &c, bool constWeights, bool stridedY, unsigned seed,
             bool batchFirst = false,
             const std::function<void(std::vector<float> &)> &tweakX = {}) {
    int64_t g = c.cell == LATHE_RNN_LSTM ? 4 : 3, hid = c.h;
    auto x = randomVector(c.t * c.n * c.in, seed);
    if (tweakX)
      tweakX(x);
    auto w = randomVector(g * hid * c.in, seed + 1, -0.5f, 0.5f);
    auto r = randomVector(g * hid * hid, seed + 2, -0.5f, 0.5f);
    auto b = randomVector(g * hid, seed + 3);
    auto rb = randomVector(g * hid, seed + 4);
    auto h0 = randomVector(c.n * hid, seed + 5);
    auto c0 = randomVector(c.n * hid, seed + 6);
    std::vector<double> yRef, hRef, cRef;
    reference(c, x, w, r, b, rb, h0, c0, yRef, hRef, cRef, bf16Reference);

    // Batch-first: x as [N, T, I], y as [N, T, H].
    std::vector<float> xb(x.size());
    for (int64_t t = 0; t < c.t; ++t)
      for (int64_t n = 0; n < c.n; ++n)
        for (int64_t i = 0; i < c.in; ++i)
          xb[(n * c.t + t) * c.in + i] = x[(t * c.n + n) * c.in + i];
    int64_t dirs = stridedY ? 2 : 1;
    std::vector<float> y(c.t * dirs * c.n * hid, -7.f), hT(c.n * hid),
        cT(c.n * hid);
    MemRef mx = batchFirst ? MemRef(xb.data(), {c.n, c.t, c.in})
                           : MemRef(x.data(), {c.t, c.n, c.in});
    MemRef mw(w.data(), {g * hid, c.in}), mr(r.data(), {g * hid, hid}),
        mb(b.data(), {g * hid}), mrb(rb.data(), {g * hid}),
        mh0(h0.data(), {c.n, hid}), mc0(c0.data(), {c.n, hid}),
        mhT(hT.data(), {c.n, hid}), mcT(cT.data(), {c.n, hid});
    MemRef my = batchFirst ? MemRef(y.data(), {c.n, c.t, hid})
                : stridedY ? MemRef(y.data(), {c.t, c.n, hid},
                                    {2 * c.n * hid, hid, 1}, c.n * hid)
                           : MemRef(y.data(), {c.t, c.n, hid});
    int64_t flags = c.cell | (c.reverse ? LATHE_RNN_REVERSE : 0) |
                    (c.recurrentBias ? LATHE_RNN_HAS_RECURRENT_BIAS : 0) |
                    (constWeights ? LATHE_RNN_CONST_WEIGHTS : 0) |
                    (batchFirst ? LATHE_RNN_BATCH_FIRST : 0);
    int64_t gates = 0;
    for (size_t i = 0; i < c.gates.size(); ++i)
      gates |= c.gates[i] << (4 * i);
    for (int call = 0; call < 2; ++call) {
      lathe_rt_rnn_f32(3, mx.desc(), 2, mw.desc(), 2, mr.desc(), 1, mb.desc(),
                       1, mrb.desc(), 2, mh0.desc(), 2, mc0.desc(), 3,
                       my.desc(), 2, mhT.desc(), 2, mcT.desc(), flags, gates);
      ASSERT_EQ(takePending(), "");
      for (int64_t t = 0; t < c.t; ++t)
        for (int64_t i = 0; i < c.n * hid; ++i) {
          int64_t n = i / hid, o = i % hid;
          float got = batchFirst ? y[(n * c.t + t) * hid + o]
                                 : y[(t * dirs + dirs - 1) * c.n * hid + i];
          expectClose(got, yRef[t * c.n * hid + i]);
          ASSERT_FALSE(HasFatalFailure()) << "t=" << t << " n=" << n;
          if (stridedY)
            ASSERT_EQ(y[t * dirs * c.n * hid + i], -7.f);
        }
      for (int64_t i = 0; i < c.n * hid; ++i) {
        expectClose(hT[i], hRef[i]);
        if (c.cell == LATHE_RNN_LSTM)
          expectClose(cT[i], cRef[i]);
        ASSERT_FALSE(HasFatalFailure()) << "state " << i;
      }
    }
  }
};

TEST_F(RnnTest, LstmOnnxGateOrder) {
  // ONNX keeps the LSTM gates as i, o, f, c: blocks 0, 2, 3, 1 in i, f, c, o.
  check({LATHE_RNN_LSTM, false, 5, 3, 4, 6, {0, 2, 3, 1}, false}, true, false,
        1);
  check({LATHE_RNN_LSTM, true, 4, 2, 3, 5, {1, 0, 3, 2}, true}, false, true,
        11);
}

TEST_F(RnnTest, Gru) {
  check({LATHE_RNN_GRU, false, 6, 2, 5, 7, {0, 1, 2}, false}, true, false, 21);
  check({LATHE_RNN_GRU, true, 3, 4, 2, 3, {2, 0, 1}, true}, false, true, 31);
}

TEST_F(RnnTest, LinearBeforeResetGru) {
  check({LATHE_RNN_LBR_GRU, false, 5, 3, 4, 8, {0, 1, 2}, true}, true, true,
        41);
  check({LATHE_RNN_LBR_GRU, true, 1, 1, 3, 4, {1, 2, 0}, false}, false, false,
        51);
}

TEST_F(RnnTest, BatchFirst) {
  check({LATHE_RNN_LSTM, false, 5, 3, 4, 6, {0, 2, 3, 1}, true}, true, false,
        61, /*batchFirst=*/true);
  check({LATHE_RNN_LBR_GRU, true, 4, 2, 3, 5, {0, 1, 2}, true}, false, false,
        71, /*batchFirst=*/true);
}

TEST_F(RnnTest, LstmSplitOverThreads) {
  // Enough work per step (N x 4H x H >= 2^20) for two threads: each computes
  // the hidden-unit blocks and batch-row groups of its share of every step
  // (232 and 200 = 12 x 16 + 8 units leave partial blocks, 5 and 7 rows
  // partial groups). Three threads on fewer cores: a thread that has not
  // arrived yet has its share taken over.
  int saved = lathe_rt_get_num_threads();
  for (int threads : {2, 3}) {
    lathe_rt_set_num_threads(threads);
    check({LATHE_RNN_LSTM, false, 6, 5, 40, 232, {0, 2, 3, 1}, true}, true,
          true, 81);
    check({LATHE_RNN_LSTM, true, 5, 7, 64, 200, {1, 0, 3, 2}, false}, false,
          false, 91, /*batchFirst=*/true);
  }
  lathe_rt_set_num_threads(saved);
}

TEST_F(RnnTest, LinearBeforeResetGruSplitOverThreads) {
  // The GRU's steps (N x 3H x H >= 2^20) split the same way; partial blocks
  // (200 units) and partial row groups (7 rows).
  int saved = lathe_rt_get_num_threads();
  for (int threads : {2, 3}) {
    lathe_rt_set_num_threads(threads);
    check({LATHE_RNN_LBR_GRU, false, 6, 9, 40, 200, {0, 1, 2}, true}, true,
          true, 83);
    check({LATHE_RNN_LBR_GRU, true, 5, 7, 24, 232, {2, 0, 1}, false}, false,
          false, 93, /*batchFirst=*/true);
  }
  lathe_rt_set_num_threads(saved);
}

TEST_F(RnnTest, LinearBeforeResetGruTextClassifierShape) {
  // bench/realmodels' gru_cls: batch 4, 64 inputs, hidden 128, batch-first,
  // one thread per step; more steps than the model's 32 would not add cases.
  check({LATHE_RNN_LBR_GRU, false, 7, 4, 64, 128, {0, 1, 2}, true}, true, false,
        95, /*batchFirst=*/true);
}

TEST_F(RnnTest, LongSequence) {
  // Input products of more than 8 MiB (2048 steps x 17 rows x 4 or 3 gates x
  // a 16-unit block) are computed step by step instead of ahead.
  check({LATHE_RNN_LSTM, true, 2048, 17, 2, 4, {0, 2, 3, 1}, true}, true, false,
        121);
  check({LATHE_RNN_LBR_GRU, false, 3000, 17, 2, 4, {1, 0, 2}, true}, true,
        false, 123);
}

/// A NaN input poisons its batch row from its step on, as in PyTorch; an
/// infinite one saturates the gates and the outputs stay finite.
void RnnTest::nanAndInfinity(const RnnCase &c, unsigned seed) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  check(c, true, false, seed, false,
        [&](std::vector<float> &x) { x[(2 * c.n + 1) * c.in + 3] = nan; });
  // Not constant: its weights may reuse the freed address of the first
  // call's, whose packed copy the session keeps.
  check(c, false, false, seed + 1, false, [&](std::vector<float> &x) {
    x[(1 * c.n + 0) * c.in + 2] = inf;
    x[(2 * c.n + 2) * c.in + 4] = -inf;
  });
}

TEST_F(RnnTest, LstmNanAndInfinity) {
  nanAndInfinity({LATHE_RNN_LSTM, false, 4, 3, 5, 20, {0, 2, 3, 1}, true}, 101);
}

TEST_F(RnnTest, LinearBeforeResetGruNanAndInfinity) {
  nanAndInfinity({LATHE_RNN_LBR_GRU, false, 4, 3, 5, 20, {0, 1, 2}, true}, 111);
}

TEST_F(RnnTest, Bf16Session) {
  // A bf16 session on a CPU with AVX512-BF16 (within ONEDNN_MAX_CPU_ISA)
  // runs the recurrent products of LSTMs and LBR GRUs with bf16 R and h and
  // f32 accumulation; elsewhere, and for GRUs that reset before the product
  // (oneDNN), f32. Against a reference that rounds the same operands: one
  // step within f32's tolerance (h0 rounds alike); over several steps an h
  // that the runtime's f32 and the reference's double put on either side of
  // a rounding tie rounds apart by one bf16 step (~2e-3 in a pre-activation),
  // hence 5e-3. Further from the f32 reference than from that one, and than
  // f32's tolerance. NaN still propagates.
  bool bf16 = lathe_rt_cpu_has_bf16() && __builtin_cpu_supports("avx512f") &&
              __builtin_cpu_supports("avx512bf16");
  BoundSession session(LATHE_PRECISION_BF16, 2);
  std::vector<RnnCase> cases = {
      {LATHE_RNN_LSTM, false, 6, 5, 12, 37, {0, 2, 3, 1}, true},
      {LATHE_RNN_LBR_GRU, true, 7, 4, 64, 128, {0, 1, 2}, true},
      // Enough work per step for both threads; an odd hidden size.
      {LATHE_RNN_LBR_GRU, false, 4, 9, 8, 201, {2, 0, 1}, false},
      {LATHE_RNN_LSTM, true, 3, 5, 8, 161, {0, 2, 3, 1}, true}};
  for (RnnCase c : cases) {
    bf16Reference = bf16;
    tolerance = bf16 ? 5e-3 : 2e-5;
    check(c, true, false, 131);
    check(c, false, true, 133, /*batchFirst=*/false,
          [&](std::vector<float> &x) {
            x[(1 * c.n + 2) * c.in + 3] = std::nanf("");
          });
    // An infinite input saturates its row's gates; the outputs stay finite
    // (padding units of an odd hidden size must not turn it into NaN).
    check(
        c, false, false, 134, /*batchFirst=*/false,
        [&](std::vector<float> &x) { x[(1 * c.n + 1) * c.in + 2] = INFINITY; });
    if (!bf16)
      continue;
    // Not the f32 result.
    maxError = 0;
    check(c, true, false, 131);
    double fromBf16 = maxError;
    bf16Reference = false;
    tolerance = 1.0;
    maxError = 0;
    check(c, true, false, 131);
    EXPECT_GT(maxError, 2e-5);
    EXPECT_GT(maxError, fromBf16);
    // One step: exactly the rounded operands' result. Not constant: other
    // weights at a freed address of the same session's packed ones.
    c.t = 1;
    bf16Reference = true;
    tolerance = 2e-5;
    check(c, false, false, 135);
  }
  bf16Reference = false;
  tolerance = 2e-5;
  check({LATHE_RNN_GRU, false, 6, 2, 5, 7, {0, 1, 2}, false}, true, false, 21);
}

TEST_F(RnnTest, BadGatesAreAnError) {
  std::vector<float> v(64, 0.f);
  MemRef x(v.data(), {1, 1, 1}), w(v.data(), {3, 1}), r(v.data(), {3, 1}),
      b(v.data(), {3}), h(v.data(), {1, 1}), y(v.data(), {1, 1, 1});
  lathe_rt_rnn_f32(3, x.desc(), 2, w.desc(), 2, r.desc(), 1, b.desc(), 1,
                   b.desc(), 2, h.desc(), 2, h.desc(), 3, y.desc(), 2, h.desc(),
                   2, h.desc(), LATHE_RNN_GRU, 0x011);
  std::string msg = takePending();
  EXPECT_NE(msg.find("lathe_rt_rnn_f32"), std::string::npos) << msg;
  EXPECT_NE(msg.find("permutation"), std::string::npos) << msg;
}

} // namespace
