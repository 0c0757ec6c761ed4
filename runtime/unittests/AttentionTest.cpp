//===- AttentionTest.cpp - Chunked attention against a naive reference ----===//

#include "lathe/runtime/Attention.h"

#include "TestUtils.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>

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

/// Masked attention over every operand layout the kernel handles: q stored
/// transposed ('T' for sgemm), kᵀ dense ('N'), v with no contiguous axis
/// (copied), o with a column stride (written through a block), a mask that
/// depends on the query row and masks a trailing run of keys for some rows
/// only (the skip takes the widest row of a block), and a -inf and a finite
/// fill.
TEST_F(AttentionTest, MaskedAttentionLayoutsAndMasks) {
  int64_t n = 3, lq = 37, lk = 29, d = 8, dv = 6;
  auto qt = randomVector(n * d * lq, 50, -2.f, 2.f),
       kt = randomVector(n * d * lk, 51, -2.f, 2.f),
       vs = randomVector(n * lk * dv * 2, 52);
  std::vector<float> q(n * lq * d), k(n * lk * d), v(n * lk * dv);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t i = 0; i < lq; ++i)
      for (int64_t e = 0; e < d; ++e)
        q[(b * lq + i) * d + e] = qt[(b * d + e) * lq + i];
    for (int64_t j = 0; j < lk; ++j) {
      for (int64_t e = 0; e < d; ++e)
        k[(b * lk + j) * d + e] = kt[(b * d + e) * lk + j];
      for (int64_t c = 0; c < dv; ++c)
        v[(b * lk + j) * dv + c] = vs[(b * lk + j) * dv * 2 + c * 2];
    }
  }
  // mask[b, i, j] = 1 (masked) for keys past a row-dependent length.
  std::vector<uint8_t> mask(n * lq * lk);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < lq; ++i)
      for (int64_t j = 0; j < lk; ++j)
        mask[(b * lq + i) * lk + j] = j >= 3 + (i * 7 + b * 5) % lk;
  for (float fill : {-std::numeric_limits<float>::infinity(), -30.f}) {
    SCOPED_TRACE(testing::Message() << "fill " << fill);
    Bias bias{std::vector<float>(n * lq * lk, 0.f), n, lq, lk};
    for (size_t e = 0; e < mask.size(); ++e)
      if (mask[e])
        bias.data[e] = -1e30f; // far below any score: the mask's effect
    std::vector<float> o(n * lq * dv * 3, 5.f);
    MemRef mq(qt.data(), {n, lq, d}, {d * lq, 1, lq}),
        mk(kt.data(), {n, d, lk}),
        mv(vs.data(), {n, lk, dv}, {lk * dv * 2, dv * 2, 2}),
        mo(o.data(), {n, lq, dv}, {lq * dv * 3, dv * 3, 3}),
        mm(reinterpret_cast<float *>(mask.data()), {n, lq, lk});
    lathe_rt_masked_attention_f32(
        3, mq.desc(), 3, mk.desc(), 3, mv.desc(), 3, mm.desc(), 3, mo.desc(),
        0.35f, fill, 0 | 1 << 4 | 2 << 8,
        LATHE_ATTN_HAS_MASK | LATHE_ATTN_MASKED_WHEN_TRUE);
    ASSERT_EQ(takePending(), "");
    std::vector<double> ref;
    if (fill == -30.f) {
      // A finite fill: masked scores are exactly the fill.
      for (size_t e = 0; e < mask.size(); ++e)
        bias.data[e] = 0.f;
      std::vector<double> s(lk);
      ref.assign(n * lq * dv, 0.0);
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < lq; ++i) {
          double mx = -INFINITY, sum = 0;
          for (int64_t j = 0; j < lk; ++j) {
            double dot = 0;
            for (int64_t e = 0; e < d; ++e)
              dot += double(q[(b * lq + i) * d + e]) * k[(b * lk + j) * d + e];
            s[j] = mask[(b * lq + i) * lk + j] ? -30.0 : dot * 0.35f;
            mx = std::max(mx, s[j]);
          }
          for (int64_t j = 0; j < lk; ++j)
            sum += (s[j] = std::exp(s[j] - mx));
          for (int64_t j = 0; j < lk; ++j)
            for (int64_t c = 0; c < dv; ++c)
              ref[(b * lq + i) * dv + c] +=
                  s[j] / sum * v[(b * lk + j) * dv + c];
        }
    } else {
      ref = refAttention(q, k, v, n, lq, lk, d, dv, 0.35f, {bias});
    }
    std::vector<float> got(n * lq * dv);
    for (int64_t e = 0; e < n * lq * dv; ++e)
      got[e] = o[e * 3];
    EXPECT_LE(maxRelErr(got, ref), 1e-5);
    EXPECT_EQ(o[1], 5.f); // between the strided output's elements
  }
}

