//===- AccelExecTest.cpp - Each engine op kind against a naive reference --===//
//
// Each test runs a small tiled program (load, compute, store) through
// execute() and compares the HBM result with a plain double-precision loop
// over the whole problem, written independently of the tiling. A program
// without its loads or stores leaves NaN in the result, which the last tests
// check, so the transfers are executed too.

#include "lathe/runtime/AccelExec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace lathe::accel;

namespace {

std::vector<float> randomData(int64_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(gen);
  return v;
}

int addInput(Memory &m, const std::vector<float> &data) {
  int b = m.add(static_cast<int64_t>(data.size()));
  m.hbm[b] = data;
  return b;
}

Op makeOp(OpKind kind, int group, int64_t tiles, int exec) {
  Op op;
  op.kind = kind;
  op.name = opKindName(kind);
  op.group = group;
  op.tiles = tiles;
  op.exec = exec;
  return op;
}

/// load -> compute -> store, one group.
Program grouped(const Op &compute) {
  Program p;
  p.ops.push_back(makeOp(OpKind::DmaLoad, 0, compute.tiles, compute.exec));
  Op c = compute;
  c.group = 0;
  p.ops.push_back(c);
  p.ops.push_back(makeOp(OpKind::DmaStore, 0, compute.tiles, compute.exec));
  return p;
}

void expectNear(const std::vector<float> &got, const std::vector<double> &want,
                double rel) {
  ASSERT_EQ(got.size(), want.size());
  double scale = 0;
  for (double w : want)
    scale = std::max(scale, std::fabs(w));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], rel * std::max(1.0, scale)) << "at " << i;
}

/// C[b] = A[b] * B + bias + R, A [B, M, K] row-major, B [K, N], tiles that do
/// not divide the sizes (ragged edges) and a split reduction.
void runMatmul(OpKind kind, bool bf16) {
  int64_t B = 2, M = 7, N = 9, K = 13;
  Memory m;
  std::vector<float> a = randomData(B * M * K, 1), b = randomData(K * N, 2),
                     bias = randomData(N, 3), r = randomData(B * M * N, 4);
  ExecOp e;
  e.domain = {B, M, N, K};
  e.inputs.push_back({addInput(m, a), 0, {M * K, K, 0, 1}});
  e.inputs.push_back({addInput(m, b), 0, {0, 0, 1, N}});
  e.inputs.push_back({addInput(m, bias), 0, {0, 0, 1, 0}});
  e.inputs.push_back({addInput(m, r), 0, {M * N, N, 1, 0}});
  e.bias = 2;
  e.residual = 3;
  e.output = {m.add(B * M * N), 0, {M * N, N, 1, 0}};
  Op op = makeOp(kind, 0, B * 2 * 3 * 4, 0);
  op.m = 4;
  op.n = 4;
  op.k = 4;
  op.f32 = !bf16;
  std::string error;
  ASSERT_TRUE(execute(grouped(op), {e}, m, error)) << error;
  std::vector<double> want(B * M * N);
  for (int64_t x = 0; x < B; ++x)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) {
          float av = a[(x * M + i) * K + k], bv = b[k * N + j];
          if (bf16) {
            av = roundToBf16(av);
            bv = roundToBf16(bv);
          }
          s += double(av) * double(bv);
        }
        want[(x * M + i) * N + j] = s + bias[j] + r[(x * M + i) * N + j];
      }
  expectNear(m.hbm[e.output.buffer], want, 1e-5);
}

TEST(AccelExec, MmeMatmulF32) { runMatmul(OpKind::MmeMatmul, false); }
TEST(AccelExec, TpcMatmulF32) { runMatmul(OpKind::TpcMatmul, false); }
TEST(AccelExec, MmeMatmulBf16OperandsF32Accumulation) {
  runMatmul(OpKind::MmeMatmul, true);
}

