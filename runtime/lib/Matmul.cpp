//===- Matmul.cpp - Fused matmul (+bias, activation, residual) on oneDNN --===//
//
// C = act(A x B + bias) + residual as one oneDNN matmul primitive: the bias
// is the primitive's own bias, the activation an eltwise post-op and the
// residual a binary-add post-op, so C is written once.
//
// Operands keep their real strides (a transposed view is just another plain
// layout to oneDNN). When oneDNN has no implementation for a layout, or an
// input overlaps C, that operand is staged through a dense scratch copy.
// With LATHE_MM_CONST_B the primitive picks B's layout (format any) and B is
// reordered into it once per address, the way onnxruntime pre-packs weights.
// An f32 call with a constant B and at most 8 rows of C is bandwidth-bound
// and runs on the runtime's own kernel instead (SkinnyMatmul.h).
//
// In a session with LATHE_PRECISION_BF16, on a CPU with bf16 instructions, A
// and B are converted to bf16 (a constant B once, when it is packed) and the
// product is accumulated and written in f32 (oneDNN's AMX or AVX512-BF16
// kernels); such calls are profiled as "matmul_bf16". Elsewhere, or where
// oneDNN has only a reference kernel for the bf16 form, the call runs in f32.
// LATHE_MM_A_BF16 / LATHE_MM_C_BF16 (bf16 tensors between kernels,
// lathe-cpu-bf16-activations) give A and C as bf16 memrefs: the product then
// has bf16 operands whatever the session's precision, A is not converted and
// C is written in bf16 by the primitive.
//
// lathe_rt_matmul_int8_f32 (lathe-run --precision=int8) quantizes A per
// tensor over its calibrated range (u8 when the range is non-negative, s8
// symmetric otherwise; one oneDNN reorder with a scale), uses B quantized per
// output column (symmetric s8, once per address: B must be constant), and
// lets oneDNN accumulate in s32 and write f32 C through per-column output
// scales; oneDNN adds the bias before scaling, so it gets bias / scale. Calls
// are profiled as "matmul_int8". Where the call cannot run in int8 (B not
// constant, a bias that is not [N], a scaled product) or oneDNN has only a
// reference int8 kernel, it runs in f32; lathe_rt_int8_site_info says which.
//
//===----------------------------------------------------------------------===//

#include "Int8.h"
#include "Pool.h"
#include "SkinnyMatmul.h"
#include "lathe/runtime/Bf16.h"

#include <array>
#include <cmath>
#include <limits>

using namespace lathe::rt;
using dnnl::memory;