/// Every key masked with a -inf fill gives NaN rows, as the reference's
/// softmax (max -inf, exp(-inf - -inf)); +Inf in v at a masked key (0 · Inf)
/// too; NaN in q at a masked position's row only makes that row NaN.
TEST_F(AttentionTest, MaskedAttentionNonFinite) {
  int64_t n = 2, l = 16, d = 4;
  auto q = randomVector(n * l * d, 60), k = randomVector(n * l * d, 61),
       v = randomVector(n * l * d, 62);
  std::vector<uint8_t> keep(n * l, 1);
  for (int64_t j = 0; j < l; ++j)
    keep[j] = 0; // batch 0: every key masked
  for (int64_t j = 10; j < l; ++j)
    keep[l + j] = 0; // batch 1: keys 10.. masked
  v[(l + 12) * d + 1] = std::numeric_limits<float>::infinity();
  k[(l + 11) * d] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> o(n * l * d);
  MemRef mq(q.data(), {n, l, d}), mv(v.data(), {n, l, d}),
      mo(o.data(), {n, l, d}), mk(k.data(), {n, d, l}, {l * d, 1, d}),
      mm(reinterpret_cast<float *>(keep.data()), {n, l});
  // The mask keeps where true (mask dims: batch 0, keys 2).
  lathe_rt_masked_attention_f32(3, mq.desc(), 3, mk.desc(), 3, mv.desc(), 2,
                                mm.desc(), 3, mo.desc(), 0.5f,
                                -std::numeric_limits<float>::infinity(),
                                0 | 2 << 4, LATHE_ATTN_HAS_MASK);
  ASSERT_EQ(takePending(), "");
  for (int64_t e = 0; e < l * d; ++e)
    EXPECT_TRUE(std::isnan(o[e])) << e;
  // Batch 1: column 1 is 0 · Inf = NaN in every row; the others are finite
  // (the NaN key score is masked).
  for (int64_t i = 0; i < l; ++i)
    for (int64_t c = 0; c < d; ++c)
      EXPECT_EQ(std::isnan(o[(l + i) * d + c]), c == 1) << i << " " << c;
}