/// relu(2 * a.b + bias) + residual, so the epilogue's order is checked.
TEST(AccelExec, MatmulEpilogue) {
  Memory m;
  ExecOp e;
  e.domain = {1, 1, 2, 2};
  e.inputs.push_back({addInput(m, {1, 2}), 0, {0, 0, 0, 1}});
  e.inputs.push_back({addInput(m, {1, -1, 1, -1}), 0, {0, 0, 1, 2}});
  e.inputs.push_back({addInput(m, {0.5f, 0.5f}), 0, {0, 0, 1, 0}});
  e.inputs.push_back({addInput(m, {10, 20}), 0, {0, 0, 1, 0}});
  e.bias = 2;
  e.residual = 3;
  e.alpha = 2;
  e.activation = ExecOp::Activation::Relu;
  e.output = {m.add(2), 0, {0, 0, 1, 0}};
  Op op = makeOp(OpKind::TpcMatmul, 0, 2, 0);
  op.m = op.n = 1;
  op.k = 2;
  std::string error;
  ASSERT_TRUE(execute(grouped(op), {e}, m, error)) << error;
  // a.b = 3 and -3: relu(6.5) + 10, relu(-5.5) + 20.
  EXPECT_EQ(m.hbm[e.output.buffer][0], 16.5f);
  EXPECT_EQ(m.hbm[e.output.buffer][1], 20.0f);
}

/// A convolution as an implicit GEMM with its im2col gather (padding,
/// stride, dilation) against a direct 7-loop convolution, in both layouts,
/// with ragged tiles and a split reduction (K = 3 * 3 * 3 = 27 in blocks of
/// 8), bias and ReLU.
void runConv(bool nhwc, OpKind kind) {
  int64_t N = 2, C = 3, H = 7, W = 6, F = 5, KH = 3, KW = 3;
  int64_t sh = 2, sw = 1, dh = 1, dw = 2, pt = 1, pl = 2, pb = 1, pr = 0;
  int64_t OH = (H + pt + pb - dh * (KH - 1) - 1) / sh + 1;
  int64_t OW = (W + pl + pr - dw * (KW - 1) - 1) / sw + 1;
  Memory m;
  std::vector<float> x = randomData(N * C * H * W, 11),
                     w = randomData(F * C * KH * KW, 12),
                     bias = randomData(F, 13);
  // Element accessors in the layout under test.
  auto xi = [&](int64_t n, int64_t c, int64_t h, int64_t wd) {
    return nhwc ? ((n * H + h) * W + wd) * C + c
                : ((n * C + c) * H + h) * W + wd;
  };
  auto wi = [&](int64_t f, int64_t c, int64_t i, int64_t j) {
    return nhwc ? ((i * KW + j) * C + c) * F + f
                : ((f * C + c) * KH + i) * KW + j;
  };
  auto yi = [&](int64_t n, int64_t f, int64_t h, int64_t wd) {
    return nhwc ? ((n * OH + h) * OW + wd) * F + f
                : ((n * F + f) * OH + h) * OW + wd;
  };
  ExecOp e;
  int64_t M = N * OH * OW, K = C * KH * KW;
  e.domain = {1, M, F, K};
  e.inputs.push_back({addInput(m, x), 0, {0, 0, 0, 0}});
  e.inputs.push_back({addInput(m, w), 0,
                      nhwc ? std::vector<int64_t>{0, 0, 1, F}
                           : std::vector<int64_t>{0, 0, K, 1}});
  e.inputs.push_back({addInput(m, bias), 0, {0, 0, 1, 0}});
  e.bias = 2;
  e.activation = ExecOp::Activation::Relu;
  e.output = {m.add(N * F * OH * OW), 0, {0, 0, 0, 0}};
  e.conv = {N,
            C,
            H,
            W,
            F,
            KH,
            KW,
            OH,
            OW,
            sh,
            sw,
            dh,
            dw,
            pt,
            pl,
            nhwc, // image strides along n, c, h, w:
            nhwc ? H * W * C : C * H * W,
            nhwc ? 1 : H * W,
            nhwc ? W * C : W,
            nhwc ? C : 1};
  Op op = makeOp(kind, 0, 1 * ((M + 6) / 7) * ((F + 1) / 2) * ((K + 7) / 8), 0);
  op.m = 7;
  op.n = 2;
  op.k = 8;
  std::string error;
  ASSERT_TRUE(execute(grouped(op), {e}, m, error)) << error;
  std::vector<double> want(N * F * OH * OW);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t f = 0; f < F; ++f)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = bias[f];
          for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j) {
                int64_t h = oh * sh + i * dh - pt, wd = ow * sw + j * dw - pl;
                if (h >= 0 && h < H && wd >= 0 && wd < W)
                  s += double(x[xi(n, c, h, wd)]) * w[wi(f, c, i, j)];
              }
          want[yi(n, f, oh, ow)] = std::max(s, 0.0);
        }
  expectNear(m.hbm[e.output.buffer], want, 1e-5);
}

