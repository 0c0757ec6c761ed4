//===- MatmulTest.cpp - lathe_rt_matmul_f32 against a naive reference -----===//

#include "TestUtils.h"

#include <algorithm>
#include <dlfcn.h>
#include <functional>
#include <thread>

using namespace lathe::test;

namespace {

using Accessor = std::function<double(int64_t b, int64_t i, int64_t j)>;

/// C[b,m,n] = act(sum_k A[b,m,k] B[b,k,n] + bias[n]) + res[b,m,n], in double.
std::vector<double> refMatmul(int64_t batch, int64_t m, int64_t k, int64_t n,
                              const Accessor &a, const Accessor &b,
                              const std::vector<float> *bias = nullptr,
                              int act = LATHE_ACT_NONE,
                              const Accessor *res = nullptr) {
  std::vector<double> c(static_cast<size_t>(batch * m * n));
  for (int64_t p = 0; p < batch; ++p)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t q = 0; q < k; ++q)
          acc += a(p, i, q) * b(p, q, j);
        if (bias)
          acc += (*bias)[j];
        acc = refActivation(act, acc);
        if (res)
          acc += (*res)(p, i, j);
        c[(p * m + i) * n + j] = acc;
      }
  return c;
}

Accessor rowMajor(const std::vector<float> &v, int64_t rows, int64_t cols,
                  bool batched = true) {
  return [&v, rows, cols, batched](int64_t b, int64_t i, int64_t j) {
    return double(v[((batched ? b : 0) * rows + i) * cols + j]);
  };
}

void matmul(MemRef &a, MemRef &b, MemRef &c, int64_t flags = 0,
            MemRef *bias = nullptr, MemRef *res = nullptr) {
  MemRef &biasRef = bias ? *bias : c;
  MemRef &resRef = res ? *res : c;
  lathe_rt_matmul_f32(a.rank(), a.desc(), b.rank(), b.desc(), biasRef.rank(),
                      biasRef.desc(), resRef.rank(), resRef.desc(), c.rank(),
                      c.desc(), flags);
}

int64_t actFlag(int act) { return int64_t(act) << LATHE_MM_ACT_SHIFT; }

class MatmulTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_EQ(takePending(), ""); }
  void TearDown() override { EXPECT_EQ(takePending(), ""); }
};

TEST_F(MatmulTest, Plain2D) {
  for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{7, 13, 5},
                         {1, 64, 33},
                         {64, 128, 96},
                         {5, 1, 1}}) {
    auto a = randomVector(m * k, 1), b = randomVector(k * n, 2);
    std::vector<float> c(m * n, -7.f);
    MemRef ma(a.data(), {m, k}), mb(b.data(), {k, n}), mc(c.data(), {m, n});
    matmul(ma, mb, mc);
    expectClose(c, refMatmul(1, m, k, n, rowMajor(a, m, k), rowMajor(b, k, n)));
  }
}

TEST_F(MatmulTest, TransposedViewsViaStrides) {
  const int64_t m = 9, k = 17, n = 6;
  // B is stored as [N,K]; the kernel sees the [K,N] view with strides {1,K}.
  auto bt = randomVector(n * k, 3), at = randomVector(k * m, 4);
  auto a = randomVector(m * k, 5);
  Accessor bRef = [&](int64_t, int64_t q, int64_t j) { return bt[j * k + q]; };
  Accessor atRef = [&](int64_t, int64_t i, int64_t q) { return at[q * m + i]; };
  std::vector<float> c(m * n);
  MemRef ma(a.data(), {m, k}), mb(bt.data(), {k, n}, {1, k}),
      mc(c.data(), {m, n});
  matmul(ma, mb, mc);
  expectClose(c, refMatmul(1, m, k, n, rowMajor(a, m, k), bRef));

  // Transposed A as well.
  MemRef mat(at.data(), {m, k}, {1, m});
  matmul(mat, mb, mc);
  expectClose(c, refMatmul(1, m, k, n, atRef, bRef));
}