/// In a bf16 session (AMX tiles or AVX512-BF16 dot products where oneDNN
/// has bf16 instructions, f32 elsewhere) the products' inputs are rounded to
/// bf16: errors of bf16 inputs, the same NaN rows, shapes whose keys, head
/// width and rows are no multiple of the 32 x 32 tiles (or of the dot
/// products' 8 x 32 blocks).
TEST_F(AttentionTest, MaskedAttentionBf16Session) {
  auto session = std::make_unique<BoundSession>(LATHE_PRECISION_BF16, 2);
  lathe_rt_profile_reset();
  int64_t n = 3, lq = 45, lk = 37, d = 24, dv = 40;
  auto q = randomVector(n * lq * d, 70), k = randomVector(n * lk * d, 71),
       v = randomVector(n * lk * dv, 72);
  std::vector<uint8_t> mask(n * lk, 0);
  for (int64_t j = 20; j < lk; ++j)
    mask[lk + j] = 1; // batch 1: keys 20.. masked
  for (int64_t j = 0; j < lk; ++j)
    mask[2 * lk + j] = 1; // batch 2: every key masked
  std::vector<float> o(n * lq * dv);
  MemRef mq(q.data(), {n, lq, d}), mv(v.data(), {n, lk, dv}),
      mo(o.data(), {n, lq, dv}), mk(k.data(), {n, d, lk}, {lk * d, 1, d}),
      mm(reinterpret_cast<float *>(mask.data()), {n, lk});
  lathe_rt_masked_attention_f32(
      3, mq.desc(), 3, mk.desc(), 3, mv.desc(), 2, mm.desc(), 3, mo.desc(),
      0.3f, -std::numeric_limits<float>::infinity(), 0 | 2 << 4,
      LATHE_ATTN_HAS_MASK | LATHE_ATTN_MASKED_WHEN_TRUE);
  EXPECT_EQ(takePending(), "");
  EXPECT_EQ(profileCalls("attention_bf16"), lathe_rt_cpu_has_bf16() ? 1 : 0);
  session.reset();
  Bias bias{std::vector<float>(n * lk, 0.f), n, 1, lk};
  for (int64_t e = 0; e < n * lk; ++e)
    if (mask[e])
      bias.data[e] = -1e30f;
  auto ref = refAttention(q, k, v, 2, lq, lk, d, dv, 0.3f, {bias});
  std::vector<float> got(o.begin(), o.begin() + 2 * lq * dv);
  EXPECT_LE(maxRelErr(got, ref), 2e-2);
  for (int64_t e = 2 * lq * dv; e < n * lq * dv; ++e)
    EXPECT_TRUE(std::isnan(o[e])) << e;
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

//===----------------------------------------------------------------------===//
// Backward (lathe_rt_chunked_attention_backward_f32)
//===----------------------------------------------------------------------===//

namespace {

/// A row-major tensor of the attention's rank with broadcasting sizes.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t s : shape)
      n *= s;
    return n;
  }
  /// Flat index of the element at `idx` (full-size indices; size-1
  /// dimensions broadcast).
  int64_t at(const std::vector<int64_t> &idx) const {
    int64_t flat = 0;
    for (size_t dim = 0; dim < shape.size(); ++dim)
      flat = flat * shape[dim] + (shape[dim] == 1 ? 0 : idx[dim]);
    return flat;
  }
};

/// Float64 reference of attention and its gradients from the formulas:
/// p = softmax(scale·q·kᵀ + Σ biases) (a row whose scores are all -inf has
/// output 0 and no gradient, as the forward kernel defines it),
/// dv = pᵀ·dO, dp = dO·vᵀ, ds = p ∘ (dp − rowsum(p ∘ dp)), dq = scale·ds·k,
/// dk = scale·dsᵀ·q, dbias = ds summed over the bias' broadcast dimensions.
struct Reference {
  std::vector<double> o, lse, dq, dk, dv;
  std::vector<std::vector<double>> dbias;
};