TEST(AccelExec, ConvNchwPaddedStridedDilated) {
  runConv(false, OpKind::MmeMatmul);
}
TEST(AccelExec, ConvNhwcPaddedStridedDilated) {
  runConv(true, OpKind::MmeMatmul);
}
TEST(AccelExec, ConvOnVectorCores) { runConv(false, OpKind::TpcMatmul); }

/// A convolution's geometry that does not match its domain is an error.
TEST(AccelExec, ConvBadGeometry) {
  Memory m;
  ExecOp e;
  e.domain = {1, 4, 1, 4};
  e.inputs.push_back({addInput(m, randomData(16, 1)), 0, {0, 0, 0, 0}});
  e.inputs.push_back({addInput(m, randomData(4, 2)), 0, {0, 0, 0, 1}});
  e.output = {m.add(4), 0, {0, 0, 0, 0}};
  // A 1x1x4x4 image and one 3x3 filter: K must be 1 * 3 * 3 = 9, not 4.
  e.conv = {1, 1, 4, 4, 1, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 0, 16, 16, 4, 1};
  Op op = makeOp(OpKind::MmeMatmul, 0, 1, 0);
  op.m = 4;
  op.n = 1;
  op.k = 4;
  std::string error;
  EXPECT_FALSE(execute(grouped(op), {e}, m, error));
  EXPECT_NE(error.find("convolution's domain"), std::string::npos) << error;
}

TEST(AccelExec, Bf16Rounding) {
  EXPECT_EQ(roundToBf16(1.0f), 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1).
  EXPECT_EQ(roundToBf16(1.0f + 1.0f / 256), 1.0f);
  EXPECT_EQ(roundToBf16(1.0f + 3.0f / 256), 1.0f + 1.0f / 64);
}

/// Bf16 operands make a measurable difference from f32: the test of the
/// bf16 path is not vacuous.
TEST(AccelExec, Bf16DiffersFromF32) {
  Memory m;
  ExecOp e;
  e.domain = {1, 1, 1, 1};
  e.inputs.push_back({addInput(m, {1.0f + 1.0f / 1024}), 0, {0, 0, 0, 0}});
  e.inputs.push_back({addInput(m, {1.0f}), 0, {0, 0, 0, 0}});
  e.output = {m.add(1), 0, {0, 0, 0, 0}};
  Op op = makeOp(OpKind::MmeMatmul, 0, 1, 0);
  op.m = op.n = op.k = 1;
  op.f32 = false;
  std::string error;
  ASSERT_TRUE(execute(grouped(op), {e}, m, error)) << error;
  EXPECT_EQ(m.hbm[e.output.buffer][0], 1.0f);
}

TEST(AccelExec, Softmax) {
  int64_t R = 11, C = 6;
  Memory m;
  std::vector<float> x = randomData(R * C, 5);
  ExecOp e;
  e.domain = {R, C};
  e.inputs.push_back({addInput(m, x), 0, {C, 1}});
  e.output = {m.add(R * C), 0, {C, 1}};
  Op op = makeOp(OpKind::TpcSoftmax, 0, 3, 0);
  op.rows = 4;
  op.cols = C;
  std::string error;
  ASSERT_TRUE(execute(grouped(op), {e}, m, error)) << error;
  std::vector<double> want(R * C);
  for (int64_t r = 0; r < R; ++r) {
    double s = 0;
    for (int64_t c = 0; c < C; ++c)
      s += std::exp(double(x[r * C + c]));
    for (int64_t c = 0; c < C; ++c)
      want[r * C + c] = std::exp(double(x[r * C + c])) / s;
  }
  expectNear(m.hbm[e.output.buffer], want, 1e-6);
}

