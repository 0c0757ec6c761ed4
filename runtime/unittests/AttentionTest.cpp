//===- AttentionTest.cpp - Chunked attention against a naive reference ----===//

#include "lathe/runtime/Attention.h"

#include "TestUtils.h"

#include <algorithm>
#include <limits>

using namespace lathe::test;

namespace {

/// Naive attention in double: materialises each score row. Shapes
/// [batch, L, D] (row-major); biases [batch or 1, Lq or 1, Lk or 1].
struct Bias {
  std::vector<float> data;
  int64_t sb, sq, sk; // sizes (each the full size or 1)
};

std::vector<double> refAttention(const std::vector<float> &q,
                                 const std::vector<float> &k,
                                 const std::vector<float> &v, int64_t batch,
                                 int64_t lq, int64_t lk, int64_t d, int64_t dv,
                                 double scale,
                                 const std::vector<Bias> &biases = {}) {
  std::vector<double> o(batch * lq * dv, 0.0), s(lk);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < lq; ++i) {
      double mx = -INFINITY;
      for (int64_t j = 0; j < lk; ++j) {
        double dot = 0;
        for (int64_t e = 0; e < d; ++e)
          dot += double(q[(b * lq + i) * d + e]) * k[(b * lk + j) * d + e];
        s[j] = dot * scale;
        for (const Bias &bias : biases) {
          int64_t bb = bias.sb == 1 ? 0 : b, ii = bias.sq == 1 ? 0 : i,
                  jj = bias.sk == 1 ? 0 : j;
          s[j] += bias.data[(bb * bias.sq + ii) * bias.sk + jj];
        }
        mx = std::max(mx, s[j]);
      }
      if (mx == -INFINITY)
        continue;
      double sum = 0;
      for (int64_t j = 0; j < lk; ++j)
        sum += (s[j] = std::exp(s[j] - mx));
      for (int64_t j = 0; j < lk; ++j)
        for (int64_t e = 0; e < dv; ++e)
          o[(b * lq + i) * dv + e] += s[j] / sum * v[(b * lk + j) * dv + e];
    }
  return o;
}

/// max |a - ref| / max |ref| (the attn_max_rel_err).
double maxRelErr(const std::vector<float> &a, const std::vector<double> &ref) {
  double err = 0, mag = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    err = std::max(err, std::fabs(a[i] - ref[i]));
    mag = std::max(mag, std::fabs(ref[i]));
  }
  return err / std::max(mag, 1e-30);
}

class AttentionTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_EQ(takePending(), ""); }
};

void runCase(int64_t batch, int64_t lq, int64_t lk, int64_t d, int64_t dv,
             int64_t qChunk, int64_t kvChunk, unsigned seed) {
  SCOPED_TRACE(testing::Message()
               << "batch " << batch << " lq " << lq << " lk " << lk
               << " chunks " << qChunk << "x" << kvChunk);
  auto q = randomVector(batch * lq * d, seed, -2.f, 2.f);
  auto k = randomVector(batch * lk * d, seed + 1, -2.f, 2.f);
  auto v = randomVector(batch * lk * dv, seed + 2);
  std::vector<float> o(batch * lq * dv, -7.f);
  MemRef mq(q.data(), {batch, lq, d}), mk(k.data(), {batch, lk, d}),
      mv(v.data(), {batch, lk, dv}), mo(o.data(), {batch, lq, dv});
  float scale = 1.0f / std::sqrt(float(d));
  lathe_rt_chunked_attention_f32(3, mq.desc(), 3, mk.desc(), 3, mv.desc(), 0,
                                 nullptr, 0, nullptr, 3, mo.desc(), scale,
                                 qChunk, kvChunk, 0);
  ASSERT_EQ(takePending(), "");
  auto ref = refAttention(q, k, v, batch, lq, lk, d, dv, scale);
  EXPECT_LE(maxRelErr(o, ref), 1e-5);
}