namespace {

constexpr const char *kKernel = "lathe_rt_matmul_f32";
constexpr int64_t kKnownFlags = LATHE_MM_HAS_BIAS | LATHE_MM_HAS_RESIDUAL |
                                LATHE_MM_CONST_B | LATHE_MM_A_BF16 |
                                LATHE_MM_C_BF16 | LATHE_MM_A_FROM_KERNEL |
                                (int64_t(0xFF) << LATHE_MM_ACT_SHIFT);

struct Problem {
  Operand a, b, c, bias, res;
  bool hasBias = false, hasRes = false, constB = false;
  int act = LATHE_ACT_NONE;
  float alpha = 1.f;
  /// ReLU must keep NaN (an input holds NaN or Inf; see appendActivation).
  bool keepNaN = false;
  /// bf16 operands, f32 accumulation (see the file comment).
  bool bf16 = false;
  /// int8 operands, s32 accumulation, f32 C (see the file comment).
  bool int8 = false;
  Int8Input in8;
  /// Operands that must be staged densely whatever oneDNN supports.
  bool forceA = false, forceB = false, forceBias = false, forceRes = false,
       forceC = false;
};

struct Entry {
  dnnl::matmul prim;
  memory::desc aMd, bMd, cMd, biasMd, resMd, scratchMd;
  /// Source layout for packing B (constB only).
  memory::desc bPackSrcMd;
  bool copyA = false, copyB = false, copyC = false, copyBias = false,
       copyRes = false, packB = false;
  bool reference = false;
  /// A (unless it is bf16 in aMd already: convertA) and (unless packed) B
  /// are converted to bf16 each call from these layouts into aMd / bMd.
  bool bf16 = false, convertA = false;
  memory::desc aUserMd, bUserMd;
  /// Those conversions, created once with the entry (creating a reorder per
  /// call cost about as much as running it); bf16B unless B is packed.
  dnnl::reorder bf16A, bf16B;
  /// int8: A is quantized by `quantizeA` (aUserMd -> aMd); B is `int8B` (in
  /// bMd); the bias is divided by `outScales` (per column) each call.
  bool int8 = false;
  Int8Input in8;
  /// A reaches the quantization dense (quantizeDense; else `quantizeA`).
  bool denseA = false;
  dnnl::reorder quantizeA;
  ScratchBuffer int8B;
  std::vector<float> outScales;
  std::string int8Text;
  /// The memory objects of the calls (creating them per call made two
  /// thirds of the allocations of a small call).
  BoundArgs args;
  /// Index of the residual's binary post-op (after the activation's).
  int resPostOp = 0;
  PackedWeights packed;
};

/// The current session's cache (see Session.h).
PrimitiveCache<Entry> &cache() {
  return currentSession().cache<PrimitiveCache<Entry>>(CacheSlot::Matmul);
}

/// Pads `view`'s shape on the left with 1s to `rank` dims.
Operand toOperand(const MemRefView &view, size_t rank) {
  Operand op;
  op.data = view.data;
  op.bf16 = view.bf16;
  size_t pad = rank - static_cast<size_t>(view.rank);
  op.dims.reserve(rank);
  op.strides.reserve(rank);
  op.dims.assign(pad, 1);
  op.strides.assign(pad, 0);
  for (int64_t i = 0; i < view.rank; ++i) {
    op.dims.push_back(view.sizes[i]);
    op.strides.push_back(view.strides[i]);
  }
  op.normalizeStrides();
  return op;
}

/// Whether `op` is read across its rows: its last two dimensions are
/// transposed in memory (attention's K^T read from K).
bool readsTransposed(const Operand &op) {
  size_t r = op.dims.size();
  return r >= 2 && op.dims[r - 2] > 1 && op.dims[r - 1] > 1 &&
         op.strides[r - 2] < op.strides[r - 1];
}

/// Dense strides for `dims` with the last two dimensions transposed in
/// memory (column-major matrices, batches outermost).
Dims transposedDenseStrides(const Dims &dims) {
  size_t r = dims.size();
  Dims swapped = dims;
  std::swap(swapped[r - 2], swapped[r - 1]);
  Dims strides = denseStrides(swapped);
  std::swap(strides[r - 2], strides[r - 1]);
  return strides;
}

std::shared_ptr<Entry> build(const Problem &p, bool allDense) {
  auto e = std::make_shared<Entry>();
  auto stage = [&](const Operand &op, bool forced) {
    return forced || !op.hasUsableStrides() ||
           (allDense && !op.isDenseRowMajor());
  };
  e->copyA = stage(p.a, p.forceA);
  e->copyB = stage(p.b, p.forceB);
  e->copyC = stage(p.c, p.forceC);
  e->copyBias = p.hasBias && stage(p.bias, p.forceBias);
  e->copyRes = p.hasRes && stage(p.res, p.forceRes);

  e->aMd = e->copyA ? p.a.denseDesc() : p.a.desc();
  memory::desc bUserMd = e->copyB ? p.b.denseDesc() : p.b.desc();
  e->cMd = e->copyC ? p.c.denseDesc() : p.c.desc();
  if (p.hasBias)
    e->biasMd = e->copyBias ? p.bias.denseDesc() : p.bias.desc();
  if (p.hasRes)
    e->resMd = e->copyRes ? p.res.denseDesc() : p.res.desc();

  memory::desc bMd = bUserMd;
  Int8Weights w8;
  if (p.int8) {
    e->int8 = true;
    e->in8 = p.in8;
    e->aUserMd = e->aMd;
    e->aMd = memory::desc(p.a.dims, p.in8.type(), denseStrides(p.a.dims));
    w8 = quantizeWeights(p.b, p.b.dims.size() - 1,
                         int8WeightMax(p.in8, /*convolution=*/false), kKernel);
    bMd =
        memory::desc(p.b.dims, memory::data_type::s8, memory::format_tag::any);
    if (p.hasBias) {
      Dims biasDims(p.c.dims.size(), 1);
      biasDims.back() = p.c.dims.back();
      e->biasMd = memory::desc(biasDims, memory::data_type::f32,
                               denseStrides(biasDims));
    }
  } else if (p.constB)
    bMd =
        memory::desc(p.b.dims, memory::data_type::f32, memory::format_tag::any);
  if (p.bf16) {
    e->bf16 = true;
    e->aUserMd = e->aMd;
    e->bUserMd = bUserMd;
    e->aMd =
        memory::desc(p.a.dims, memory::data_type::bf16, denseStrides(p.a.dims));
    bMd = memory::desc(p.b.dims, memory::data_type::bf16,
                       memory::format_tag::any);
  }

  dnnl::post_ops ops;
  e->resPostOp = appendActivation(ops, p.act, p.keepNaN, kKernel);
  if (p.hasRes)
    ops.append_binary(dnnl::algorithm::binary_add, e->resMd);
  dnnl::primitive_attr attr = userScratchpadAttr();
  attr.set_post_ops(ops);
  if (p.alpha != 1.f)
    attr.set_output_scales(0, {p.alpha});
  if (p.int8) {
    for (float s : w8.scales)
      e->outScales.push_back(s * p.in8.scale);
    attr.set_output_scales(1 << (p.c.dims.size() - 1), e->outScales);
  }

  auto makePd = [&](const memory::desc &weights) {
    dnnl::matmul::desc desc =
        p.hasBias ? dnnl::matmul::desc(e->aMd, weights, e->biasMd, e->cMd)
                  : dnnl::matmul::desc(e->aMd, weights, e->cMd);
    return dnnl::matmul::primitive_desc(desc, attr, cpuEngine());
  };
  dnnl::matmul::primitive_desc pd;
  if (p.bf16 && !p.constB && !e->copyB && readsTransposed(p.b)) {
    // B read transposed per call (attention's K^T): its bf16 copy keeps
    // that order, so the conversion moves whole rows and the kernel reads
    // B transposed; a transposing conversion costs about half the product.
    // (A staged B is already dense row-major: the default layout then.)
    try {
      pd = makePd(memory::desc(p.b.dims, memory::data_type::bf16,
                               transposedDenseStrides(p.b.dims)));
      if (isReference(pd))
        pd = {};
    } catch (const dnnl::error &err) {
      if (!isUnsupported(err))
        throw;
    }
  }
  if (!pd)
    pd = makePd(bMd);
  e->bMd = pd.weights_desc();
  if (p.int8) {
    // A's quantization (one reorder with a scale), B quantized once.
    dnnl::engine &engine = cpuEngine();
    dnnl::primitive_attr qattr;
    qattr.set_output_scales(0, {1.f / p.in8.scale});
    e->quantizeA = dnnl::reorder(dnnl::reorder::primitive_desc(
        engine, e->aUserMd, engine, e->aMd, qattr));
    e->denseA = e->copyA || p.a.isDenseRowMajor();
    e->int8B = ScratchBuffer(e->bMd.get_size());
    memory::desc plain(p.b.dims, memory::data_type::s8, denseStrides(p.b.dims));
    reorder(plain, w8.values.data(), e->bMd, e->int8B.get());
    e->copyB = e->packB = false;
    e->int8Text = describeInt8(p.in8, pd);
  } else if (p.constB) {
    // Pack unless the preferred layout is the one we already have.
    e->packB = p.bf16 || e->bMd != bUserMd;
    e->bPackSrcMd = p.b.hasUsableStrides() ? p.b.desc() : p.b.denseDesc();
    if (e->packB)
      e->copyB = false;
  }
  if (p.bf16) {
    dnnl::engine &engine = cpuEngine();
    e->convertA = e->aUserMd != e->aMd;
    if (e->convertA)
      e->bf16A = dnnl::reorder(
          dnnl::reorder::primitive_desc(engine, e->aUserMd, engine, e->aMd));
    if (!e->packB)
      e->bf16B = dnnl::reorder(
          dnnl::reorder::primitive_desc(engine, e->bUserMd, engine, e->bMd));
  }
  e->reference = isReference(pd);
  e->scratchMd = pd.scratchpad_desc();
  e->prim = dnnl::matmul(pd);
  return e;
}

/// Grow-only buffers of the calling thread for the bf16 copies of A (slot
/// 0) and B (slot 1) (threadScratchSlot).
void *bf16Scratch(int slot, size_t bytes) {
  thread_local std::array<std::pair<ScratchBuffer, size_t>, 2> slots;
  thread_local uint64_t slotsSession = 0;
  return threadScratchSlot(slots.data(), slots.size(), slotsSession,
                           static_cast<size_t>(slot), bytes);
}

/// A bf16 copy of f32 data `src` (layout `srcMd`), made by `convert` (into
/// layout `dstMd`) in the calling thread's buffer `slot`.
void *toBf16(const dnnl::reorder &convert, const memory::desc &srcMd,
             const float *src, const memory::desc &dstMd, int slot) {
  void *dst = bf16Scratch(slot, dstMd.get_size());
  dnnl::engine &engine = cpuEngine();
  memory from(srcMd, engine, const_cast<float *>(src)), to(dstMd, engine, dst);
  convert.execute(cpuStream(), from, to);
  cpuStream().wait();
  return dst;
}

/// Pointer to `op`'s data, staged densely into `scratch` when `copy` (in
/// its own element type).
float *stageInput(const Operand &op, bool copy, ScratchBuffer &scratch) {
  if (!copy)
    return op.data;
  scratch = ScratchBuffer(static_cast<size_t>(op.numel()) * sizeof(float));
  copyStrided(op.view(), op.denseView(scratch.floats()));
  return scratch.floats();
}

/// A x B is empty (K == 0): C = act(bias) + residual, elementwise. Operands
/// are padded to rank 4 by the caller.
void fillWithoutProduct(const Problem &p) {
  const Operand &c = p.c;
  int64_t d0 = c.dims[0], d1 = c.dims[1], m = c.dims[2], n = c.dims[3];
  auto at = [](const Operand &op, int64_t i0, int64_t i1, int64_t j,
               int64_t k) {
    auto idx = [&](int d, int64_t i) { return op.dims[d] == 1 ? 0 : i; };
    return op.data[idx(0, i0) * op.strides[0] + idx(1, i1) * op.strides[1] +
                   idx(2, j) * op.strides[2] + idx(3, k) * op.strides[3]];
  };
  // Evaluate into a dense copy first: the residual may alias C.
  std::vector<float> out(static_cast<size_t>(d0 * d1 * m * n));
  size_t pos = 0;
  for (int64_t i0 = 0; i0 < d0; ++i0)
    for (int64_t i1 = 0; i1 < d1; ++i1)
      for (int64_t j = 0; j < m; ++j)
        for (int64_t k = 0; k < n; ++k) {
          float v = p.hasBias ? at(p.bias, i0, i1, j, k) : 0.f;
          v = applyActivation(p.act, v);
          if (p.hasRes)
            v += at(p.res, i0, i1, j, k);
          out[pos++] = v;
        }
  copyStrided(c.denseView(out.data()), c.view());
}

/// Writes an int8 entry's bias for oneDNN, which scales the bias with the
/// product: bias / output scale, per column.
void scaleInt8Bias(const Problem &p, const Entry &e, float *out) {
  int64_t n = p.c.dims.back();
  int64_t step = p.bias.dims.back() == 1 ? 0 : p.bias.strides.back();
  for (int64_t j = 0; j < n; ++j)
    out[j] = p.bias.data[j * step] / e.outScales[static_cast<size_t>(j)];
}

/// Tags columnL1's keys among constantScan's (no address is -2).
constexpr int64_t kColumnL1Key = -2;

/// max over columns n of sum over k of |b[k, n]| for a constant rank-2 B
/// [K, N] (leading unit dimensions allowed), once per B and session
/// (constantScan); NaN when B holds NaN, negative for other shapes.
float columnL1(const Operand &b) {
  size_t r = b.dims.size();
  int64_t k = b.dims[r - 2], n = b.dims[r - 1];
  if (b.numel() != k * n)
    return -1.f;
  std::vector<int64_t> key = {kColumnL1Key, reinterpret_cast<int64_t>(b.data)};
  appendKey(key, b);
  return constantScan(key, [&] {
    int64_t ks = b.strides[r - 2], ns = b.strides[r - 1];
    double worst = 0;
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t i = 0; i < k; ++i)
        sum += std::fabs(double(b.data[i * ks + j * ns]));
      if (std::isnan(sum))
        return float(sum); // std::max would drop it
      worst = std::max(worst, sum);
    }
    return static_cast<float>(
        std::min(worst, double(std::numeric_limits<float>::infinity())));
  });
}