TEST(AccelExec, LayerNorm) {
  int64_t R = 5, C = 8;
  Memory m;
  std::vector<float> x = randomData(R * C, 6), g = randomData(C, 7),
                     be = randomData(C, 8);
  ExecOp e;
  e.domain = {R, C};
  e.inputs.push_back({addInput(m, x), 0, {C, 1}});
  e.inputs.push_back({addInput(m, g), 0, {0, 1}});
  e.inputs.push_back({addInput(m, be), 0, {0, 1}});
  e.gamma = 1;
  e.beta = 2;
  e.epsilon = 1e-5f;
  e.output = {m.add(R * C), 0, {C, 1}};
  Op op = makeOp(OpKind::TpcLayerNorm, 0, 3, 0);
  op.rows = 2;
  op.cols = C;
  std::string error;
  ASSERT_TRUE(execute(grouped(op), {e}, m, error)) << error;
  std::vector<double> want(R * C);
  for (int64_t r = 0; r < R; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < C; ++c)
      mean += x[r * C + c];
    mean /= C;
    for (int64_t c = 0; c < C; ++c)
      var += (x[r * C + c] - mean) * (x[r * C + c] - mean);
    var /= C;
    for (int64_t c = 0; c < C; ++c)
      want[r * C + c] =
          (x[r * C + c] - mean) / std::sqrt(var + 1e-5) * g[c] + be[c];
  }
  expectNear(m.hbm[e.output.buffer], want, 1e-5);
}

/// max(x + y, 0) * tanh(x) with y broadcast along rows.
TEST(AccelExec, Elementwise) {
  int64_t R = 6, C = 5;
  Memory m;
  std::vector<float> x = randomData(R * C, 9), y = randomData(C, 10);
  ExecOp e;
  e.domain = {R, C};
  e.inputs.push_back({addInput(m, x), 0, {C, 1}});
  e.inputs.push_back({addInput(m, y), 0, {0, 1}});
  e.output = {m.add(R * C), 0, {C, 1}};
  e.payload = {{Prim::Input, 0},  {Prim::Input, 1},
               {Prim::Add, 0, 1}, {Prim::Const, -1, -1, -1, 0.0f},
               {Prim::Max, 2, 3}, {Prim::Tanh, 0},
               {Prim::Mul, 4, 5}};
  e.result = 6;
  Op op = makeOp(OpKind::TpcElementwise, 0, 4, 0);
  op.elements = 8;
  std::string error;
  ASSERT_TRUE(execute(grouped(op), {e}, m, error)) << error;
  std::vector<double> want(R * C);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < C; ++c) {
      double a = x[r * C + c];
      want[r * C + c] = std::max(a + y[c], 0.0) * std::tanh(a);
    }
  expectNear(m.hbm[e.output.buffer], want, 1e-6);
}

/// Row sums of squares, the output initialized from an init tensor, over
/// tiles that cut through rows.
TEST(AccelExec, Reduce) {
  int64_t R = 4, C = 7;
  Memory m;
  std::vector<float> x = randomData(R * C, 11), init = randomData(R, 12);
  ExecOp e;
  e.domain = {R, C};
  e.inputs.push_back({addInput(m, x), 0, {C, 1}});
  e.inputs.push_back({addInput(m, init), 0, {1, 0}});
  e.init = 1;
  e.output = {m.add(R), 0, {1, 0}};
  e.payload = {
      {Prim::Input, 0}, {Prim::Mul, 0, 0}, {Prim::Input, 2}, {Prim::Add, 1, 2}};
  e.result = 3;
  Op op = makeOp(OpKind::TpcReduce, 0, 10, 0);
  op.elements = 3;
  std::string error;
  ASSERT_TRUE(execute(grouped(op), {e}, m, error)) << error;
  std::vector<double> want(R);
  for (int64_t r = 0; r < R; ++r) {
    want[r] = init[r];
    for (int64_t c = 0; c < C; ++c)
      want[r] += double(x[r * C + c]) * x[r * C + c];
  }
  expectNear(m.hbm[e.output.buffer], want, 1e-6);
}