Reference refBackward(const std::vector<int64_t> &lead, int64_t lq, int64_t lk,
                      int64_t d, int64_t dv, const std::vector<float> &q,
                      const std::vector<float> &k, const std::vector<float> &v,
                      const std::vector<float> &dO,
                      const std::vector<Tensor> &biases, double scale) {
  int64_t batch = 1;
  for (int64_t s : lead)
    batch *= s;
  Reference ref;
  ref.o.assign(batch * lq * dv, 0.0);
  ref.lse.assign(batch * lq, 0.0);
  ref.dq.assign(batch * lq * d, 0.0);
  ref.dk.assign(batch * lk * d, 0.0);
  ref.dv.assign(batch * lk * dv, 0.0);
  for (const Tensor &b : biases)
    ref.dbias.emplace_back(b.numel(), 0.0);
  std::vector<double> s(lk), dp(lk);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<int64_t> idx(lead.size() + 2);
    for (int64_t dim = lead.size() - 1, rest = b; dim >= 0; --dim) {
      idx[dim] = rest % lead[dim];
      rest /= lead[dim];
    }
    for (int64_t i = 0; i < lq; ++i) {
      idx[lead.size()] = i;
      double mx = -INFINITY;
      bool nan = false;
      for (int64_t j = 0; j < lk; ++j) {
        idx[lead.size() + 1] = j;
        double dot = 0;
        for (int64_t e = 0; e < d; ++e)
          dot += double(q[(b * lq + i) * d + e]) * k[(b * lk + j) * d + e];
        s[j] = dot * scale;
        for (const Tensor &bias : biases)
          s[j] += bias.data[bias.at(idx)];
        nan |= std::isnan(s[j]);
        mx = std::max(mx, s[j]);
      }
      if (nan)
        mx = NAN;
      if (mx == -INFINITY) {
        ref.lse[b * lq + i] = -INFINITY;
        continue;
      }
      double sum = 0;
      for (int64_t j = 0; j < lk; ++j)
        sum += std::exp(s[j] - mx);
      double lse = mx + std::log(sum);
      ref.lse[b * lq + i] = lse;
      for (int64_t j = 0; j < lk; ++j)
        s[j] = std::exp(s[j] - lse);
      for (int64_t c = 0; c < dv; ++c) {
        double acc = 0;
        for (int64_t j = 0; j < lk; ++j)
          acc += s[j] * v[(b * lk + j) * dv + c];
        ref.o[(b * lq + i) * dv + c] = acc;
      }
      double delta = 0;
      for (int64_t j = 0; j < lk; ++j) {
        dp[j] = 0;
        for (int64_t c = 0; c < dv; ++c)
          dp[j] += double(dO[(b * lq + i) * dv + c]) * v[(b * lk + j) * dv + c];
        delta += s[j] * dp[j];
      }
      for (int64_t j = 0; j < lk; ++j) {
        idx[lead.size() + 1] = j;
        double ds = s[j] * (dp[j] - delta);
        for (int64_t c = 0; c < dv; ++c)
          ref.dv[(b * lk + j) * dv + c] += s[j] * dO[(b * lq + i) * dv + c];
        for (int64_t e = 0; e < d; ++e) {
          ref.dq[(b * lq + i) * d + e] += scale * ds * k[(b * lk + j) * d + e];
          ref.dk[(b * lk + j) * d + e] += scale * ds * q[(b * lq + i) * d + e];
        }
        for (size_t n = 0; n < biases.size(); ++n)
          ref.dbias[n][biases[n].at(idx)] += ds;
      }
    }
  }
  return ref;
}

/// NaN where the reference is NaN; elsewhere |a − ref| ≤ tol · max |ref|
/// over the non-NaN elements.
void expectMatches(const char *what, const std::vector<float> &a,
                   const std::vector<double> &ref, double tol) {
  SCOPED_TRACE(what);
  ASSERT_EQ(a.size(), ref.size());
  // At least 1e-2: a bias broadcast along the keys has a gradient that is
  // zero in exact arithmetic (softmax ignores a per-row shift), so its
  // reference is rounding noise; the other tensors here are O(0.1..1).
  double mag = 1e-2;
  for (double x : ref)
    if (std::isfinite(x))
      mag = std::max(mag, std::fabs(x));
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(ref[i])) {
      ASSERT_TRUE(std::isnan(a[i])) << "at " << i << ": " << a[i];
      continue;
    }
    if (std::isinf(ref[i])) {
      ASSERT_EQ(double(a[i]), ref[i]) << "at " << i;
      continue;
    }
    ASSERT_LE(std::fabs(a[i] - ref[i]), tol * mag)
        << "at " << i << ": " << a[i] << " vs " << ref[i];
  }
}