/// Records a bound on |C| after a product with a constant B, no residual and
/// no activation or ReLU when max |A| (`aMax`, negative: unknown) is known
/// and finite, as convolutions do (Conv.cpp, recordOutputBound): |C| <=
/// (max |A| * max column L1 of B * |alpha| + max |bias|) grown by the
/// rounding of the K-term sums (K * 2^-23) and of bf16 operands and output
/// (2^-6 together). A matmul reading C (LATHE_MM_A_FROM_KERNEL) then skips
/// its scan of A.
template <typename BiasMax>
void recordOutputBound(const Problem &p, const Entry &e, float aMax,
                       const BiasMax &biasMaxAbs) {
  bool bounded = p.act == LATHE_ACT_NONE || p.act == LATHE_ACT_RELU;
  if (!bounded || !p.constB || p.hasRes || e.int8 || p.keepNaN ||
      !(aMax >= 0.f) || !allFinite(aMax))
    return;
  float l1 = columnL1(p.b);
  if (!(l1 >= 0.f) || !allFinite(l1))
    return;
  float biasMax = biasMaxAbs();
  if (!allFinite(biasMax))
    return;
  recordRoundedBound(
      p.c, double(aMax) * l1 * std::fabs(double(p.alpha)) + double(biasMax),
      double(p.b.dims[p.b.dims.size() - 2]), e.bf16 || p.c.bf16);
}