/// Without the load the compute reads SRAM that nothing wrote; without the
/// store HBM keeps nothing: NaN either way.
TEST(AccelExec, TransfersAreExecuted) {
  Memory m;
  ExecOp e;
  e.domain = {4};
  e.inputs.push_back({addInput(m, {1, 2, 3, 4}), 0, {1}});
  e.output = {m.add(4), 0, {1}};
  e.payload = {{Prim::Input, 0}, {Prim::Neg, 0}};
  e.result = 1;
  Op op = makeOp(OpKind::TpcElementwise, 0, 2, 0);
  op.elements = 2;
  std::string error;
  Program noLoad = grouped(op);
  noLoad.ops.erase(noLoad.ops.begin());
  ASSERT_TRUE(execute(noLoad, {e}, m, error)) << error;
  EXPECT_TRUE(std::isnan(m.hbm[e.output.buffer][0]));
  Program noStore = grouped(op);
  noStore.ops.pop_back();
  Memory m2 = m;
  ASSERT_TRUE(execute(noStore, {e}, m2, error)) << error;
  EXPECT_TRUE(std::isnan(m2.hbm[e.output.buffer][3]));
  ASSERT_TRUE(execute(grouped(op), {e}, m, error)) << error;
  EXPECT_EQ(m.hbm[e.output.buffer][3], -4.0f);
}

TEST(AccelExec, Errors) {
  Memory m;
  ExecOp e;
  e.domain = {4};
  e.inputs.push_back({addInput(m, {1, 2, 3, 4}), 0, {1}});
  e.output = {m.add(4), 0, {2}}; // reads past the end
  e.payload = {{Prim::Input, 0}};
  e.result = 0;
  Op op = makeOp(OpKind::TpcElementwise, 0, 1, 0);
  op.elements = 4;
  std::string error;
  EXPECT_FALSE(execute(grouped(op), {e}, m, error));
  EXPECT_NE(error.find("outside its buffer"), std::string::npos) << error;
  e.output.strides = {1};
  op.tiles = 3; // 4 elements in tiles of 4 make 1
  EXPECT_FALSE(execute(grouped(op), {e}, m, error));
  EXPECT_NE(error.find("tiles"), std::string::npos) << error;
  op.exec = -1;
  EXPECT_FALSE(execute(grouped(op), {e}, m, error));
  EXPECT_NE(error.find("no data semantics"), std::string::npos) << error;
}

} // namespace

namespace {
/// Scores of attention heads read through a transposed view: Q and K are
/// [B, L, H, D] row-major, the product runs over the batch B * H, whose
/// index i addresses (i / H) * L*H*D + (i % H) * D (a two-level batch),
/// into a contiguous [B, H, L, L] output; against a naive loop.
TEST(AccelExec, TwoLevelBatch) {
  int64_t B = 2, H = 3, L = 5, D = 4;
  Memory m;
  std::vector<float> q = randomData(B * L * H * D, 5),
                     k = randomData(B * L * H * D, 6);
  ExecOp e;
  e.domain = {B * H, L, L, D};
  Access qa{addInput(m, q), 0, {L * H * D, H * D, 0, 1}};
  qa.batchInner = H;
  qa.innerStride = D;
  Access ka{addInput(m, k), 0, {L * H * D, 0, H * D, 1}};
  ka.batchInner = H;
  ka.innerStride = D;
  e.inputs = {qa, ka};
  e.output = {m.add(B * H * L * L), 0, {L * L, L, 1, 0}};
  Op op = makeOp(OpKind::MmeMatmul, 0, B * H * 2, 0);
  op.m = 3;
  op.n = L;
  op.k = D;
  std::string error;
  ASSERT_TRUE(execute(grouped(op), {e}, m, error)) << error;
  std::vector<double> want(B * H * L * L);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < L; ++i)
        for (int64_t j = 0; j < L; ++j) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d)
            s += double(q[((b * L + i) * H + h) * D + d]) *
                 double(k[((b * L + j) * H + h) * D + d]);
          want[((b * H + h) * L + i) * L + j] = s;
        }
  expectNear(m.hbm[e.output.buffer], want, 1e-5);
}
} // namespace