TEST_F(MatmulTest, StridedOutputLeavesPaddingAlone) {
  const int64_t m = 4, k = 8, n = 5, ld = 11, off = 3;
  auto a = randomVector(m * k, 6), b = randomVector(k * n, 7);
  std::vector<float> storage(off + m * ld, 42.f);
  MemRef ma(a.data(), {m, k}), mb(b.data(), {k, n}),
      mc(storage.data(), {m, n}, {ld, 1}, off);
  matmul(ma, mb, mc);
  auto ref = refMatmul(1, m, k, n, rowMajor(a, m, k), rowMajor(b, k, n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < ld; ++j) {
      float v = storage[off + i * ld + j];
      if (j < n)
        EXPECT_NEAR(v, ref[i * n + j],
                    1e-4 * std::max(1.0, std::fabs(ref[i * n + j])));
      else
        EXPECT_EQ(v, 42.f);
    }
  EXPECT_EQ(storage[0], 42.f);
}

TEST_F(MatmulTest, BatchedAndBroadcastB) {
  const int64_t batch = 3, m = 5, k = 12, n = 7;
  auto a = randomVector(batch * m * k, 8), b3 = randomVector(batch * k * n, 9);
  auto b2 = randomVector(k * n, 10);
  std::vector<float> c(batch * m * n);
  MemRef ma(a.data(), {batch, m, k}), mb3(b3.data(), {batch, k, n}),
      mb2(b2.data(), {k, n}), mc(c.data(), {batch, m, n});
  matmul(ma, mb3, mc);
  expectClose(c,
              refMatmul(batch, m, k, n, rowMajor(a, m, k), rowMajor(b3, k, n)));
  matmul(ma, mb2, mc);
  expectClose(c, refMatmul(batch, m, k, n, rowMajor(a, m, k),
                           rowMajor(b2, k, n, /*batched=*/false)));
  // A rank-2 A broadcasts over a batched B too.
  auto a2 = randomVector(m * k, 11);
  MemRef ma2(a2.data(), {m, k});
  matmul(ma2, mb3, mc);
  expectClose(c, refMatmul(batch, m, k, n, rowMajor(a2, m, k, false),
                           rowMajor(b3, k, n)));
}

TEST_F(MatmulTest, BiasReluResidual) {
  const int64_t batch = 2, m = 6, k = 10, n = 9;
  auto a = randomVector(batch * m * k, 12), b = randomVector(k * n, 13);
  auto bias = randomVector(n, 14), res = randomVector(batch * m * n, 15);
  std::vector<float> c(batch * m * n);
  MemRef ma(a.data(), {batch, m, k}), mb(b.data(), {k, n}),
      mc(c.data(), {batch, m, n}), mbias(bias.data(), {n}),
      mres(res.data(), {batch, m, n});
  Accessor resRef = rowMajor(res, m, n);
  matmul(ma, mb, mc,
         LATHE_MM_HAS_BIAS | LATHE_MM_HAS_RESIDUAL | actFlag(LATHE_ACT_RELU),
         &mbias, &mres);
  expectClose(c, refMatmul(batch, m, k, n, rowMajor(a, m, k),
                           rowMajor(b, k, n, false), &bias, LATHE_ACT_RELU,
                           &resRef));

  // Residual given as a transposed view (strides {m*n, 1, m}).
  std::vector<float> resT(batch * n * m);
  for (int64_t p = 0; p < batch; ++p)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        resT[(p * n + j) * m + i] = res[(p * m + i) * n + j];
  MemRef mresT(resT.data(), {batch, m, n}, {m * n, 1, m});
  std::fill(c.begin(), c.end(), 0.f);
  matmul(ma, mb, mc, LATHE_MM_HAS_RESIDUAL, nullptr, &mresT);
  expectClose(c, refMatmul(batch, m, k, n, rowMajor(a, m, k),
                           rowMajor(b, k, n, false), nullptr, LATHE_ACT_NONE,
                           &resRef));
}

TEST_F(MatmulTest, ResidualAliasingOutput) {
  const int64_t m = 33, k = 300, n = 20;
  auto a = randomVector(m * k, 16), b = randomVector(k * n, 17);
  auto c = randomVector(m * n, 18);
  std::vector<float> old = c;
  MemRef ma(a.data(), {m, k}), mb(b.data(), {k, n}), mc(c.data(), {m, n}),
      mres(c.data(), {m, n});
  Accessor oldRef = rowMajor(old, m, n);
  matmul(ma, mb, mc, LATHE_MM_HAS_RESIDUAL | actFlag(LATHE_ACT_TANH), nullptr,
         &mres);
  expectClose(c, refMatmul(1, m, k, n, rowMajor(a, m, k), rowMajor(b, k, n),
                           nullptr, LATHE_ACT_TANH, &oldRef));
}

TEST_F(MatmulTest, EveryActivation) {
  const int64_t m = 8, k = 16, n = 12;
  auto a = randomVector(m * k, 19, -2.f, 2.f), b = randomVector(k * n, 20);
  auto bias = randomVector(n, 21);
  MemRef ma(a.data(), {m, k}), mb(b.data(), {k, n}), mbias(bias.data(), {n});
  for (int act : {LATHE_ACT_RELU, LATHE_ACT_GELU_ERF, LATHE_ACT_GELU_TANH,
                  LATHE_ACT_SIGMOID, LATHE_ACT_TANH}) {
    std::vector<float> c(m * n);
    MemRef mc(c.data(), {m, n});
    matmul(ma, mb, mc, LATHE_MM_HAS_BIAS | actFlag(act), &mbias);
    SCOPED_TRACE(act);
    expectClose(c, refMatmul(1, m, k, n, rowMajor(a, m, k), rowMajor(b, k, n),
                             &bias, act));
  }
}

TEST_F(MatmulTest, ConstBIsPackedOnceAndReused) {
  const int64_t m = 16, k = 64, n = 48;
  auto a = randomVector(m * k, 22), b = randomVector(k * n, 23);
  auto b2 = randomVector(k * n, 24), bias = randomVector(n, 25);
  MemRef ma(a.data(), {m, k}), mb(b.data(), {k, n}), mb2(b2.data(), {k, n}),
      mbias(bias.data(), {n});
  auto ref = refMatmul(1, m, k, n, rowMajor(a, m, k), rowMajor(b, k, n), &bias,
                       LATHE_ACT_GELU_ERF);
  int64_t flags =
      LATHE_MM_CONST_B | LATHE_MM_HAS_BIAS | actFlag(LATHE_ACT_GELU_ERF);
  std::vector<float> first(m * n), second(m * n), third(m * n);
  MemRef m1(first.data(), {m, n}), m2(second.data(), {m, n}),
      m3(third.data(), {m, n});
  matmul(ma, mb, m1, flags, &mbias);
  expectClose(first, ref);
  int64_t afterFirst = lathe_rt_mem_current();
  matmul(ma, mb, m2, flags, &mbias);
  EXPECT_EQ(first, second);
  // The second call found the packed copy: no new runtime-owned memory.
  EXPECT_EQ(lathe_rt_mem_current(), afterFirst);
  matmul(ma, mb, m2, flags, &mbias);
  EXPECT_EQ(first, second);

  // Another constant at another address gets its own packed copy.
  matmul(ma, mb2, m3, flags, &mbias);
  expectClose(third, refMatmul(1, m, k, n, rowMajor(a, m, k),
                               rowMajor(b2, k, n), &bias, LATHE_ACT_GELU_ERF));

  // A constant transposed view packs from its real strides.
  std::vector<float> bt(n * k);
  for (int64_t q = 0; q < k; ++q)
    for (int64_t j = 0; j < n; ++j)
      bt[j * k + q] = b[q * n + j];
  MemRef mbt(bt.data(), {k, n}, {1, k});
  for (int i = 0; i < 2; ++i) {
    std::fill(third.begin(), third.end(), 0.f);
    matmul(ma, mbt, m3, flags, &mbias);
    expectClose(third, ref);
  }
  // These buffers die with the test; their addresses may be reused.
  lathe_rt_clear_caches();
}

/// Few rows of A times a constant B (SkinnyMatmul.h: up to 8 rows of C,
/// panels of 64 or 32 columns): every row count around the limit, K and N
/// that are not multiples of a vector or a panel, B stored as [K, N] and as
/// [N, K] (ONNX's Gemm with transB).
TEST_F(MatmulTest, SkinnyConstBAgainstNaiveLoop) {
  for (int64_t m : {1, 2, 3, 4, 5, 7, 8, 9})
    for (auto [k, n] : {std::pair<int64_t, int64_t>{1, 1},
                        {7, 15},
                        {300, 65},
                        {33, 130},
                        {2049, 97}})
      for (bool transposed : {false, true}) {
        SCOPED_TRACE(testing::Message() << m << "x" << k << "x" << n
                                        << (transposed ? " B^T" : ""));
        auto a = randomVector(m * k, 31), b = randomVector(k * n, 32);
        auto bias = randomVector(n, 33);
        std::vector<float> bt(n * k);
        for (int64_t q = 0; q < k; ++q)
          for (int64_t j = 0; j < n; ++j)
            bt[j * k + q] = b[q * n + j];
        std::vector<float> c(m * n, -7.f);
        MemRef ma(a.data(), {m, k}), mc(c.data(), {m, n}),
            mbias(bias.data(), {n});
        MemRef mb = transposed ? MemRef(bt.data(), {k, n}, {1, k})
                               : MemRef(b.data(), {k, n});
        int64_t flags =
            LATHE_MM_CONST_B | LATHE_MM_HAS_BIAS | actFlag(LATHE_ACT_RELU);
        for (int call = 0; call < 2; ++call) { // packs, then reuses
          matmul(ma, mb, mc, flags, &mbias);
          expectClose(c,
                      refMatmul(1, m, k, n, rowMajor(a, m, k),
                                rowMajor(b, k, n), &bias, LATHE_ACT_RELU),
                      1e-4);
          auto next = randomVector(m * k, 34 + call);
          std::copy(next.begin(), next.end(), a.begin());
        }
        lathe_rt_clear_caches(); // b dies here; its address may be reused
      }
}

/// The skinny product with every epilogue, batched rows, strided A and C, a
/// residual that is C itself, the scaled entry point, and two threads over
/// a B large enough to be split (8 MB: ResNet-50's classifier).
TEST_F(MatmulTest, SkinnyEpiloguesBatchesAndThreads) {
  int saved = lathe_rt_get_num_threads();
  lathe_rt_set_num_threads(2);
  const int acts[] = {LATHE_ACT_NONE,     LATHE_ACT_RELU,
                      LATHE_ACT_GELU_ERF, LATHE_ACT_GELU_TANH,
                      LATHE_ACT_SIGMOID,  LATHE_ACT_TANH};
  for (auto [batch, m, k, n] :
       {std::tuple<int64_t, int64_t, int64_t, int64_t>{3, 2, 45, 70},
        {1, 1, 2048, 1000},
        {2, 4, 1024, 515}}) {
    const int64_t rowsA = m, depth = k; // captured by the accessor
    auto b = randomVector(k * n, 40), bias = randomVector(n, 41);
    // A stored transposed per batch: [batch, K, M] read as [batch, M, K].
    auto at = randomVector(batch * k * m, 42);
    Accessor aRef = [&at, rowsA, depth](int64_t p, int64_t i, int64_t q) {
      return double(at[(p * depth + q) * rowsA + i]);
    };
    MemRef ma(at.data(), {batch, m, k}, {k * m, 1, m}), mb(b.data(), {k, n}),
        mbias(bias.data(), {n});
    for (int act : acts) {
      SCOPED_TRACE(testing::Message() << batch << "x" << m << "x" << k << "x"
                                      << n << " act " << act);
      // C with a padded row stride; the residual is C's previous contents.
      const int64_t ld = n + 3;
      std::vector<float> storage(batch * m * ld, 42.f);
      auto res = randomVector(batch * m * n, 43);
      for (int64_t r = 0; r < batch * m; ++r)
        std::copy(res.begin() + r * n, res.begin() + (r + 1) * n,
                  storage.begin() + r * ld);
      MemRef mc(storage.data(), {batch, m, n}, {m * ld, ld, 1});
      Accessor resRef = rowMajor(res, m, n);
      matmul(ma, mb, mc,
             LATHE_MM_CONST_B | LATHE_MM_HAS_BIAS | LATHE_MM_HAS_RESIDUAL |
                 actFlag(act),
             &mbias, &mc);
      auto ref = refMatmul(batch, m, k, n, aRef, rowMajor(b, k, n, false),
                           &bias, act, &resRef);
      for (int64_t r = 0; r < batch * m; ++r) {
        for (int64_t j = 0; j < n; ++j)
          ASSERT_NEAR(storage[r * ld + j], ref[r * n + j],
                      1e-4 * std::max(1.0, std::fabs(ref[r * n + j])))
              << "row " << r << " column " << j;
        for (int64_t j = n; j < ld; ++j)
          ASSERT_EQ(storage[r * ld + j], 42.f);
      }
    }
    // alpha * A x B, no bias.
    std::vector<float> c(batch * m * n);
    MemRef mc(c.data(), {batch, m, n});
    lathe_rt_matmul_scaled_f32(3, ma.desc(), 2, mb.desc(), 0, nullptr, 0,
                               nullptr, 3, mc.desc(), 0.25f, LATHE_MM_CONST_B);
    ASSERT_EQ(takePending(), "");
    auto ref = refMatmul(batch, m, k, n, aRef, rowMajor(b, k, n, false));
    for (double &v : ref)
      v *= 0.25;
    expectClose(c, ref);
    lathe_rt_clear_caches();
  }
  lathe_rt_set_num_threads(saved);
}

TEST_F(MatmulTest, EmptyInnerDimension) {
  const int64_t m = 3, n = 4;
  std::vector<float> a(1), b(1), c(m * n, 5.f);
  auto bias = randomVector(n, 26), res = randomVector(m * n, 27);
  MemRef ma(a.data(), {m, 0}), mb(b.data(), {0, n}), mc(c.data(), {m, n}),
      mbias(bias.data(), {n}), mres(res.data(), {m, n});
  matmul(ma, mb, mc,
         LATHE_MM_HAS_BIAS | LATHE_MM_HAS_RESIDUAL | actFlag(LATHE_ACT_RELU),
         &mbias, &mres);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      EXPECT_NEAR(c[i * n + j], std::max(0.f, bias[j]) + res[i * n + j], 1e-6);
  // Empty output: nothing to do, no error.
  MemRef me(c.data(), {0, n}), mae(a.data(), {0, 0});
  matmul(mae, mb, me);
}

// Attention heads read and written in place: Q and K are [B, S, H, D] buffers
// seen as [B, H, S, D] through strides, scores = alpha * Q Kt; the context
// P V is written straight into a [B, S, H, D] buffer.
TEST_F(MatmulTest, Rank4HeadViewsAndAlpha) {
  const int64_t batch = 2, seq = 5, heads = 3, dim = 4;
  const HeadLayout heads4{batch, seq, heads, dim};
  const int64_t batchStride = heads4.batchStride();
  auto q = randomVector(batch * batchStride, 30);
  auto k = randomVector(batch * batchStride, 31);
  auto v = randomVector(batch * batchStride, 32);
  const float alpha = 0.125f;
  std::vector<float> scores = heads4.runScores(q, k, alpha);
  expectClose(scores, heads4.scores(q, k, alpha));

  // ctx[b, s, h, :] = sum_j scores[b, h, s, j] v[b, j, h, :].
  MemRef ms(scores.data(), {batch, heads, seq, seq});
  MemRef mv = heads4.headView(v.data());
  std::vector<float> ctx(batch * batchStride, 9.f);
  MemRef mctx = heads4.headView(ctx.data());
  matmul(ms, mv, mctx);
  expectClose(ctx, heads4.context(scores, v));
}

TEST_F(MatmulTest, Rank4EmptyInnerDimension) {
  std::vector<float> a(1), b(1), c(2 * 3 * 2 * 2, 5.f);
  auto res = randomVector(c.size(), 33);
  MemRef ma(a.data(), {2, 3, 2, 0}), mb(b.data(), {2, 3, 0, 2}),
      mc(c.data(), {2, 3, 2, 2}), mres(res.data(), {2, 3, 2, 2});
  matmul(ma, mb, mc, LATHE_MM_HAS_RESIDUAL, nullptr, &mres);
  for (size_t i = 0; i < c.size(); ++i)
    EXPECT_EQ(c[i], res[i]);
}

class MatmulErrorTest : public ::testing::Test {
protected:
  void SetUp() override { takePending(); }
};

TEST_F(MatmulErrorTest, ShapeMismatchIsAPendingError) {
  std::vector<float> a(6, 1.f), b(12, 1.f), c(8, 3.f);
  MemRef ma(a.data(), {2, 3}), mb(b.data(), {4, 3}), mc(c.data(), {2, 4});
  matmul(ma, mb, mc);
  std::string msg = takePending();
  EXPECT_NE(msg.find("lathe_rt_matmul_f32"), std::string::npos) << msg;
  EXPECT_NE(msg.find("K=3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("K=4"), std::string::npos) << msg;
  for (float v : c)
    EXPECT_EQ(v, 3.f);          // Untouched.
  EXPECT_EQ(takePending(), ""); // Taking clears it.

  // Only the first error is kept.
  MemRef mb2(b.data(), {3, 4}), mcBad(c.data(), {3, 4});
  matmul(ma, mb2, mcBad);
  std::vector<float> bias(5);
  MemRef mbias(bias.data(), {5}), mcOk(c.data(), {2, 4});
  matmul(ma, mb2, mcOk, LATHE_MM_HAS_BIAS, &mbias);
  msg = takePending();
  EXPECT_NE(msg.find("[3x4]"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("bias"), std::string::npos) << msg;

  matmul(ma, mb2, mcOk, LATHE_MM_HAS_BIAS, &mbias);
  msg = takePending();
  EXPECT_NE(msg.find("bias [5]"), std::string::npos) << msg;
}

TEST_F(MatmulErrorTest, AlphaErrors) {
  std::vector<float> a(6, 1.f), b(12, 1.f), c(8, 3.f), bias(4);
  MemRef ma(a.data(), {2, 3}), mb(b.data(), {3, 4}), mc(c.data(), {2, 4}),
      mbias(bias.data(), {4});
  lathe_rt_matmul_scaled_f32(2, ma.desc(), 2, mb.desc(), 1, mbias.desc(), 2,
                             mc.desc(), 2, mc.desc(), 0.5f, LATHE_MM_HAS_BIAS);
  EXPECT_NE(takePending().find("alpha cannot be combined with a bias"),
            std::string::npos);
  lathe_rt_matmul_scaled_f32(2, ma.desc(), 2, mb.desc(), 2, mc.desc(), 2,
                             mc.desc(), 2, mc.desc(), NAN, 0);
  EXPECT_NE(takePending().find("not finite"), std::string::npos);
  // Rank 3 B with rank 4 A.
  MemRef ma4(a.data(), {1, 1, 2, 3}), mb3(b.data(), {1, 3, 4}),
      mc4(c.data(), {1, 1, 2, 4});
  matmul(ma4, mb3, mc4);
  EXPECT_NE(takePending().find("must have the same rank unless"),
            std::string::npos);
  for (float x : c)
    EXPECT_EQ(x, 3.f);
}

TEST_F(MatmulErrorTest, BadArgumentsNeverCrash) {
  std::vector<float> a(6, 1.f), b(12, 1.f), c(8);
  MemRef ma(a.data(), {2, 3}), mb(b.data(), {3, 4}), mc(c.data(), {2, 4});
  lathe_rt_matmul_f32(2, nullptr, 2, mb.desc(), 0, nullptr, 0, nullptr, 2,
                      mc.desc(), 0);
  EXPECT_NE(takePending(), "");
  lathe_rt_matmul_f32(2, ma.desc(), 2, mb.desc(), 0, nullptr, 0, nullptr, 2,
                      mc.desc(), actFlag(99));
  EXPECT_NE(takePending().find("activation"), std::string::npos);
  lathe_rt_matmul_f32(2, ma.desc(), 2, mb.desc(), 0, nullptr, 0, nullptr, 2,
                      mc.desc(), LATHE_MM_HAS_BIAS);
  EXPECT_NE(takePending().find("bias"), std::string::npos);
  lathe_rt_matmul_f32(99, ma.desc(), 2, mb.desc(), 0, nullptr, 0, nullptr, 2,
                      mc.desc(), 0);
  EXPECT_NE(takePending().find("rank"), std::string::npos);
  lathe_rt_matmul_f32(2, ma.desc(), 2, mb.desc(), 0, nullptr, 0, nullptr, 2,
                      mc.desc(), 1 << 20);
  EXPECT_NE(takePending().find("flag"), std::string::npos);
  MemRef m1(a.data(), {6});
  lathe_rt_matmul_f32(1, m1.desc(), 2, mb.desc(), 0, nullptr, 0, nullptr, 2,
                      mc.desc(), 0);
  EXPECT_NE(takePending(), "");
}

/// The int8 kernel's own arithmetic, in double: A quantized per tensor
/// (saturate(round-half-even(x / sx)) to [0, 255] or [-128, 127]), B per
/// column with step sw[j], an exact integer sum, then act(sum * sx * sw[j] +
/// bias[j]). The cases pick steps that are powers of two, so x / sx and
/// w / sw[j] are exact and the rounding of ties is the only choice.
std::vector<double> refInt8Matmul(int64_t m, int64_t k, int64_t n,
                                  const Accessor &a, bool isSigned, double sx,
                                  const std::vector<float> &b,
                                  const std::vector<double> &sw,
                                  const std::vector<float> &bias, int act) {
  std::vector<double> c(static_cast<size_t>(m * n));
  double qlo = isSigned ? -128 : 0, qhi = isSigned ? 127 : 255;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = 0;
      for (int64_t q = 0; q < k; ++q) {
        double xa = std::clamp(std::nearbyint(a(0, i, q) / sx), qlo, qhi);
        double wb = std::nearbyint(double(b[q * n + j]) / sw[j]);
        acc += int64_t(xa) * int64_t(wb);
      }
      c[i * n + j] =
          refActivation(act, double(acc) * sx * sw[j] + double(bias[j]));
    }
  return c;
}

/// lathe_rt_matmul_int8_f32 (constant B, bias, ReLU or none) against
/// refInt8Matmul: u8 and s8 inputs, A dense (the runtime's own vectorized
/// quantization) and a transposed view of it (oneDNN's reorder), inputs
/// beyond the calibrated range (saturation) and on exact ties, M, K and N
/// that leave vector tails; two calls each (the second reuses the cached
/// weights and the thread's buffers). B holds multiples of 1/128 with one
/// full-scale value per column, so its steps are powers of two too.
TEST_F(MatmulTest, Int8MatchesIntegerReference) {
  float qmax = lathe_rt_cpu_has_int8_dot() ? 127.f : 63.f;
  for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{37, 19, 10},
                         {360, 64, 64},
                         {1, 5, 3}})
    for (bool isSigned : {false, true})
      for (bool transposedA : {false, true})
        for (int act : {LATHE_ACT_RELU, LATHE_ACT_NONE}) {
          SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(k) + "x" +
                       std::to_string(n) + (isSigned ? " s8" : " u8") +
                       (transposedA ? " A^T" : " A") + " act " +
                       std::to_string(act));
          BoundSession session; // B is cached by address: one per case.
          ASSERT_NE(session.session, nullptr);
          // Steps 1/256 (u8 over [0, 255/256]) and 1/128 (s8 over
          // [-127/128, 1/2]); A in multiples of 1/512 (half of them ties)
          // from beyond both ends of the range.
          float lo = isSigned ? -127.f / 128 : 0.f;
          float hi = isSigned ? 0.5f : 255.f / 256;
          double sx = isSigned ? 1.0 / 128 : 1.0 / 256;
          std::mt19937 gen(unsigned(m * 131 + k * 7 + n + isSigned));
          std::uniform_int_distribution<int> aSteps(-700, 700);
          std::uniform_int_distribution<int> bSteps(-int(qmax), int(qmax));
          std::vector<float> a(m * k), at(k * m), b(k * n);
          for (int64_t i = 0; i < m; ++i)
            for (int64_t q = 0; q < k; ++q)
              at[q * m + i] = a[i * k + q] = float(aSteps(gen)) / 512;
          std::vector<double> sw(n, qmax / 128.0 / qmax);
          for (int64_t q = 0; q < k; ++q)
            for (int64_t j = 0; j < n; ++j)
              b[q * n + j] = float(bSteps(gen)) / 128;
          for (int64_t j = 0; j < n; ++j)
            b[(j % k) * n + j] = (j % 2 ? -qmax : qmax) / 128;
          auto bias = randomVector(n, unsigned(n + 5));
          auto ref = refInt8Matmul(m, k, n, rowMajor(a, m, k), isSigned, sx, b,
                                   sw, bias, act);
          std::vector<float> c(m * n, -9.f);
          MemRef ma = transposedA ? MemRef(at.data(), {m, k}, {1, m})
                                  : MemRef(a.data(), {m, k});
          MemRef mb(b.data(), {k, n}), mc(c.data(), {m, n});
          MemRef mbias(bias.data(), {n});
          for (int rep = 0; rep < 2; ++rep) {
            lathe_rt_matmul_int8_f32(
                2, ma.desc(), 2, mb.desc(), 1, mbias.desc(), 2, mc.desc(), 2,
                mc.desc(), lo, hi,
                LATHE_MM_CONST_B | LATHE_MM_HAS_BIAS | actFlag(act),
                /*site=*/3);
            ASSERT_EQ(takePending(), "");
            char text[256] = "";
            ASSERT_EQ(lathe_rt_int8_site_info(3, text, sizeof(text)), 1);
            EXPECT_EQ(std::string(text).rfind(
                          isSigned ? "int8 (s8 x s8" : "int8 (u8 x s8", 0),
                      0u)
                << text;
            // A step of one A value moves C by sx * sw[j] * |its weight|
            // (up to 127 * 2^-15); float rounding stays below 1e-6.
            expectClose(c, ref, 1e-6);
          }
        }
}