TEST_F(AttentionTest, MatchesNaiveForManyChunkings) {
  runCase(2, 64, 64, 16, 16, 16, 16, 1);
  runCase(3, 100, 77, 32, 24, 32, 20, 2); // ragged last blocks, Dv != D
  runCase(1, 5, 300, 8, 8, 64, 256, 3);   // chunks larger than Lq
  runCase(2, 129, 129, 64, 64, 0, 0, 4);  // runtime defaults
  runCase(1, 33, 1000, 64, 64, 7, 1, 5);  // one key per block
}

TEST_F(AttentionTest, LongSequenceWithinTolerance) {
  runCase(1, 2048, 2048, 64, 64, 64, 512, 6);
}

TEST_F(AttentionTest, BroadcastBiasesAndFullyMaskedRows) {
  int64_t batch = 2, lq = 40, lk = 50, d = 16;
  auto q = randomVector(batch * lq * d, 10),
       k = randomVector(batch * lk * d, 11),
       v = randomVector(batch * lk * d, 12);
  // Key mask [batch, 1, Lk] (-inf on some keys, all keys of row 0 via the
  // pair bias below) and a pair bias [1, Lq, Lk].
  Bias mask{std::vector<float>(batch * lk, 0.f), batch, 1, lk};
  for (int64_t j = 0; j < lk; j += 3)
    mask.data[j] = -std::numeric_limits<float>::infinity();
  Bias pair{randomVector(lq * lk, 13, -3.f, 3.f), 1, lq, lk};
  for (int64_t j = 0; j < lk; ++j)
    pair.data[j] = -std::numeric_limits<float>::infinity(); // row 0 masked
  std::vector<float> o(batch * lq * d);
  MemRef mq(q.data(), {batch, lq, d}), mk(k.data(), {batch, lk, d}),
      mv(v.data(), {batch, lk, d}), mo(o.data(), {batch, lq, d}),
      mm(mask.data.data(), {batch, 1, lk}), mp(pair.data.data(), {1, lq, lk});
  lathe_rt_chunked_attention_f32(3, mq.desc(), 3, mk.desc(), 3, mv.desc(), 3,
                                 mm.desc(), 3, mp.desc(), 3, mo.desc(), 0.25f,
                                 8, 16, 2);
  ASSERT_EQ(takePending(), "");
  auto ref = refAttention(q, k, v, batch, lq, lk, d, d, 0.25, {mask, pair});
  EXPECT_LE(maxRelErr(o, ref), 1e-5);
  for (int64_t e = 0; e < d; ++e)
    EXPECT_EQ(o[e], 0.f); // batch 0, row 0: every key masked
}

TEST_F(AttentionTest, StridedOperandsAndRank4) {
  // K given transposed in memory ([b, h, D, Lk] viewed as [b, h, Lk, D]) and
  // a rank-4 (batch, heads) layout.
  int64_t b = 2, h = 3, l = 20, d = 8;
  auto q = randomVector(b * h * l * d, 20),
       kt = randomVector(b * h * d * l, 21),
       v = randomVector(b * h * l * d, 22);
  std::vector<float> k(kt.size());
  for (int64_t n = 0; n < b * h; ++n)
    for (int64_t j = 0; j < l; ++j)
      for (int64_t e = 0; e < d; ++e)
        k[(n * l + j) * d + e] = kt[(n * d + e) * l + j];
  std::vector<float> o(b * h * l * d);
  MemRef mq(q.data(), {b, h, l, d}), mv(v.data(), {b, h, l, d}),
      mo(o.data(), {b, h, l, d}),
      mk(kt.data(), {b, h, l, d}, {h * d * l, d * l, 1, l});
  lathe_rt_chunked_attention_f32(4, mq.desc(), 4, mk.desc(), 4, mv.desc(), 0,
                                 nullptr, 0, nullptr, 4, mo.desc(), 0.3f, 8, 8,
                                 0);
  ASSERT_EQ(takePending(), "");
  auto ref = refAttention(q, k, v, b * h, l, l, d, d, 0.3);
  EXPECT_LE(maxRelErr(o, ref), 1e-5);
}