namespace {
/// A random graph's CSR adjacency (some empty rows, repeated columns) with
/// its values after `valuesOffset` in their buffer, features read through a
/// column-major view [N, F] (strides 1, N): out = A * X, against a dense
/// double-precision product built from the triples.
void runCsr(OpKind kind, int64_t tileRows, bool dropLoads) {
  int64_t M = 11, F = 5, valuesOffset = 3;
  std::mt19937 gen(7);
  std::vector<int64_t> rowPtr{0}, cols;
  for (int64_t r = 0; r < M; ++r) {
    int64_t count = r % 4 == 2 ? 0 : 1 + gen() % 5;
    for (int64_t k = 0; k < count; ++k)
      cols.push_back(gen() % M);
    rowPtr.push_back(static_cast<int64_t>(cols.size()));
  }
  int64_t nnz = rowPtr.back();
  std::vector<float> vals = randomData(valuesOffset + nnz, 8),
                     x = randomData(M * F, 9);
  Memory m;
  ExecOp e;
  e.domain = {M, F};
  e.csrRowPtr = rowPtr;
  e.csrCols = cols;
  e.csrTileRows = tileRows;
  e.inputs.push_back({addInput(m, vals), valuesOffset, {0, 0}});
  e.inputs.push_back({addInput(m, x), 0, {1, M}});
  e.output = {m.add(M * F), 0, {F, 1}};
  Op op = makeOp(kind, 0, (M + tileRows - 1) / tileRows, 0);
  op.elements = 1;
  op.nnz = 1;
  op.cols = F;
  Program p = grouped(op);
  if (dropLoads)
    p.ops.erase(p.ops.begin());
  std::string error;
  ASSERT_TRUE(execute(p, {e}, m, error)) << error;
  std::vector<double> a(M * M, 0.0), want(M * F, 0.0);
  for (int64_t r = 0; r < M; ++r)
    for (int64_t k = rowPtr[r]; k < rowPtr[r + 1]; ++k)
      a[r * M + cols[k]] += vals[valuesOffset + k];
  for (int64_t r = 0; r < M; ++r)
    for (int64_t f = 0; f < F; ++f)
      for (int64_t c = 0; c < M; ++c)
        want[r * F + f] += a[r * M + c] * double(x[f * M + c]);
  if (dropLoads) {
    // Rows with non-zeros read SRAM that nothing loaded: NaN.
    bool nan = false;
    for (float v : m.hbm[e.output.buffer])
      nan |= std::isnan(v);
    EXPECT_TRUE(nan);
    return;
  }
  expectNear(m.hbm[e.output.buffer], want, 1e-5);
}

TEST(AccelExec, CsrAggregateOnVectorCores) {
  runCsr(OpKind::TpcReduce, 3, false);
}
TEST(AccelExec, CsrAggregateOnSparseEngine) {
  runCsr(OpKind::SparseSpMM, 4, false);
}
TEST(AccelExec, CsrAggregateOneTile) { runCsr(OpKind::SparseSpMM, 11, false); }
TEST(AccelExec, CsrAggregateNeedsItsLoads) {
  runCsr(OpKind::TpcReduce, 3, true);
}

/// A column index outside the features, a decreasing row pointer and a
/// tile count that does not match the rows are errors, not reads out of
/// bounds.
TEST(AccelExec, CsrAggregateErrors) {
  auto run = [](std::vector<int64_t> rowPtr, std::vector<int64_t> cols,
                int64_t tiles) {
    Memory m;
    ExecOp e;
    e.domain = {2, 3};
    e.csrRowPtr = std::move(rowPtr);
    e.csrCols = std::move(cols);
    e.csrTileRows = 1;
    e.inputs.push_back({addInput(m, {1, 2, 3}), 0, {0, 0}});
    e.inputs.push_back({addInput(m, randomData(6, 1)), 0, {3, 1}});
    e.output = {m.add(6), 0, {3, 1}};
    Op op = makeOp(OpKind::TpcReduce, 0, tiles, 0);
    op.elements = 1;
    std::string error;
    EXPECT_FALSE(execute(grouped(op), {e}, m, error));
    return error;
  };
  EXPECT_NE(run({0, 1, 2}, {0, 2}, 2).find("column index 2"),
            std::string::npos);
  EXPECT_NE(run({0, 2, 1}, {0, 1}, 2).find("decrease"), std::string::npos);
  EXPECT_NE(run({0, 1, 2}, {0, 1}, 3).find("tiles"), std::string::npos);
}
} // namespace