/// Calls on one int8 entry from several threads at once (the entry's own
/// memory objects serve one call at a time, the others bind their own): each
/// thread's C equals that of the same call made alone, bit for bit.
TEST_F(MatmulTest, Int8ConcurrentCallsOnOneEntry) {
  BoundSession session;
  ASSERT_NE(session.session, nullptr);
  const int64_t m = 96, k = 64, n = 48;
  const int kThreads = 4;
  auto b = randomVector(k * n, 41), bias = randomVector(n, 42);
  std::vector<std::vector<float>> a, alone, c;
  for (int t = 0; t < kThreads; ++t) {
    a.push_back(randomVector(m * k, 50 + t, 0.f, 2.f));
    alone.emplace_back(m * n, 0.f);
    c.emplace_back(m * n, 0.f);
  }
  auto call = [&](std::vector<float> &x, std::vector<float> &y) {
    MemRef ma(x.data(), {m, k}), mb(b.data(), {k, n}), mc(y.data(), {m, n});
    MemRef mbias(bias.data(), {n});
    lathe_rt_matmul_int8_f32(2, ma.desc(), 2, mb.desc(), 1, mbias.desc(), 2,
                             mc.desc(), 2, mc.desc(), 0.f, 2.f,
                             LATHE_MM_CONST_B | LATHE_MM_HAS_BIAS |
                                 actFlag(LATHE_ACT_RELU),
                             /*site=*/-1);
  };
  for (int t = 0; t < kThreads; ++t)
    call(a[t], alone[t]);
  ASSERT_EQ(takePending(), "");
  std::vector<std::thread> threads;
  std::vector<int> mismatches(kThreads, 0);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      lathe_rt_session_bind(session.session);
      for (int rep = 0; rep < 50; ++rep) {
        std::fill(c[t].begin(), c[t].end(), -1.f);
        call(a[t], c[t]);
        mismatches[t] += c[t] != alone[t];
      }
      lathe_rt_session_bind(nullptr);
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(takePending(), "");
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

} // namespace