struct BackwardCase {
  std::vector<int64_t> lead;
  int64_t lq, lk, d, dv;
  std::vector<std::vector<int64_t>> biasShapes;
  int64_t gradMask = 0;
  int64_t qChunk = 0, kvChunk = 0;
  unsigned seed = 1;
  /// Edits the inputs before the run (masks, NaN).
  std::function<void(std::vector<float> &q, std::vector<float> &v,
                     std::vector<Tensor> &biases)>
      edit;
};

/// Runs forward (with lse) and backward with 1 and 2 threads; checks both
/// against the float64 reference and that the two thread counts agree bit
/// for bit.
void runBackwardCase(const BackwardCase &c) {
  int64_t batch = 1;
  for (int64_t s : c.lead)
    batch *= s;
  int64_t r = c.lead.size() + 2;
  auto shape = [&](int64_t rows, int64_t cols) {
    std::vector<int64_t> s = c.lead;
    s.push_back(rows);
    s.push_back(cols);
    return s;
  };
  auto q = randomVector(batch * c.lq * c.d, c.seed, -1.5f, 1.5f);
  auto k = randomVector(batch * c.lk * c.d, c.seed + 1, -1.5f, 1.5f);
  auto v = randomVector(batch * c.lk * c.dv, c.seed + 2);
  auto dO = randomVector(batch * c.lq * c.dv, c.seed + 3);
  std::vector<Tensor> biases;
  for (size_t n = 0; n < c.biasShapes.size(); ++n) {
    Tensor t{c.biasShapes[n], {}};
    t.data = randomVector(t.numel(), c.seed + 10 + n, -2.f, 2.f);
    biases.push_back(t);
  }
  if (c.edit)
    c.edit(q, v, biases);
  Reference ref = refBackward(c.lead, c.lq, c.lk, c.d, c.dv, q, k, v, dO,
                              biases, 1.0 / std::sqrt(double(c.d)));
  float scale = float(1.0 / std::sqrt(double(c.d)));
  std::vector<int64_t> lseShape = c.lead;
  lseShape.push_back(c.lq);
  std::vector<std::vector<float>> firstRun;
  for (int threads : {1, 2}) {
    SCOPED_TRACE(testing::Message() << threads << " thread(s)");
    lathe_rt_set_num_threads(threads);
    std::vector<float> o(batch * c.lq * c.dv, -7.f), lse(batch * c.lq, -7.f);
    std::vector<float> dq(q.size(), -7.f), dk(k.size(), -7.f),
        dv(v.size(), -7.f);
    std::vector<std::vector<float>> db(2);
    std::vector<MemRef> mb, mdb;
    for (size_t n = 0; n < biases.size(); ++n) {
      db[n].assign(biases[n].numel(), -7.f);
      mb.emplace_back(biases[n].data.data(), biases[n].shape);
      mdb.emplace_back(db[n].data(), biases[n].shape);
    }
    MemRef mq(q.data(), shape(c.lq, c.d)), mk(k.data(), shape(c.lk, c.d)),
        mv(v.data(), shape(c.lk, c.dv)), mo(o.data(), shape(c.lq, c.dv)),
        mdo(dO.data(), shape(c.lq, c.dv)), ml(lse.data(), lseShape),
        mdq(dq.data(), shape(c.lq, c.d)), mdk(dk.data(), shape(c.lk, c.d)),
        mdv(dv.data(), shape(c.lk, c.dv));
    auto bias = [&](std::vector<MemRef> &m, size_t n) {
      return n < m.size() ? m[n].desc() : nullptr;
    };
    int64_t nb = biases.size();
    lathe_rt_chunked_attention_lse_f32(r, mq.desc(), r, mk.desc(), r, mv.desc(),
                                       r, bias(mb, 0), r, bias(mb, 1), r,
                                       mo.desc(), r - 1, ml.desc(), scale,
                                       c.qChunk, c.kvChunk, nb);
    ASSERT_EQ(takePending(), "");
    expectMatches("o", o, ref.o, 2e-5);
    expectMatches("lse", lse, ref.lse, 2e-5);
    lathe_rt_chunked_attention_backward_f32(
        r, mq.desc(), r, mk.desc(), r, mv.desc(), r, mo.desc(), r, mdo.desc(),
        r - 1, ml.desc(), r, bias(mb, 0), r, bias(mb, 1), r, mdq.desc(), r,
        mdk.desc(), r, mdv.desc(), r, bias(mdb, 0), r, bias(mdb, 1), scale,
        c.qChunk, c.kvChunk, nb, c.gradMask);
    ASSERT_EQ(takePending(), "");
    expectMatches("dq", dq, ref.dq, 5e-5);
    expectMatches("dk", dk, ref.dk, 5e-5);
    expectMatches("dv", dv, ref.dv, 5e-5);
    std::vector<std::vector<float>> run = {dq, dk, dv};
    for (size_t n = 0; n < biases.size(); ++n) {
      if (!(c.gradMask & (1 << n))) {
        // Not requested: left alone.
        EXPECT_EQ(db[n], std::vector<float>(db[n].size(), -7.f));
        continue;
      }
      expectMatches(n == 0 ? "dbias0" : "dbias1", db[n], ref.dbias[n], 5e-5);
      run.push_back(db[n]);
    }
    if (firstRun.empty()) {
      firstRun = run;
    } else {
      // Each gradient element has one writer and a fixed summation order.
      for (size_t n = 0; n < run.size(); ++n)
        EXPECT_EQ(0, std::memcmp(run[n].data(), firstRun[n].data(),
                                 run[n].size() * sizeof(float)))
            << "output " << n << " differs between 1 and 2 threads";
    }
  }
  lathe_rt_set_num_threads(0);
}

} // namespace