namespace {
/// out[b, s, c] = table[row(ids[b, s]), c] + pos[s, c] (an embedding lookup
/// fused with a position embedding), negative ids counting from the end,
/// in tiles that split rows; against a plain loop. An out-of-range id is
/// the CPU backend's message; unchecked, it reads 0.
TEST(AccelExec, GatherRows) {
  int64_t B = 2, S = 3, C = 4, V = 5;
  std::vector<float> ids{0, 4, -1, 2, -5, 3};
  std::vector<float> table = randomData(V * C, 11), pos = randomData(S * C, 12);
  auto run = [&](std::vector<float> idData, bool checked, std::string &error,
                 std::vector<float> &result) {
    Memory m;
    ExecOp e;
    e.domain = {B, S, C};
    e.inputs.push_back({addInput(m, idData), 0, {S, 1, 0}});
    e.inputs.push_back({addInput(m, table), 0, {0, 0, 1}});
    e.inputs.push_back({addInput(m, pos), 0, {0, C, 1}});
    e.output = {m.add(B * S * C), 0, {S * C, C, 1}};
    e.gatherRows = V;
    e.gatherRowStride = C;
    e.gatherWrap = true;
    e.gatherChecked = checked;
    e.gatherMessage = "Gather node 'g'";
    e.payload = {{Prim::Input, 1}, {Prim::Input, 2}, {Prim::Add, 0, 1}};
    e.result = 2;
    Op op = makeOp(OpKind::TpcElementwise, 0, 5, 0);
    op.elements = 5;
    bool ok = execute(grouped(op), {e}, m, error);
    result = m.hbm[e.output.buffer];
    return ok;
  };
  std::string error;
  std::vector<float> got;
  ASSERT_TRUE(run(ids, true, error, got)) << error;
  std::vector<double> want(B * S * C);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      auto id = static_cast<int64_t>(ids[b * S + s]);
      int64_t row = id < 0 ? id + V : id;
      for (int64_t c = 0; c < C; ++c)
        want[(b * S + s) * C + c] =
            double(table[row * C + c]) + double(pos[s * C + c]);
    }
  expectNear(got, want, 1e-6);

  std::vector<float> bad = ids;
  bad[4] = -6;
  EXPECT_FALSE(run(bad, true, error, got));
  EXPECT_EQ(error, "Gather node 'g': index -6 out of range [-5, 5)");
  bad[4] = 5;
  ASSERT_TRUE(run(bad, false, error, got)) << error;
  for (int64_t c = 0; c < C; ++c)
    EXPECT_FLOAT_EQ(got[(1 * S + 1) * C + c], pos[1 * C + c]);
}