TEST_F(AttentionTest, ScoreBlocksBoundPeakMemory) {
  int64_t l = 4096, d = 32;
  auto q = randomVector(l * d, 30), k = randomVector(l * d, 31),
       v = randomVector(l * d, 32);
  std::vector<float> o(l * d);
  MemRef mq(q.data(), {1, l, d}), mk(k.data(), {1, l, d}),
      mv(v.data(), {1, l, d}), mo(o.data(), {1, l, d});
  lathe_rt_mem_reset_peak();
  int64_t before = lathe_rt_mem_peak();
  lathe_rt_chunked_attention_f32(3, mq.desc(), 3, mk.desc(), 3, mv.desc(), 0,
                                 nullptr, 0, nullptr, 3, mo.desc(), 0.2f, 64,
                                 256, 0);
  ASSERT_EQ(takePending(), "");
  int64_t used = lathe_rt_mem_peak() - before;
  // At most a few workers' blocks (64x256 scores + 64x32 accumulator), far
  // below the 64 MiB the full score matrix would take.
  EXPECT_LE(used, 16 * (64 * 256 + 64 * 32 + 128) * 4 + 4096);
  EXPECT_GT(used, 0);
}

TEST_F(AttentionTest, MismatchedShapesArePendingErrors) {
  std::vector<float> x(64);
  MemRef q(x.data(), {1, 4, 8}), k(x.data(), {1, 4, 4}), o(x.data(), {1, 4, 8});
  lathe_rt_chunked_attention_f32(3, q.desc(), 3, k.desc(), 3, q.desc(), 0,
                                 nullptr, 0, nullptr, 3, o.desc(), 1.f, 0, 0,
                                 0);
  EXPECT_NE(takePending().find("mismatched shapes"), std::string::npos);
  lathe_rt_chunked_attention_f32(3, q.desc(), 3, q.desc(), 3, q.desc(), 0,
                                 nullptr, 0, nullptr, 3, o.desc(), 1.f, 0, 0,
                                 3);
  EXPECT_NE(takePending().find("0 to 2 biases"), std::string::npos);
}

TEST_F(AttentionTest, CrossModalReduceKeepsRecentAndRelevant) {
  // 10 tokens, keys one-hot-ish: the query attends strongly to token 2 and
  // 5; recent 0.2 keeps tokens 8, 9; keep 0.25 of the 8 older keeps 2.
  int64_t n = 10, c = 3, d = 4;
  std::vector<float> q = {0, 0, 0, 0}, k(n * d, 0.f), t(n * c);
  q[0] = 10.f;
  k[2 * d + 0] = 1.f;
  k[5 * d + 0] = 0.9f;
  for (int64_t j = 0; j < n * c; ++j)
    t[j] = float(j / c);
  EXPECT_EQ(lathe_rt_cross_modal_kept_count(n, 0.2, 0.25), 4);
  std::vector<float> out(4 * c);
  MemRef mq(q.data(), {1, 1, d}), mk(k.data(), {1, n, d}), mt(t.data(), {n, c}),
      mo(out.data(), {4, c});
  lathe_rt_cross_modal_reduce_f32(3, mq.desc(), 3, mk.desc(), 2, mt.desc(), 2,
                                  mo.desc(), 0.2, 0.25, 1.f);
  ASSERT_EQ(takePending(), "");
  std::vector<float> rows = {out[0], out[c], out[2 * c], out[3 * c]};
  EXPECT_EQ(rows, (std::vector<float>{2, 5, 8, 9}));
  lathe_rt_cross_modal_reduce_f32(3, mq.desc(), 3, mk.desc(), 2, mt.desc(), 2,
                                  mo.desc(), 0.0, 0.25, 1.f);
  EXPECT_NE(takePending().find("(0, 1]"), std::string::npos);
  EXPECT_EQ(lathe_rt_cross_modal_kept_count(320, 0.1, 0.1), 61);
}

} // namespace