TEST_F(AttentionTest, BackwardMatchesFloat64Reference) {
  runBackwardCase({{2}, 64, 64, 16, 16, {}, 0, 16, 16, 40, {}});
  // Odd sizes, ragged last blocks, Dv != D, Lq != Lk.
  runBackwardCase({{3}, 37, 53, 12, 7, {}, 0, 8, 16, 41, {}});
  // Runtime default chunks, blocks larger than the sequence, no batch dims.
  runBackwardCase({{}, 29, 150, 8, 8, {}, 0, 0, 0, 42, {}});
  // One key per block, one query per block.
  runBackwardCase({{2, 2}, 5, 9, 4, 6, {}, 0, 1, 1, 43, {}});
}

TEST_F(AttentionTest, BackwardEvoformerBiases) {
  // Evoformer: q [B, N, H, L, D], mask [B, N, 1, 1, L], pair bias
  // [B, 1, H, L, L]; the pair bias' gradient (summed over N), then both.
  // Key 2 masked everywhere; every key of (b=1, n=0) masked: those rows are
  // fully masked (output 0, zero gradients).
  auto edit = [](std::vector<float> &, std::vector<float> &,
                 std::vector<Tensor> &biases) {
    Tensor &mask = biases[0];
    int64_t l = mask.shape[4];
    for (float &x : mask.data)
      x = 0.f;
    for (int64_t bn = 0; bn < 2 * 3; ++bn)
      mask.data[bn * l + 2] = -INFINITY;
    for (int64_t j = 0; j < l; ++j)
      mask.data[(1 * 3 + 0) * l + j] = -INFINITY;
  };
  BackwardCase c{
      {2, 3, 2}, 19, 19, 8,  8,   {{2, 3, 1, 1, 19}, {2, 1, 2, 19, 19}},
      2,         8,  8,  50, edit};
  runBackwardCase(c);
  c.gradMask = 3;
  c.qChunk = c.kvChunk = 0;
  runBackwardCase(c);
}

TEST_F(AttentionTest, BackwardBiasBroadcastAlongRowsAndColumns) {
  // A key bias [1, Lk] (summed over rows and batch) and a row bias
  // [B, Lq, 1] (summed over keys), both trained.
  runBackwardCase(
      {{3}, 21, 33, 8, 5, {{1, 1, 33}, {3, 21, 1}}, 3, 8, 16, 60, {}});
  // Rank 2, one bias of the full score shape.
  runBackwardCase({{}, 17, 24, 6, 6, {{17, 24}}, 1, 4, 8, 61, {}});
}