/// Ids as f32: exact up to 2^24; one beyond it is out of range of every
/// table, also after the wrap. Before, ids were clamped to +-2^24, so an id
/// below -2^24 wrapped to row 0 of a table of exactly 2^24 rows (and -2^24 -
/// 1 rounds to -2^24 in f32).
TEST(AccelExec, IdsBeyond2To24AreOutOfRange) {
  constexpr int64_t kRows = kMaxGatherRows;
  EXPECT_EQ(idAsFloat(kRows), float(kRows));
  EXPECT_EQ(idAsFloat(-kRows), -float(kRows));
  EXPECT_EQ(idAsFloat(12345), 12345.0f);
  // A table of 2^24 rows of one element each, all at the same element (row
  // stride 0), so that the test holds one float of table.
  auto run = [&](int64_t id, std::string &error, float &out) {
    Memory m;
    ExecOp e;
    e.domain = {1, 1};
    e.inputs.push_back({addInput(m, {idAsFloat(id)}), 0, {1, 0}});
    e.inputs.push_back({addInput(m, {7.0f}), 0, {0, 0}});
    e.output = {m.add(1), 0, {1, 1}};
    e.gatherRows = kRows;
    e.gatherRowStride = 0;
    e.gatherWrap = true;
    e.gatherChecked = true;
    e.gatherMessage = "Gather node 'g'";
    e.payload = {{Prim::Input, 1}};
    e.result = 0;
    Op op = makeOp(OpKind::TpcElementwise, 0, 1, 0);
    op.elements = 1;
    bool ok = execute(grouped(op), {e}, m, error);
    out = m.hbm[e.output.buffer][0];
    return ok;
  };
  std::string error;
  float out = 0;
  ASSERT_TRUE(run(-kRows, error, out)) << error; // row 0: in range
  EXPECT_EQ(out, 7.0f);
  for (int64_t id : {-kRows - 1, -kRows - 12345, int64_t(-1) << 40, kRows,
                     kRows + 1, int64_t(1) << 40}) {
    error.clear();
    EXPECT_FALSE(run(id, error, out)) << id;
    EXPECT_NE(error.find("out of range [-16777216, 16777216)"),
              std::string::npos)
        << error;
  }
}

/// A table of more rows than f32 ids address exactly is refused.
TEST(AccelExec, GatherTableBeyond2To24RowsIsRefused) {
  Memory m;
  ExecOp e;
  e.domain = {1, 1};
  e.inputs.push_back({addInput(m, {0.0f}), 0, {1, 0}});
  e.inputs.push_back({addInput(m, {7.0f}), 0, {0, 0}});
  e.output = {m.add(1), 0, {1, 1}};
  e.gatherRows = kMaxGatherRows + 1;
  e.payload = {{Prim::Input, 1}};
  e.result = 0;
  Op op = makeOp(OpKind::TpcElementwise, 0, 1, 0);
  op.elements = 1;
  std::string error;
  EXPECT_FALSE(execute(grouped(op), {e}, m, error));
  EXPECT_NE(error.find("more than the 16777216"), std::string::npos) << error;
}
} // namespace

namespace {
/// A two-level batch over part of its domain that starts inside an inner
/// run (batchInner 4, domain indices 3 and 4): the reads are at inner
/// indices 3 and 0, element 3 and element 1 of the input, so a 3-element
/// input is read past its end. The check bounds the outer and the inner
/// index each at its extremes (outer 0..1, inner 0..3 here), so it passes a
/// 5-element input.
TEST(AccelExec, TwoLevelBatchWithOffsetIsBoundsChecked) {
  auto run = [](int64_t inputSize, std::vector<float> &out,
                std::string &error) {
    Memory m;
    std::vector<float> in(inputSize);
    for (int64_t i = 0; i < inputSize; ++i)
      in[i] = float(10 + i);
    ExecOp e;
    e.domain = {2};
    e.domainOffset = {3};
    Access a{addInput(m, in), 0, {1}};
    a.batchInner = 4;
    a.innerStride = 1;
    e.inputs.push_back(a);
    e.output = {m.add(2), -3, {1}};
    e.payload = {{Prim::Input, 0}};
    e.result = 0;
    Op op = makeOp(OpKind::TpcElementwise, 0, 1, 0);
    op.elements = 2;
    bool ok = execute(grouped(op), {e}, m, error);
    out = m.hbm[e.output.buffer];
    return ok;
  };
  std::vector<float> out;
  std::string error;
  EXPECT_FALSE(run(3, out, error));
  EXPECT_NE(error.find("outside its buffer"), std::string::npos) << error;
  error.clear();
  ASSERT_TRUE(run(5, out, error)) << error;
  EXPECT_EQ(out, (std::vector<float>{13, 11}));
}
} // namespace