/// The calibrated input range and the kernel site of an int8 call.
struct Int8Request {
  float lo, hi;
  int64_t site;
};

/// Why a call cannot run in int8 ("" when it can).
std::string int8Obstacle(const Problem &p) {
  if (!p.constB)
    return "B is not a constant";
  if (p.alpha != 1.f)
    return "scaled product";
  if (p.hasBias) {
    for (size_t d = 0; d + 1 < p.bias.dims.size(); ++d)
      if (p.bias.dims[d] != 1)
        return "bias is not a vector of N";
  }
  return "";
}

void matmul(int64_t rankA, void *aDesc, int64_t rankB, void *bDesc,
            int64_t rankBias, void *biasDesc, int64_t rankRes, void *resDesc,
            int64_t rankC, void *cDesc, float alpha, int64_t flags,
            const Int8Request *int8 = nullptr) {
  static const int profileKind = getProfileKind("matmul");
  static const int profileKindBf16 = getProfileKind("matmul_bf16");
  static const int profileKindInt8 = getProfileKind("matmul_int8");
  ProfileScope scope(profileKind);
  if (traceEnabled())
    scope.setDetail(describeOperands(
        {{rankA, aDesc},
         {rankB, bDesc},
         {rankBias, (flags & LATHE_MM_HAS_BIAS) ? biasDesc : nullptr},
         {rankRes, (flags & LATHE_MM_HAS_RESIDUAL) ? resDesc : nullptr},
         {rankC, cDesc}}));

  if (flags & ~kKnownFlags)
    fail(LATHE_ERR_INVALID, "unknown flag bits 0x", std::hex,
         flags & ~kKnownFlags);
  Problem p;
  p.hasBias = flags & LATHE_MM_HAS_BIAS;
  p.hasRes = flags & LATHE_MM_HAS_RESIDUAL;
  p.constB = flags & LATHE_MM_CONST_B;
  p.act = static_cast<int>((flags >> LATHE_MM_ACT_SHIFT) & 0xFF);
  p.alpha = alpha;
  if (!std::isfinite(alpha))
    fail(LATHE_ERR_INVALID, "alpha ", alpha, " is not finite");
  if (alpha != 1.f && p.hasBias)
    fail(LATHE_ERR_INVALID, "alpha cannot be combined with a bias");
  activationAlgorithm(p.act == LATHE_ACT_NONE ? LATHE_ACT_RELU : p.act,
                      kKernel); // Validates the code.

  bool bf16A = flags & LATHE_MM_A_BF16, bf16C = flags & LATHE_MM_C_BF16;
  MemRefView a = decodeMemRef(rankA, aDesc, "A", bf16A);
  MemRefView b = decodeMemRef(rankB, bDesc, "B");
  MemRefView c = decodeMemRef(rankC, cDesc, "C", bf16C);
  if (a.rank < 2 || a.rank > 4 || b.rank < 2 || b.rank > 4)
    fail(LATHE_ERR_SHAPE, "A ", shapeString(a), " and B ", shapeString(b),
         " must have rank 2 to 4");
  int64_t outRank = std::max(a.rank, b.rank);
  if (std::min(a.rank, b.rank) != 2 && a.rank != b.rank)
    fail(LATHE_ERR_SHAPE, "A ", shapeString(a), " and B ", shapeString(b),
         " must have the same rank unless one of them has rank 2");
  if (c.rank != outRank)
    fail(LATHE_ERR_SHAPE, "C ", shapeString(c), " must have rank ", outRank,
         " for A ", shapeString(a), " and B ", shapeString(b));
  int64_t m = a.sizes[a.rank - 2], k = a.sizes[a.rank - 1];
  int64_t kB = b.sizes[b.rank - 2], n = b.sizes[b.rank - 1];
  if (k != kB)
    fail(LATHE_ERR_SHAPE, "inner dimensions differ: A ", shapeString(a),
         " has K=", k, ", B ", shapeString(b), " has K=", kB);
  if (c.sizes[c.rank - 2] != m || c.sizes[c.rank - 1] != n)
    fail(LATHE_ERR_SHAPE, "C ", shapeString(c), " should be [", m, "x", n,
         "] for A ", shapeString(a), " and B ", shapeString(b));
  double batches = 1;
  for (int64_t d = 0; d + 2 < outRank; ++d)
    batches *= double(c.sizes[d]);
  KernelThreads threads(2.0 * batches * double(m) * double(n) * double(k) /
                        (int8 ? kInt8OpsPerF32Flop : 1.0));
  for (int64_t d = 0; d + 2 < outRank; ++d) {
    int64_t batch = c.sizes[d];
    for (const MemRefView *v : {&a, &b})
      if (v->rank == outRank && v->sizes[d] != batch && v->sizes[d] != 1)
        fail(LATHE_ERR_SHAPE, "batch of ", v == &a ? "A " : "B ",
             shapeString(*v), " does not match C ", shapeString(c));
  }

  // Work in rank 3 inside the scalar fallback; oneDNN gets C's rank.
  size_t rank = static_cast<size_t>(outRank);
  p.a = toOperand(a, rank);
  p.b = toOperand(b, rank);
  p.c = toOperand(c, rank);
  if (p.hasBias) {
    MemRefView bias = decodeMemRef(rankBias, biasDesc, "bias");
    if (bias.rank < 1 || bias.rank > outRank)
      fail(LATHE_ERR_SHAPE, "bias ", shapeString(bias), " must have rank 1..",
           outRank);
    for (int64_t i = 0; i < bias.rank; ++i) {
      int64_t d = bias.sizes[bias.rank - 1 - i];
      int64_t want = c.sizes[c.rank - 1 - i];
      if (d != want && d != 1)
        fail(LATHE_ERR_SHAPE, "bias ", shapeString(bias),
             " does not broadcast to C ", shapeString(c),
             " (expected length N=", n, ")");
    }
    p.bias = toOperand(bias, rank);
  }
  if (p.hasRes) {
    MemRefView res = decodeMemRef(rankRes, resDesc, "residual");
    bool same = res.rank == c.rank;
    for (int64_t i = 0; same && i < c.rank; ++i)
      same = res.sizes[i] == c.sizes[i];
    if (!same)
      fail(LATHE_ERR_SHAPE, "residual ", shapeString(res),
           " must have C's shape ", shapeString(c));
    p.res = toOperand(res, rank);
  }
  if (p.c.numel() == 0)
    return;
  // Every path below writes C: its old bound goes (a new one is recorded at
  // the end where one is known).
  forgetBounds(p.c);
  float aBound = flags & LATHE_MM_A_FROM_KERNEL ? recordedBound(p.a) : -1.f;
  if (!p.c.hasUsableStrides())
    fail(LATHE_ERR_INVALID, "C ", shapeString(c),
         " has overlapping or non-positive strides");
  if (k == 0) {
    Problem q = p;
    for (Operand *op : {&q.a, &q.b, &q.c, &q.bias, &q.res})
      while (!op->dims.empty() && op->dims.size() < 4) {
        op->dims.insert(op->dims.begin(), 1);
        op->strides.insert(op->strides.begin(), 0);
      }
    if (bf16C)
      fail(LATHE_ERR_INVALID, "a product without inner dimension (K = 0) "
                              "writes f32 only (C is bf16)");
    fillWithoutProduct(q);
    return;
  }
  p.bf16 = (currentSession().precision == LATHE_PRECISION_BF16 &&
            lathe_rt_cpu_has_bf16()) ||
           bf16A || bf16C;
  if (!int8 && !p.bf16 && p.constB) {
    SkinnyMatmul mm;
    mm.a = &p.a;
    mm.b = &p.b;
    mm.c = &p.c;
    mm.bias = p.hasBias ? &p.bias : nullptr;
    mm.res = p.hasRes ? &p.res : nullptr;
    mm.act = p.act;
    mm.alpha = alpha;
    if (runSkinnyMatmul(mm))
      return;
  }
  // Inputs that share memory with C are read from a copy: oneDNN may write
  // parts of C before it has read all of them.
  p.forceA = overlaps(p.a, p.c);
  p.forceB = overlaps(p.b, p.c);
  p.forceBias = p.hasBias && overlaps(p.bias, p.c);
  p.forceRes = p.hasRes && overlaps(p.res, p.c);

  // oneDNN's fast ReLU post-op turns NaN into 0. A NaN before the
  // activation comes from a NaN or Inf in A, B or the bias (or, with finite
  // inputs, from +Inf and -Inf overflows meeting in one sum, which depends on
  // the summation order like any rounding); a scan of the inputs (O(M*K),
  // against the product's O(M*K*N); a constant B is scanned once) picks the
  // NaN-keeping form only when one of them holds NaN or Inf.
  // An int8 product has no NaN from A or B (A is quantized, B checked when
  // it is), so an int8 call scans only the bias, and A and B only if it ends
  // up in f32 (below).
  std::string obstacle;
  if (int8 && (bf16A || bf16C)) {
    obstacle = "bf16 A or C";
  } else if (int8) {
    p.in8 = int8InputFor(int8->lo, int8->hi, kKernel);
    obstacle = int8Obstacle(p);
    p.int8 = obstacle.empty();
    p.bf16 = false;
  }
  // max |A| where known (negative: not yet): a bf16 product of a dense f32 A
  // converts A itself, scanning it in the same pass (oneDNN's reorder and a
  // separate scan read A twice); else the bound A's writer recorded; else a
  // scan when one is needed. max |bias| likewise, scanned once.
  uint16_t *a16 = nullptr;
  float aMax = aBound;
  if (p.bf16 && !bf16A && p.a.isDenseRowMajor()) {
    a16 = static_cast<uint16_t *>(
        bf16Scratch(0, static_cast<size_t>(p.a.numel()) * 2));
    aMax = toBf16MaxAbs(p.a.data, a16, p.a.numel());
  }
  float biasMax = p.hasBias ? -1.f : 0.f;
  auto biasMaxAbs = [&] {
    if (biasMax < 0.f)
      biasMax = maxAbs(p.bias.view());
    return biasMax;
  };
  auto inputsNonFinite = [&] {
    if (aMax < 0.f)
      aMax = maxAbs(a);
    return !allFinite(aMax) || !allFinite(operandMaxAbs(b, p.constB));
  };
  if (p.act == LATHE_ACT_RELU)
    p.keepNaN = !allFinite(biasMaxAbs()) || (!p.int8 && inputsNonFinite());

  std::vector<int64_t> key;
  key.reserve(64);
  key.push_back(flags);
  key.push_back(p.bf16);
  if (p.int8) {
    // The entry holds B quantized: one per address and input scale.
    key.insert(key.end(), {2 + p.in8.isSigned, bitCast<int32_t>(p.in8.scale),
                           reinterpret_cast<int64_t>(p.b.data)});
  }
  size_t keepNaNSlot = key.size();
  key.push_back(p.keepNaN);
  key.push_back(bitCast<int32_t>(alpha));
  for (const Operand *op : {&p.a, &p.b, &p.c})
    appendKey(key, *op);
  if (p.hasBias)
    appendKey(key, p.bias);
  if (p.hasRes)
    appendKey(key, p.res);
  key.push_back(p.forceA | p.forceB << 1 | p.forceBias << 2 | p.forceRes << 3);
  auto buildEntry = [&] {
    if (p.int8)
      return buildPreferringBf16<Entry>(true, [&](bool useInt8) {
        Problem q = p;
        q.int8 = useInt8;
        return buildPreferringOptimized<Entry>(
            [&](bool allDense) { return build(q, allDense); });
      });
    return buildPreferringBf16<Entry>(p.bf16, [&](bool bf16) {
      Problem q = p;
      q.bf16 = bf16;
      return buildPreferringOptimized<Entry>(
          [&](bool allDense) { return build(q, allDense); });
    });
  };
  std::shared_ptr<Entry> e = cache().getOrCreate(key, buildEntry);
  if (p.int8 && !e->int8 && p.act == LATHE_ACT_RELU && !p.keepNaN &&
      inputsNonFinite()) {
    // oneDNN had only a reference int8 kernel: f32 it is, keeping NaN.
    p.keepNaN = true;
    key[keepNaNSlot] = 1;
    e = cache().getOrCreate(key, buildEntry);
  }
  if (e->bf16)
    scope.setKind(profileKindBf16);
  if (e->int8)
    scope.setKind(profileKindInt8);
  if (int8)
    recordInt8Site(int8->site,
                   e->int8 ? e->int8Text
                           : "f32 (" +
                                 (obstacle.empty()
                                      ? std::string("oneDNN has only a "
                                                    "reference int8 kernel")
                                      : obstacle) +
                                 ")");

  ScratchBuffer sa, sb, sc, sbias, sres;
  float *aPtr = stageInput(p.a, e->copyA, sa);
  // a16 is A's own bf16 copy (dense like aMd; staging, from an overlap
  // with C, is not needed for it).
  if (e->bf16 && e->convertA && a16)
    aPtr = reinterpret_cast<float *>(a16);
  else if (e->bf16 && e->convertA)
    aPtr = static_cast<float *>(
        toBf16(e->bf16A, e->aUserMd, aPtr, e->aMd, /*slot=*/0));
  if (e->int8) {
    void *a8 = int8Scratch(Int8Scratch::Input, e->aMd.get_size());
    if (e->denseA) {
      quantizeDense(aPtr, p.a.numel(), e->in8, a8);
    } else {
      dnnl::engine &engine = cpuEngine();
      memory from(e->aUserMd, engine, aPtr), to(e->aMd, engine, a8);
      e->quantizeA.execute(cpuStream(), from, to);
    }
    aPtr = static_cast<float *>(a8);
  }
  float *bPtr;
  if (e->int8) {
    bPtr = e->int8B.floats();
  } else if (e->packB) {
    bPtr = static_cast<float *>(e->packed.lookup(p.b.data));
    if (!bPtr) {
      float *src = stageInput(p.b, !p.b.hasUsableStrides(), sb);
      bPtr = static_cast<float *>(
          e->packed.pack(p.b.data, src, e->bPackSrcMd, e->bMd));
    }
  } else {
    bPtr = stageInput(p.b, e->copyB, sb);
    if (e->bf16)
      bPtr = static_cast<float *>(
          toBf16(e->bf16B, e->bUserMd, bPtr, e->bMd, /*slot=*/1));
  }
  float *cPtr = p.c.data;
  if (e->copyC) {
    sc = ScratchBuffer(static_cast<size_t>(p.c.numel()) * sizeof(float));
    cPtr = sc.floats();
  }

  {
    BoundArgs::Use args(e->args);
    args.bind(DNNL_ARG_SRC, e->aMd, aPtr);
    args.bind(DNNL_ARG_WEIGHTS, e->bMd, bPtr);
    args.bind(DNNL_ARG_DST, e->cMd, cPtr);
    if (p.hasBias && e->int8) {
      // oneDNN scales the bias with the product: hand it bias / scale.
      auto *scaled = static_cast<float *>(
          int8Scratch(Int8Scratch::Bias,
                      static_cast<size_t>(p.c.dims.back()) * sizeof(float)));
      scaleInt8Bias(p, *e, scaled);
      args.bind(DNNL_ARG_BIAS, e->biasMd, scaled);
    } else if (p.hasBias) {
      args.bind(DNNL_ARG_BIAS, e->biasMd,
                stageInput(p.bias, e->copyBias, sbias));
    }
    if (p.hasRes)
      args.bind(DNNL_ARG_ATTR_MULTIPLE_POST_OP(e->resPostOp) | DNNL_ARG_SRC_1,
                e->resMd, stageInput(p.res, e->copyRes, sres));
    UserScratchpad scratchpad(e->scratchMd);
    scratchpad.addTo(args);
    e->prim.execute(cpuStream(), args.map());
    // Done before the scratchpad and the entry's memory objects are let go.
    cpuStream().wait();
  }
  if (e->copyC)
    copyStrided(p.c.denseView(cPtr), p.c.view());
  recordOutputBound(p, *e, aMax, biasMaxAbs);
}

} // namespace