TEST_F(AttentionTest, BackwardPropagatesNaN) {
  // A NaN query element: that row's output and lse are NaN, so dV and dK of
  // its batch element and its dQ row are NaN; everything else stays finite.
  auto edit = [](std::vector<float> &q, std::vector<float> &,
                 std::vector<Tensor> &) { q[3 * 8 + 1] = NAN; };
  runBackwardCase({{2}, 16, 16, 8, 8, {}, 0, 8, 8, 70, edit});
}

TEST_F(AttentionTest, BackwardNeverStoresTheScores) {
  int64_t l = 2048, d = 32;
  auto q = randomVector(l * d, 80), k = randomVector(l * d, 81),
       v = randomVector(l * d, 82), dO = randomVector(l * d, 83);
  std::vector<float> o(l * d), lse(l), dq(l * d), dk(l * d), dv(l * d);
  MemRef mq(q.data(), {1, l, d}), mk(k.data(), {1, l, d}),
      mv(v.data(), {1, l, d}), mo(o.data(), {1, l, d}),
      mdo(dO.data(), {1, l, d}), ml(lse.data(), {1, l}),
      mdq(dq.data(), {1, l, d}), mdk(dk.data(), {1, l, d}),
      mdv(dv.data(), {1, l, d});
  lathe_rt_chunked_attention_lse_f32(3, mq.desc(), 3, mk.desc(), 3, mv.desc(),
                                     0, nullptr, 0, nullptr, 3, mo.desc(), 2,
                                     ml.desc(), 0.2f, 0, 0, 0);
  ASSERT_EQ(takePending(), "");
  lathe_rt_mem_reset_peak();
  int64_t before = lathe_rt_mem_peak();
  lathe_rt_chunked_attention_backward_f32(
      3, mq.desc(), 3, mk.desc(), 3, mv.desc(), 3, mo.desc(), 3, mdo.desc(), 2,
      ml.desc(), 0, nullptr, 0, nullptr, 3, mdq.desc(), 3, mdk.desc(), 3,
      mdv.desc(), 0, nullptr, 0, nullptr, 0.2f, 64, 128, 0, 0);
  ASSERT_EQ(takePending(), "");
  int64_t used = lathe_rt_mem_peak() - before;
  // Per worker: two 64x128 blocks, 128-row dK/dV, one batch element's dQ and
  // D: about 0.4 MiB, far below the 16 MiB of one L x L f32 matrix.
  EXPECT_LE(used, 4 * (2 * 64 * 128 + 2 * 128 * d + l * d + l) * 4 + 4096);
  EXPECT_GT(used, 0);
}

TEST_F(AttentionTest, BackwardBadOperandsArePendingErrors) {
  std::vector<float> x(64), l(4);
  MemRef q(x.data(), {1, 4, 8}), lse(l.data(), {1, 4}),
      bad(x.data(), {1, 3, 8}), badLse(l.data(), {1, 3});
  lathe_rt_chunked_attention_backward_f32(
      3, q.desc(), 3, q.desc(), 3, q.desc(), 3, q.desc(), 3, q.desc(), 2,
      lse.desc(), 0, nullptr, 0, nullptr, 3, bad.desc(), 3, q.desc(), 3,
      q.desc(), 0, nullptr, 0, nullptr, 1.f, 0, 0, 0, 0);
  EXPECT_NE(takePending().find("mismatched shapes"), std::string::npos);
  lathe_rt_chunked_attention_backward_f32(
      3, q.desc(), 3, q.desc(), 3, q.desc(), 3, q.desc(), 3, q.desc(), 2,
      badLse.desc(), 0, nullptr, 0, nullptr, 3, q.desc(), 3, q.desc(), 3,
      q.desc(), 0, nullptr, 0, nullptr, 1.f, 0, 0, 0, 0);
  EXPECT_NE(takePending().find("log-sum-exp"), std::string::npos);
  lathe_rt_chunked_attention_backward_f32(
      3, q.desc(), 3, q.desc(), 3, q.desc(), 3, q.desc(), 3, q.desc(), 2,
      lse.desc(), 0, nullptr, 0, nullptr, 3, q.desc(), 3, q.desc(), 3, q.desc(),
      0, nullptr, 0, nullptr, 1.f, 0, 0, 0, 1);
  EXPECT_NE(takePending().find("bias gradient mask"), std::string::npos);
}

