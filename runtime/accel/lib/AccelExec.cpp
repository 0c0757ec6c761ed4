//===- AccelExec.cpp - Functional execution of an engine program ----------===//

#include "lathe/runtime/AccelExec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <tuple>

namespace lathe {
namespace accel {

int Memory::add(int64_t elements) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  hbm.emplace_back(static_cast<size_t>(elements), nan);
  sram.emplace_back(static_cast<size_t>(elements), nan);
  sizes.push_back(elements);
  return static_cast<int>(sizes.size()) - 1;
}

float roundToBf16(float x) {
  if (std::isnan(x))
    return x;
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  uint32_t lsb = (bits >> 16) & 1u;
  bits += 0x7fffu + lsb;
  bits &= 0xffff0000u;
  float r;
  std::memcpy(&r, &bits, 4);
  return r;
}

float idAsFloat(int64_t id) {
  // Not clamped to +-2^24: an id below -2^24 would then wrap to row 0 of a
  // table of exactly 2^24 rows. Every id past 2^24 in magnitude is out of
  // range of every table (kMaxGatherRows), so one beyond it says so.
  if (id > kMaxGatherRows)
    return static_cast<float>(2 * kMaxGatherRows);
  if (id < -kMaxGatherRows)
    return static_cast<float>(-2 * kMaxGatherRows);
  return static_cast<float>(id);
}

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool isTransfer(OpKind k) {
  return k == OpKind::DmaLoad || k == OpKind::DmaStore;
}

/// The domain points of one tile of a compute op, as half-open ranges per
/// dimension (products, row kernels) or a linear range of the row-major
/// domain (element-wise kernels, reductions).
struct Tiling {
  bool linear = false;
  int64_t tiles = 0;
  // Box tiling: tile sizes per dimension.
  std::vector<int64_t> tileSizes;
  // Linear tiling: elements per tile.
  int64_t chunk = 0;
};

bool tilingOf(const Op &op, const ExecOp &e, Tiling &t, std::string &error) {
  const std::vector<int64_t> &d = e.domain;
  if (!e.csrRowPtr.empty()) {
    if ((op.kind != OpKind::TpcReduce && op.kind != OpKind::SparseSpMM) ||
        d.size() != 2 || e.csrTileRows < 1) {
      error = op.name + ": a sparse aggregation is a vector-core reduction "
                        "or a sparse-engine op over [rows, F] with at least "
                        "one row per tile";
      return false;
    }
    t.tileSizes = {e.csrTileRows, d[1]};
  } else {
    switch (op.kind) {
    case OpKind::MmeMatmul:
    case OpKind::TpcMatmul:
      if (d.size() != 4) {
        error = op.name + ": a product needs the domain [B, M, N, K]";
        return false;
      }
      if (op.m < 1 || op.n < 1 || op.k < 1) {
        error = op.name + ": a product needs tile sizes m, n, k >= 1";
        return false;
      }
      t.tileSizes = {1, op.m, op.n, op.k};
      break;
    case OpKind::TpcSoftmax:
    case OpKind::TpcLayerNorm:
      if (d.size() != 2 || op.cols != d[1] || op.rows < 1) {
        error = op.name + ": a row kernel needs the domain [rows, cols] with "
                          "cols equal to the op's";
        return false;
      }
      t.tileSizes = {op.rows, op.cols};
      break;
    case OpKind::TpcElementwise:
    case OpKind::TpcReduce:
      if (op.elements < 1) {
        error = op.name + ": needs elements >= 1";
        return false;
      }
      t.linear = true;
      t.chunk = op.elements;
      break;
    default:
      error = op.name + ": no functional model for this op kind";
      return false;
    }
  }
  if (t.linear) {
    int64_t total = 1;
    for (int64_t s : d)
      total *= s;
    t.tiles = std::max<int64_t>(1, ceilDiv(total, t.chunk));
  } else {
    t.tiles = 1;
    for (size_t i = 0; i < d.size(); ++i)
      t.tiles *= ceilDiv(d[i], t.tileSizes[i]);
  }
  if (t.tiles != op.tiles) {
    error = op.name + ": " + std::to_string(op.tiles) +
            " tiles, but its domain and tile sizes make " +
            std::to_string(t.tiles);
    return false;
  }
  return true;
}

/// The half-open box of tile `tile` of a box tiling, without the domain
/// offset.
void tileBox(const ExecOp &e, const Tiling &t, int64_t tile,
             std::vector<int64_t> &lo, std::vector<int64_t> &hi) {
  size_t rank = e.domain.size();
  lo.assign(rank, 0);
  hi.assign(rank, 0);
  int64_t rest = tile;
  for (size_t i = rank; i-- > 0;) {
    int64_t count = ceilDiv(e.domain[i], t.tileSizes[i]);
    int64_t c = rest % count;
    rest /= count;
    lo[i] = c * t.tileSizes[i];
    hi[i] = std::min(e.domain[i], lo[i] + t.tileSizes[i]);
  }
}

/// Calls `fn` with the domain index (offset included) of every point of
/// tile `tile`, in row-major order. With `only`, a box tiling visits one
/// point along each dimension `only` does not move in (what a transfer of
/// that operand needs).
void forEachPoint(const ExecOp &e, const Tiling &t, int64_t tile,
                  const std::function<void(const int64_t *)> &fn,
                  const Access *only = nullptr) {
  size_t rank = e.domain.size();
  std::vector<int64_t> idx(rank, 0), lo(rank, 0), hi(rank, 0);
  auto offset = [&](size_t i) {
    return i < e.domainOffset.size() ? e.domainOffset[i] : 0;
  };
  if (t.linear) {
    int64_t total = 1;
    for (int64_t s : e.domain)
      total *= s;
    int64_t begin = tile * t.chunk, end = std::min(total, begin + t.chunk);
    for (int64_t l = begin; l < end; ++l) {
      int64_t rest = l;
      for (size_t i = rank; i-- > 0;) {
        idx[i] = rest % e.domain[i] + offset(i);
        rest /= e.domain[i];
      }
      fn(idx.data());
    }
    return;
  }
  tileBox(e, t, tile, lo, hi);
  for (size_t i = 0; i < rank; ++i) {
    if (lo[i] >= hi[i])
      return;
    if (only && only->strides[i] == 0 &&
        (i != 0 || only->batchInner <= 0 || only->innerStride == 0))
      hi[i] = lo[i] + 1;
  }
  std::vector<int64_t> cur(lo);
  while (true) {
    for (size_t i = 0; i < rank; ++i)
      idx[i] = cur[i] + offset(i);
    fn(idx.data());
    size_t i = rank;
    while (i-- > 0) {
      if (++cur[i] < hi[i])
        break;
      cur[i] = lo[i];
    }
    if (i == static_cast<size_t>(-1))
      return;
  }
}

int64_t at(const Access &a, const int64_t *idx, size_t rank) {
  int64_t o = a.offset;
  size_t i = 0;
  if (a.batchInner > 0 && rank > 0) {
    o += (idx[0] / a.batchInner) * a.strides[0] +
         (idx[0] % a.batchInner) * a.innerStride;
    i = 1;
  }
  for (; i < rank; ++i)
    o += a.strides[i] * idx[i];
  return o;
}

/// The geometry of a convolution run as an implicit GEMM (ExecOp::conv).
struct ConvGeometry {
  int64_t n, c, h, w, f, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl;
  bool nhwc;
  /// The image's element strides along n, c, h, w.
  int64_t xn, xc, xh, xw;
  explicit ConvGeometry(const std::vector<int64_t> &v)
      : n(v[0]), c(v[1]), h(v[2]), w(v[3]), f(v[4]), kh(v[5]), kw(v[6]),
        oh(v[7]), ow(v[8]), sh(v[9]), sw(v[10]), dh(v[11]), dw(v[12]),
        pt(v[13]), pl(v[14]), nhwc(v[15] != 0), xn(v[16]), xc(v[17]), xh(v[18]),
        xw(v[19]) {}
  /// One past the last image element (relative to its offset).
  int64_t imageSpan() const {
    return (n - 1) * xn + (c - 1) * xc + (h - 1) * xh + (w - 1) * xw + 1;
  }
  /// The image element product row `m` reads at reduction index `k`
  /// (relative to the image's offset), or -1 where that is padding.
  int64_t input(int64_t m, int64_t k) const {
    int64_t img = m / (oh * ow), y = (m / ow) % oh, x = m % ow;
    int64_t ch, i, j;
    if (nhwc) {
      i = k / (kw * c);
      j = (k / c) % kw;
      ch = k % c;
    } else {
      ch = k / (kh * kw);
      i = (k / kw) % kh;
      j = k % kw;
    }
    int64_t ih = y * sh + i * dh - pt, iw = x * sw + j * dw - pl;
    if (ih < 0 || ih >= h || iw < 0 || iw >= w)
      return -1;
    return img * xn + ch * xc + ih * xh + iw * xw;
  }
  /// The output element of product row `m`, column (filter) `fo`.
  int64_t output(int64_t m, int64_t fo) const {
    if (nhwc)
      return m * f + fo;
    return (m / (oh * ow) * f + fo) * (oh * ow) + m % (oh * ow);
  }
  bool valid() const {
    return n > 0 && c > 0 && h > 0 && w > 0 && f > 0 && kh > 0 && kw > 0 &&
           oh > 0 && ow > 0 && sh > 0 && sw > 0 && dh > 0 && dw > 0 &&
           pt >= 0 && pl >= 0 && xn >= 0 && xc >= 0 && xh >= 0 && xw >= 0;
  }
};

/// Checks that every access stays inside its buffer (the extreme points of
/// the op's part of the domain).
bool checkAccess(const Op &op, const ExecOp &e, const Access &a,
                 const Memory &m, std::string &error) {
  size_t rank = e.domain.size();
  if (a.buffer < 0 || a.buffer >= static_cast<int>(m.sizes.size()) ||
      a.strides.size() != rank) {
    error = op.name + ": an operand names no buffer or has " +
            std::to_string(a.strides.size()) +
            " strides for a domain of rank " + std::to_string(rank);
    return false;
  }
  int64_t lo = a.offset, hi = a.offset;
  for (size_t i = 0; i < rank; ++i) {
    int64_t first = i < e.domainOffset.size() ? e.domainOffset[i] : 0;
    int64_t last = first + e.domain[i] - 1;
    if (i == 0 && a.batchInner > 0) {
      // Outer and inner parts of a two-level batch, each at its extremes.
      // Within one outer index the inner index runs from first's to last's;
      // across two or more (the part may start inside an inner run) it
      // takes every value.
      int64_t bi = a.batchInner;
      bool oneOuter = first / bi == last / bi;
      int64_t innerFirst = oneOuter ? first % bi : 0;
      int64_t innerLast = oneOuter ? last % bi : bi - 1;
      for (auto [s, f, l] :
           {std::make_tuple(a.strides[0], first / bi, last / bi),
            std::make_tuple(a.innerStride, innerFirst, innerLast)}) {
        lo += std::min(s * f, s * l);
        hi += std::max(s * f, s * l);
      }
      continue;
    }
    int64_t x = a.strides[i] * first, y = a.strides[i] * last;
    lo += std::min(x, y);
    hi += std::max(x, y);
  }
  if (lo < 0 || hi >= m.sizes[a.buffer]) {
    error = op.name + ": an operand reads or writes outside its buffer";
    return false;
  }
  return true;
}

float apply(const std::vector<Instr> &code, int result,
            const std::vector<float> &in, std::vector<float> &v) {
  v.resize(code.size());
  for (size_t i = 0; i < code.size(); ++i) {
    const Instr &x = code[i];
    float a = x.a >= 0 && x.prim != Prim::Input ? v[x.a] : 0;
    float b = x.b >= 0 ? v[x.b] : 0;
    float r = 0;
    switch (x.prim) {
    case Prim::Input:
      r = in[x.a];
      break;
    case Prim::Const:
      r = x.value;
      break;
    case Prim::Add:
      r = a + b;
      break;
    case Prim::Sub:
      r = a - b;
      break;
    case Prim::Mul:
      r = a * b;
      break;
    case Prim::Div:
      r = a / b;
      break;
    case Prim::Max:
      r = std::isnan(a) || std::isnan(b)
              ? std::numeric_limits<float>::quiet_NaN()
              : std::max(a, b);
      break;
    case Prim::Min:
      r = std::isnan(a) || std::isnan(b)
              ? std::numeric_limits<float>::quiet_NaN()
              : std::min(a, b);
      break;
    case Prim::Neg:
      r = -a;
      break;
    case Prim::Abs:
      r = std::fabs(a);
      break;
    case Prim::Exp:
      r = std::exp(a);
      break;
    case Prim::Log:
      r = std::log(a);
      break;
    case Prim::Tanh:
      r = std::tanh(a);
      break;
    case Prim::Erf:
      r = std::erf(a);
      break;
    case Prim::Sqrt:
      r = std::sqrt(a);
      break;
    case Prim::Rsqrt:
      r = 1.0f / std::sqrt(a);
      break;
    case Prim::Select:
      r = a != 0 ? b : v[x.c];
      break;
    case Prim::CmpGt:
      r = a > b ? 1.0f : 0.0f;
      break;
    case Prim::CmpLt:
      r = a < b ? 1.0f : 0.0f;
      break;
    }
    v[i] = r;
  }
  return v[result];
}

bool checkPayload(const Op &op, const ExecOp &e, std::string &error) {
  int n = static_cast<int>(e.payload.size());
  if (e.result < 0 || e.result >= n) {
    error = op.name + ": no payload result";
    return false;
  }
  for (int i = 0; i < n; ++i) {
    const Instr &x = e.payload[i];
    if (x.prim == Prim::Input) {
      if (x.a < 0 || x.a > static_cast<int>(e.inputs.size())) {
        error = op.name + ": a payload reads an input it does not have";
        return false;
      }
      continue;
    }
    for (int o : {x.a, x.b, x.c})
      if (o >= i) {
        error = op.name + ": a payload instruction reads a later one";
        return false;
      }
  }
  return true;
}

float activate(ExecOp::Activation a, float x) {
  switch (a) {
  case ExecOp::Activation::None:
    return x;
  case ExecOp::Activation::Relu:
    return x > 0 ? x : 0.0f;
  case ExecOp::Activation::Gelu:
    return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
  case ExecOp::Activation::GeluTanh:
    return 0.5f * x *
           (1.0f +
            std::tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
  case ExecOp::Activation::Sigmoid:
    return 1.0f / (1.0f + std::exp(-x));
  case ExecOp::Activation::Tanh:
    return std::tanh(x);
  }
  return x;
}

/// The table row of a gather's id, or -1 when it is out of range (with the
/// CPU backend's message in `error` when the gather is checked).
int64_t gatherRow(const ExecOp &e, float idValue, std::string *error) {
  auto id = static_cast<int64_t>(idValue);
  int64_t row = e.gatherWrap && id < 0 ? id + e.gatherRows : id;
  if (row >= 0 && row < e.gatherRows)
    return row;
  if (error && e.gatherChecked)
    *error = (e.gatherMessage.empty() ? std::string("run-time index check "
                                                    "failed")
                                      : e.gatherMessage) +
             ": index " + std::to_string(id) + " out of range [" +
             std::to_string(e.gatherWrap ? -e.gatherRows : 0) + ", " +
             std::to_string(e.gatherRows) + ")";
  return -1;
}

bool computeTile(const Op &op, const ExecOp &e, const Tiling &t, int64_t tile,
                 Memory &m, std::string &error) {
  size_t rank = e.domain.size();
  auto in = [&](int i, const int64_t *idx) {
    const Access &a = e.inputs[i];
    return m.sram[a.buffer][at(a, idx, rank)];
  };
  std::vector<float> &out = m.sram[e.output.buffer];
  if (e.gatherRows > 0) {
    // The payload over the point's inputs, input 1 the gathered element.
    bool ok = true;
    size_t n = e.inputs.size();
    std::vector<float> args(n + 1), scratch;
    const Access &table = e.inputs[1];
    forEachPoint(e, t, tile, [&](const int64_t *idx) {
      if (!ok)
        return;
      int64_t row = gatherRow(e, in(0, idx), &error);
      if (row < 0 && e.gatherChecked) {
        ok = false;
        return;
      }
      int64_t o = at(e.output, idx, rank);
      for (size_t i = 0; i < n; ++i)
        args[i] = i != 1    ? in(static_cast<int>(i), idx)
                  : row < 0 ? 0.0f
                            : m.sram[table.buffer][at(table, idx, rank) +
                                                   row * e.gatherRowStride];
      args[n] = out[o];
      out[o] = apply(e.payload, e.result, args, scratch);
    });
    return ok;
  }
  if (!e.csrRowPtr.empty()) {
    std::vector<int64_t> lo, hi;
    tileBox(e, t, tile, lo, hi);
    const Access &v = e.inputs[0], &x = e.inputs[1];
    const std::vector<float> &vals = m.sram[v.buffer], &feat = m.sram[x.buffer];
    for (int64_t r = lo[0]; r < hi[0]; ++r)
      for (int64_t f = lo[1]; f < hi[1]; ++f) {
        float acc = 0;
        for (int64_t k = e.csrRowPtr[r]; k < e.csrRowPtr[r + 1]; ++k)
          acc +=
              vals[v.offset + k] *
              feat[x.offset + e.csrCols[k] * x.strides[0] + f * x.strides[1]];
        out[e.output.offset + r * e.output.strides[0] +
            f * e.output.strides[1]] = acc;
      }
    return true;
  }
  switch (op.kind) {
  case OpKind::MmeMatmul:
  case OpKind::TpcMatmul: {
    bool bf16 = op.kind == OpKind::MmeMatmul && !op.f32;
    // K is the last dimension: a tile's first K point starts the partial
    // sums when it is the first K block, its last finishes them when it is
    // the last.
    std::vector<int64_t> lo, hi;
    tileBox(e, t, tile, lo, hi);
    int64_t off[4];
    for (size_t i = 0; i < 4; ++i) {
      off[i] = i < e.domainOffset.size() ? e.domainOffset[i] : 0;
      lo[i] += off[i];
      hi[i] += off[i];
    }
    bool first = lo[3] == off[3], last = hi[3] == off[3] + e.domain[3];
    const Access &A = e.inputs[0], &B = e.inputs[1], &C = e.output;
    const std::vector<float> &a = m.sram[A.buffer], &b = m.sram[B.buffer];
    int64_t idx[4];
    // One product term (the MME's bf16 operand rounding) and the epilogue of
    // the last K block at the point `idx`: out = activation(alpha * sum +
    // bias) + residual. The gathered (convolution) and strided loops below
    // share both.
    auto mac = [bf16](float x, float y) {
      return bf16 ? roundToBf16(x) * roundToBf16(y) : x * y;
    };
    auto epilogue = [&](float acc) {
      idx[3] = hi[3] - 1;
      acc *= e.alpha;
      if (e.bias >= 0)
        acc += in(e.bias, idx);
      acc = activate(e.activation, acc);
      if (e.residual >= 0)
        acc += in(e.residual, idx);
      return acc;
    };
    if (!e.conv.empty()) {
      // The image operand through the im2col gather (padding reads 0), the
      // output through the convolution's layout.
      ConvGeometry g(e.conv);
      idx[0] = lo[0];
      for (idx[1] = lo[1]; idx[1] < hi[1]; ++idx[1])
        for (idx[2] = lo[2]; idx[2] < hi[2]; ++idx[2]) {
          idx[3] = lo[3];
          int64_t o = C.offset + g.output(idx[1], idx[2]);
          int64_t bi = at(B, idx, rank);
          float acc = first ? 0.0f : out[o];
          for (int64_t k = lo[3]; k < hi[3]; ++k, bi += B.strides[3]) {
            int64_t ai = g.input(idx[1], k);
            acc += mac(ai < 0 ? 0.0f : a[A.offset + ai], b[bi]);
          }
          out[o] = last ? epilogue(acc) : acc;
        }
      return true;
    }
    for (idx[0] = lo[0]; idx[0] < hi[0]; ++idx[0])
      for (idx[1] = lo[1]; idx[1] < hi[1]; ++idx[1])
        for (idx[2] = lo[2]; idx[2] < hi[2]; ++idx[2]) {
          idx[3] = lo[3];
          int64_t o = at(C, idx, rank);
          int64_t ai = at(A, idx, rank), bi = at(B, idx, rank);
          float acc = first ? 0.0f : out[o];
          for (int64_t k = lo[3]; k < hi[3]; ++k) {
            acc += mac(a[ai], b[bi]);
            ai += A.strides[3];
            bi += B.strides[3];
          }
          out[o] = last ? epilogue(acc) : acc;
        }
    return true;
  }
  case OpKind::TpcSoftmax:
  case OpKind::TpcLayerNorm: {
    int64_t cols = e.domain[1];
    int64_t rowOff = e.domainOffset.size() > 0 ? e.domainOffset[0] : 0;
    int64_t colOff = e.domainOffset.size() > 1 ? e.domainOffset[1] : 0;
    int64_t lo = tile * op.rows, hi = std::min(e.domain[0], lo + op.rows);
    std::vector<float> x(cols);
    int64_t idx[2];
    for (int64_t r = lo; r < hi; ++r) {
      idx[0] = r + rowOff;
      for (int64_t c = 0; c < cols; ++c) {
        idx[1] = c + colOff;
        x[c] = in(0, idx);
      }
      if (op.kind == OpKind::TpcSoftmax) {
        float mx = -std::numeric_limits<float>::infinity();
        for (float v : x)
          mx = std::max(mx, v);
        float sum = 0;
        for (float &v : x) {
          v = std::exp(v - mx);
          sum += v;
        }
        for (float &v : x)
          v /= sum;
      } else {
        float mean = 0, var = 0;
        for (float v : x)
          mean += v;
        mean /= float(cols);
        for (float v : x)
          var += (v - mean) * (v - mean);
        var /= float(cols);
        float inv = 1.0f / std::sqrt(var + e.epsilon);
        for (int64_t c = 0; c < cols; ++c) {
          idx[1] = c + colOff;
          float y = (x[c] - mean) * inv;
          if (e.gamma >= 0)
            y *= in(e.gamma, idx);
          if (e.beta >= 0)
            y += in(e.beta, idx);
          x[c] = y;
        }
      }
      for (int64_t c = 0; c < cols; ++c) {
        idx[1] = c + colOff;
        out[at(e.output, idx, rank)] = x[c];
      }
    }
    return true;
  }
  default: {
    // Element-wise kernels and reductions: the payload at each point; the
    // output's current value is input #inputs.size().
    size_t n = e.inputs.size();
    std::vector<float> args(n + 1), scratch;
    forEachPoint(e, t, tile, [&](const int64_t *idx) {
      int64_t o = at(e.output, idx, rank);
      if (e.init >= 0) {
        bool first = true;
        for (size_t d = 0; d < rank && first; ++d)
          if (e.output.strides[d] == 0 &&
              idx[d] != (d < e.domainOffset.size() ? e.domainOffset[d] : 0))
            first = false;
        if (first)
          out[o] = in(e.init, idx);
      }
      for (size_t i = 0; i < n; ++i)
        args[i] = in(static_cast<int>(i), idx);
      args[n] = out[o];
      out[o] = apply(e.payload, e.result, args, scratch);
    });
    return true;
  }
  }
}

/// A sparse aggregation's structure and operands fit its domain and
/// buffers (ExecOp::csrRowPtr).
bool checkCsr(const Op &op, const ExecOp &e, const Memory &memory,
              std::string &error) {
  const std::vector<int64_t> &rp = e.csrRowPtr;
  if (e.domain.size() != 2 || e.inputs.size() != 2 ||
      static_cast<int64_t>(rp.size()) != e.domain[0] + 1 || rp.front() != 0 ||
      rp.back() > static_cast<int64_t>(e.csrCols.size()) ||
      !e.domainOffset.empty()) {
    error = op.name + ": a sparse aggregation needs the domain [rows, F], "
                      "rows + 1 row pointers from 0, as many column indices "
                      "as non-zeros, and the values and features as inputs";
    return false;
  }
  for (size_t i = 0; i + 1 < rp.size(); ++i)
    if (rp[i] > rp[i + 1]) {
      error = op.name + ": a sparse aggregation's row pointers decrease";
      return false;
    }
  const Access &v = e.inputs[0], &x = e.inputs[1], &y = e.output;
  int64_t f = e.domain[1];
  auto inside = [&](const Access &a, int64_t first, int64_t last) {
    return a.buffer >= 0 && a.buffer < static_cast<int>(memory.sizes.size()) &&
           first >= 0 && last < memory.sizes[a.buffer];
  };
  if (x.strides.size() != 2 || y.strides.size() != 2 || x.strides[0] < 0 ||
      x.strides[1] < 0 || y.strides[0] < 0 || y.strides[1] < 0 ||
      !inside(v, v.offset, v.offset + rp.back() - 1 + (rp.back() == 0)) ||
      !inside(y, y.offset,
              y.offset + (e.domain[0] - 1) * y.strides[0] +
                  (f - 1) * y.strides[1])) {
    error = op.name + ": a sparse aggregation's values or output do not fit "
                      "their buffers";
    return false;
  }
  for (int64_t k = 0; k < rp.back(); ++k) {
    int64_t c = e.csrCols[k];
    if (c < 0 ||
        !inside(x, x.offset + c * x.strides[0],
                x.offset + c * x.strides[0] + (f - 1) * x.strides[1])) {
      error = op.name + ": a sparse aggregation's column index " +
              std::to_string(c) + " is outside its features";
      return false;
    }
  }
  return true;
}

} // namespace

bool execute(const Program &program, const std::vector<ExecOp> &execs,
             Memory &memory, std::string &error) {
  // The compute op of each group, for its transfers.
  std::vector<Tiling> tilings(program.ops.size());
  for (size_t i = 0; i < program.ops.size(); ++i) {
    const Op &op = program.ops[i];
    if (op.exec < 0 || op.exec >= static_cast<int>(execs.size())) {
      error = op.name + " (" + opKindName(op.kind) +
              "): the op carries no data semantics, so the program cannot "
              "be executed";
      return false;
    }
    if (isTransfer(op.kind))
      continue;
    const ExecOp &e = execs[op.exec];
    if (!tilingOf(op, e, tilings[i], error))
      return false;
    if (e.domainOffset.size() > e.domain.size()) {
      error = op.name + ": domain offset of the wrong rank";
      return false;
    }
    // A sparse aggregation's inputs are read through its non-zeros
    // (checkCsr), not its domain.
    if (e.csrRowPtr.empty())
      for (const Access &a : e.inputs)
        if (!checkAccess(op, e, a, memory, error))
          return false;
    if (!checkAccess(op, e, e.output, memory, error))
      return false;
    if (!e.csrRowPtr.empty()) {
      if (!checkCsr(op, e, memory, error))
        return false;
    } else if (e.gatherRows > 0) {
      if (e.gatherRows > kMaxGatherRows) {
        error = op.name + ": a gather's table has " +
                std::to_string(e.gatherRows) + " rows, more than the " +
                std::to_string(kMaxGatherRows) +
                " its f32-held ids address exactly";
        return false;
      }
      if (op.kind != OpKind::TpcElementwise || e.inputs.size() < 2 ||
          e.gatherRowStride < 0 || e.init >= 0 || !checkPayload(op, e, error)) {
        if (!error.empty())
          return false;
        error = op.name + ": a gather is an element-wise vector-core kernel "
                          "of ids and a table";
        return false;
      }
      const Access &table = e.inputs[1];
      // The table's rows at their extremes (checkAccess saw row 0).
      int64_t last = (e.gatherRows - 1) * e.gatherRowStride;
      Access lastRow = table;
      lastRow.offset += last;
      if (!checkAccess(op, e, lastRow, memory, error))
        return false;
    } else if ((op.kind == OpKind::TpcElementwise ||
                op.kind == OpKind::TpcReduce) &&
               !checkPayload(op, e, error))
      return false;
    int n = static_cast<int>(e.inputs.size());
    for (int x : {e.bias, e.residual, e.gamma, e.beta, e.init})
      if (x >= n) {
        error = op.name + ": names an input it does not have";
        return false;
      }
    if ((op.kind == OpKind::MmeMatmul || op.kind == OpKind::TpcMatmul) &&
        n < 2) {
      error = op.name + ": a product needs two operands";
      return false;
    }
    if (!e.conv.empty()) {
      if (op.kind != OpKind::MmeMatmul && op.kind != OpKind::TpcMatmul) {
        error = op.name + ": only a product can be a convolution";
        return false;
      }
      if (e.conv.size() != 20 || !ConvGeometry(e.conv).valid()) {
        error = op.name + ": a convolution needs 20 geometry numbers, sizes "
                          "positive and paddings and strides not negative";
        return false;
      }
      ConvGeometry g(e.conv);
      if (e.domain[0] != 1 || e.domain[1] > g.n * g.oh * g.ow ||
          e.domain[2] > g.f || e.domain[3] != g.c * g.kh * g.kw) {
        error = op.name + ": a convolution's domain is not [1, N*OH*OW, F, "
                          "C*KH*KW]";
        return false;
      }
      const Access &img = e.inputs[0], &y = e.output;
      if (img.offset < 0 || y.offset < 0 ||
          img.offset + g.imageSpan() > memory.sizes[img.buffer] ||
          y.offset + g.n * g.f * g.oh * g.ow > memory.sizes[y.buffer]) {
        error = op.name + ": a convolution's image or output does not fit "
                          "its buffer";
        return false;
      }
    }
    if ((op.kind == OpKind::TpcSoftmax || op.kind == OpKind::TpcLayerNorm) &&
        n < 1) {
      error = op.name + ": a row kernel needs an input";
      return false;
    }
  }
  for (size_t i = 0; i < program.ops.size(); ++i) {
    const Op &op = program.ops[i];
    const ExecOp &e = execs[op.exec];
    if (!isTransfer(op.kind)) {
      for (int64_t tile = 0; tile < op.tiles; ++tile)
        if (!computeTile(op, e, tilings[i], tile, memory, error))
          return false;
      continue;
    }
    // A transfer moves what its group's compute op reads (load) or writes
    // (store), tile by tile.
    int compute = -1;
    for (size_t j = 0; j < program.ops.size(); ++j)
      if (!isTransfer(program.ops[j].kind) &&
          program.ops[j].group == op.group && op.group >= 0)
        compute = static_cast<int>(j);
    if (compute < 0 || program.ops[compute].exec != op.exec) {
      error = op.name + ": a transfer without its group's compute op";
      return false;
    }
    const Tiling &t = tilings[compute];
    if (op.tiles != t.tiles) {
      error = op.name + ": a transfer with a different tile count from its "
                        "compute op";
      return false;
    }
    size_t rank = e.domain.size();
    bool load = op.kind == OpKind::DmaLoad;
    // The points of `a` in the tile, from HBM to SRAM (load) or back.
    auto copy = [&](const Access &a, int64_t tile) {
      std::vector<float> &hbm = memory.hbm[a.buffer];
      std::vector<float> &sram = memory.sram[a.buffer];
      std::vector<float> &from = load ? hbm : sram, &to = load ? sram : hbm;
      forEachPoint(
          e, t, tile,
          [&](const int64_t *idx) {
            int64_t o = at(a, idx, rank);
            to[o] = from[o];
          },
          &a);
    };
    // A convolution's image and output: the elements the tile's rows read
    // (through the gather) or write.
    auto convCopy = [&](const Access &a, int64_t tile, bool image) {
      ConvGeometry g(e.conv);
      std::vector<float> &hbm = memory.hbm[a.buffer];
      std::vector<float> &sram = memory.sram[a.buffer];
      std::vector<float> &from = load ? hbm : sram, &to = load ? sram : hbm;
      std::vector<int64_t> lo, hi;
      tileBox(e, t, tile, lo, hi);
      auto off = [&](size_t i) {
        return i < e.domainOffset.size() ? e.domainOffset[i] : 0;
      };
      int64_t inner = image ? 3 : 2;
      for (int64_t r = lo[1] + off(1); r < hi[1] + off(1); ++r)
        for (int64_t x = lo[inner] + off(inner); x < hi[inner] + off(inner);
             ++x) {
          int64_t o = image ? g.input(r, x) : g.output(r, x);
          if (o >= 0)
            to[a.offset + o] = from[a.offset + o];
        }
    };
    // A sparse aggregation's values and gathered feature rows.
    auto csrCopy = [&](int64_t tile) {
      std::vector<int64_t> lo, hi;
      tileBox(e, t, tile, lo, hi);
      const Access &v = e.inputs[0], &x = e.inputs[1];
      auto move = [&](const Access &a, int64_t o) {
        memory.sram[a.buffer][o] = memory.hbm[a.buffer][o];
      };
      for (int64_t k = e.csrRowPtr[lo[0]]; k < e.csrRowPtr[hi[0]]; ++k) {
        if (v.loaded)
          move(v, v.offset + k);
        if (x.loaded)
          for (int64_t f = lo[1]; f < hi[1]; ++f)
            move(x, x.offset + e.csrCols[k] * x.strides[0] + f * x.strides[1]);
      }
    };
    // A gather's table: the rows its ids (loaded first, input 0) name.
    auto gatherCopy = [&](const Access &table, int64_t tile) {
      const Access &ids = e.inputs[0];
      forEachPoint(e, t, tile, [&](const int64_t *idx) {
        int64_t row =
            gatherRow(e, memory.sram[ids.buffer][at(ids, idx, rank)], nullptr);
        if (row < 0)
          return;
        int64_t o = at(table, idx, rank) + row * e.gatherRowStride;
        memory.sram[table.buffer][o] = memory.hbm[table.buffer][o];
      });
    };
    bool conv = !e.conv.empty();
    bool csr = !e.csrRowPtr.empty();
    for (int64_t tile = 0; tile < op.tiles; ++tile) {
      if (load && csr) {
        csrCopy(tile);
        continue;
      }
      if (!load) {
        if (conv)
          convCopy(e.output, tile, false);
        else
          copy(e.output, tile);
        continue;
      }
      for (size_t j = 0; j < e.inputs.size(); ++j) {
        const Access &a = e.inputs[j];
        if (!a.loaded)
          continue;
        if (conv && j == 0)
          convCopy(a, tile, true);
        else if (e.gatherRows > 0 && j == 1)
          gatherCopy(a, tile);
        else
          copy(a, tile);
      }
    }
  }
  return true;
}

} // namespace accel
} // namespace lathe