// A matmul below the runtime's parallel threshold runs on one OpenMP thread
// (kMinParallelFlops), one above it on the session's count; either way the
// calling thread's OpenMP count is the session's again afterwards, since
// generated code shares the OpenMP runtime and must not inherit one thread.
TEST_F(MatmulTest, SmallKernelsRestoreTheThreadCount) {
  using GetMaxThreadsFn = int (*)();
  auto getMax = reinterpret_cast<GetMaxThreadsFn>(
      dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  ASSERT_NE(getMax, nullptr);
  int saved = lathe_rt_get_num_threads();
  lathe_rt_set_num_threads(2);
  for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{8, 8, 8},
                         {512, 256, 256},
                         {3, 5, 7}}) {
    auto a = randomVector(m * k, 3), b = randomVector(k * n, 4);
    std::vector<float> c(m * n, 0.f);
    MemRef ma(a.data(), {m, k}), mb(b.data(), {k, n}), mc(c.data(), {m, n});
    matmul(ma, mb, mc);
    expectClose(c, refMatmul(1, m, k, n, rowMajor(a, m, k), rowMajor(b, k, n)));
    EXPECT_EQ(getMax(), 2) << m << "x" << k << "x" << n;
    EXPECT_EQ(lathe_rt_get_num_threads(), 2);
  }
  lathe_rt_set_num_threads(saved);
}