TEST_F(AttentionTest, BackwardStridedOperandsAndOutputs) {
  // K stored transposed ([n, D, L] viewed as [n, L, D]) and dK written into
  // a transposed buffer the same way: the same gradients as dense operands.
  int64_t n = 3, l = 20, d = 8;
  auto q = randomVector(n * l * d, 90), kt = randomVector(n * d * l, 91),
       v = randomVector(n * l * d, 92), dO = randomVector(n * l * d, 93);
  std::vector<float> k(kt.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t j = 0; j < l; ++j)
      for (int64_t e = 0; e < d; ++e)
        k[(b * l + j) * d + e] = kt[(b * d + e) * l + j];
  std::vector<float> o(n * l * d), lse(n * l), dq(n * l * d), dk(n * l * d),
      dkt(n * d * l), dv(n * l * d), dq2(n * l * d), dv2(n * l * d);
  MemRef mq(q.data(), {n, l, d}), mk(k.data(), {n, l, d}),
      mkt(kt.data(), {n, l, d}, {d * l, 1, l}), mv(v.data(), {n, l, d}),
      mo(o.data(), {n, l, d}), mdo(dO.data(), {n, l, d}),
      ml(lse.data(), {n, l}), mdq(dq.data(), {n, l, d}),
      mdk(dk.data(), {n, l, d}), mdkt(dkt.data(), {n, l, d}, {d * l, 1, l}),
      mdv(dv.data(), {n, l, d}), mdq2(dq2.data(), {n, l, d}),
      mdv2(dv2.data(), {n, l, d});
  lathe_rt_chunked_attention_lse_f32(3, mq.desc(), 3, mk.desc(), 3, mv.desc(),
                                     0, nullptr, 0, nullptr, 3, mo.desc(), 2,
                                     ml.desc(), 0.3f, 8, 8, 0);
  lathe_rt_chunked_attention_backward_f32(
      3, mq.desc(), 3, mk.desc(), 3, mv.desc(), 3, mo.desc(), 3, mdo.desc(), 2,
      ml.desc(), 0, nullptr, 0, nullptr, 3, mdq.desc(), 3, mdk.desc(), 3,
      mdv.desc(), 0, nullptr, 0, nullptr, 0.3f, 8, 8, 0, 0);
  lathe_rt_chunked_attention_backward_f32(
      3, mq.desc(), 3, mkt.desc(), 3, mv.desc(), 3, mo.desc(), 3, mdo.desc(), 2,
      ml.desc(), 0, nullptr, 0, nullptr, 3, mdq2.desc(), 3, mdkt.desc(), 3,
      mdv2.desc(), 0, nullptr, 0, nullptr, 0.3f, 8, 8, 0, 0);
  ASSERT_EQ(takePending(), "");
  for (int64_t b = 0; b < n; ++b)
    for (int64_t j = 0; j < l; ++j)
      for (int64_t e = 0; e < d; ++e)
        ASSERT_NEAR(dkt[(b * d + e) * l + j], dk[(b * l + j) * d + e], 1e-6);
  for (size_t i = 0; i < dq.size(); ++i) {
    ASSERT_NEAR(dq2[i], dq[i], 1e-6);
    ASSERT_NEAR(dv2[i], dv[i], 1e-6);
  }
}