extern "C" void lathe_rt_matmul_f32(int64_t rankA, void *a, int64_t rankB,
                                    void *b, int64_t rankBias, void *bias,
                                    int64_t rankRes, void *residual,
                                    int64_t rankC, void *c, int64_t flags) {
  guardKernel(kKernel, [&] {
    matmul(rankA, a, rankB, b, rankBias, bias, rankRes, residual, rankC, c, 1.f,
           flags);
  });
}

extern "C" void lathe_rt_matmul_scaled_f32(int64_t rankA, void *a,
                                           int64_t rankB, void *b,
                                           int64_t rankBias, void *bias,
                                           int64_t rankRes, void *residual,
                                           int64_t rankC, void *c, float alpha,
                                           int64_t flags) {
  guardKernel(kKernel, [&] {
    matmul(rankA, a, rankB, b, rankBias, bias, rankRes, residual, rankC, c,
           alpha, flags);
  });
}

extern "C" void lathe_rt_matmul_int8_f32(int64_t rankA, void *a, int64_t rankB,
                                         void *b, int64_t rankBias, void *bias,
                                         int64_t rankRes, void *residual,
                                         int64_t rankC, void *c, float lo,
                                         float hi, int64_t flags,
                                         int64_t site) {
  guardKernel("lathe_rt_matmul_int8_f32", [&] {
    Int8Request request{lo, hi, site};
    matmul(rankA, a, rankB, b, rankBias, bias, rankRes, residual, rankC, c, 1.f,
           flags, &request);
  });
}

// The typed entry points of lathe/runtime/Bf16.h.
#define LATHE_BF16_MATMUL(NAME, BITS)                                          \
  extern "C" void NAME(int64_t rankA, void *a, int64_t rankB, void *b,         \
                       int64_t rankBias, void *bias, int64_t rankRes,          \
                       void *residual, int64_t rankC, void *c,                 \
                       int64_t flags) {                                        \
    lathe_rt_matmul_f32(rankA, a, rankB, b, rankBias, bias, rankRes, residual, \
                        rankC, c, flags | (BITS));                             \
  }
LATHE_BF16_MATMUL(lathe_rt_matmul_bf16_f32, LATHE_MM_A_BF16)
LATHE_BF16_MATMUL(lathe_rt_matmul_f32_bf16, LATHE_MM_C_BF16)
LATHE_BF16_MATMUL(lathe_rt_matmul_bf16_bf16, LATHE_MM_A_BF16 | LATHE_MM_C_BF16)
#undef LATHE_BF16_MATMUL
