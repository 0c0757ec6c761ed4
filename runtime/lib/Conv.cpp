//===- Conv.cpp - 2-D convolution (+bias, activation) on oneDNN -----------===//
//
// Both layouts are described to oneDNN in its logical order (N,C,H,W for
// data, O,I,H,W for the filter) with the caller's real strides, so NHWC and
// HWCF need no transposition. oneDNN's convolution implementations want
// specific (often blocked) layouts, so when the caller's layout has no
// implementation the primitive chooses (format any) and operands are
// reordered; a constant filter (LATHE_MM_CONST_B) is reordered once.
//
// The output is always offered in oneDNN's preferred layout first: with a
// plain NCHW output oneDNN 2.6 falls back to im2col + sgemm (x64:gemm:jit),
// 3-10x slower than its direct blocked kernels on the small CNN of
// bench/peers even counting the reorder back. lathe_rt_conv2d_pool_f32 keeps
// the convolution's output in that layout and pools it there, so only the
// (4x smaller) pooled tensor is reordered to the caller's layout.
//
// LATHE_MM_HAS_RESIDUAL makes the convolution add the output's contents (a
// residual connection) before the activation: oneDNN's sum post-op, with the
// residual reordered into the primitive's layout first when that is not the
// caller's. In a session with LATHE_PRECISION_BF16 on a CPU with bf16
// instructions, input and filter are converted to bf16 by their reorders (a
// constant filter once) and accumulation and output stay f32 (profiled as
// "conv2d_bf16"). LATHE_CONV_BF16_INPUT / LATHE_CONV_BF16_OUTPUT (bf16
// tensors between kernels, lathe-cpu-bf16-activations) give the input and
// the output (pooled or not; the residual of an accumulating convolution)
// as bf16 memrefs: the convolution then runs in bf16 whatever the session's
// precision, and nothing converts its input or output.
//
// Before each call the input (and the residual) is scanned for its largest
// magnitude (maxAbs): NaN or Inf need the NaN-keeping ReLU, Winograd needs
// bounded inputs. In a chain those scans read every activation once more
// (about 3 % of ResNet-18's time on 2 threads). So a convolution with a
// constant filter whose input bound is known records a bound on its output,
// |y| <= (|x|max * max_f sum|w[f]| + |bias|max + |residual|max) (times a
// margin for rounding, see recordOutputBound), per output view in the
// session (ConvBounds); a call whose input or residual carries
// LATHE_CONV_INPUT_FROM_CONV / LATHE_CONV_RESIDUAL_FROM_CONV takes the bound
// recorded for exactly that view instead of scanning. Every call first
// forgets the bounds of views its output overlaps. A bound that is too large
// to show Winograd safe is replaced by a scan, so every decision is the one
// the exact scan gives.
//
// lathe_rt_conv2d_int8_f32 / lathe_rt_conv2d_pool_int8_f32 (lathe-run
// --precision=int8): the input is quantized per tensor by its reorder into
// the primitive's layout (u8 for a non-negative calibrated range, s8
// symmetric otherwise, so zero padding stays exact), the constant filter per
// output channel (symmetric s8, once per address), accumulation is s32 and
// the output f32 through per-channel output scales (profiled as
// "conv2d_int8" / "conv2d_pool_int8"). A filter that is not constant, fewer
// than kInt8MinInputChannels input channels (where oneDNN's f32 kernel is
// faster), or a form oneDNN has only a reference int8 kernel for, runs in
// f32.
//
//===----------------------------------------------------------------------===//

#include "Int8.h"
#include "Pool.h"
#include "lathe/runtime/Bf16.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>

using namespace lathe::rt;
using dnnl::memory;

namespace {

constexpr const char *kKernel = "lathe_rt_conv2d_f32";
/// Tags filterL1's keys among constantScan's (no address is -1).
constexpr int64_t kFilterL1Key = -1;
constexpr int64_t kKnownFlags = LATHE_MM_HAS_BIAS | LATHE_MM_HAS_RESIDUAL |
                                LATHE_MM_CONST_B |
                                (int64_t(0xFF) << LATHE_MM_ACT_SHIFT);

struct Problem {
  Operand src, weights, bias, dst; // oneDNN logical order (NCHW / OIHW).
  /// LATHE_MM_HAS_RESIDUAL: the output's contents are added before the
  /// activation (oneDNN's sum post-op), a residual connection in place.
  bool accumulate = false;
  /// bf16 input and filter, f32 accumulation and output (a session with
  /// LATHE_PRECISION_BF16 on a CPU with bf16 instructions).
  bool bf16 = false;
  /// int8 input and filter, s32 accumulation, f32 output (see above).
  bool int8 = false;
  Int8Input in8;
  bool hasBias = false, constW = false;
  int act = LATHE_ACT_NONE;
  Dims strides, dilates, padL, padR;
  bool forceSrc = false, forceWeights = false, forceBias = false;
  /// An input holds NaN or Inf: ReLU must keep NaN (see appendActivation)
  /// and pooling must be exact (see exactMaxPool).
  bool nonFinite = false;
  /// Winograd is not safe for this data (see winogradIsSafe).
  bool noWinograd = false;
  // lathe_rt_conv2d_pool_f32: dst is internal (no data), `out` is pooled.
  bool pooled = false;
  PoolWindow pool;
  Operand out;
};

/// How one operand reaches the primitive: optionally staged densely (bad
/// strides or overlap with the output), then optionally reordered.
struct Binding {
  memory::desc userMd; // Caller's layout, or dense when staged.
  memory::desc primMd; // What the primitive wants.
  bool stage = false;
  bool reorder = false;
  /// The reorder between userMd and primMd (input: user -> primitive;
  /// output: primitive -> user), created once with the entry: creating it
  /// per call cost about as much as the reorder itself.
  dnnl::reorder reorderPrim;
  /// Staging as a oneDNN reorder from the caller's strides to the dense
  /// layout (vectorised, parallel) when oneDNN can describe those strides;
  /// copyStrided otherwise.
  dnnl::reorder stagePrim;
  memory::desc stagedFromMd;
  /// An int8 input whose primitive layout is dense: `reorderPrim` (absent
  /// when the caller's layout already is that one) only changes the layout,
  /// in f32 (`f32PrimMd`), and quantizeDense writes primMd. oneDNN 2.6's
  /// reorder that changes the layout and quantizes at once (jit:uni) took
  /// 85 us for the digits CNN's 360x16x4x4 input, the f32 one 18 us.
  bool quantize = false;
  Int8Input in8;
  memory::desc f32PrimMd;
};

/// Creates `b.reorderPrim` when `b.reorder` is set (multiplying by `scale`:
/// an int8 input's quantization).
void makeReorder(Binding &b, bool toUser, float scale = 1.f) {
  if (!b.reorder)
    return;
  dnnl::engine &engine = cpuEngine();
  dnnl::primitive_attr attr;
  if (scale != 1.f)
    attr.set_output_scales(0, {scale});
  b.reorderPrim = toUser ? dnnl::reorder(dnnl::reorder::primitive_desc(
                               engine, b.primMd, engine, b.userMd, attr))
                         : dnnl::reorder(dnnl::reorder::primitive_desc(
                               engine, b.userMd, engine, b.primMd, attr));
}

/// Runs `b.reorderPrim` from `src` to `dst`.
void runReorder(const Binding &b, bool toUser, void *src, void *dst) {
  dnnl::engine &engine = cpuEngine();
  memory from(toUser ? b.primMd : b.userMd, engine, src);
  memory to(toUser ? b.userMd : b.primMd, engine, dst);
  b.reorderPrim.execute(cpuStream(), from, to);
  cpuStream().wait();
}

struct Entry {
  dnnl::convolution_forward prim;
  Binding src, weights, bias, dst;
  bool reference = false;
  bool gemm = false; // im2col + sgemm: supported but slow.
  bool winograd = false;
  bool bf16 = false; // Built for bf16 input and filter.
  /// Built for int8: the filter quantized in the primitive's layout, the
  /// per-channel output scales (the bias is divided by them each call).
  bool int8 = false;
  ScratchBuffer int8W;
  std::vector<float> outScales;
  std::string int8Text;
  PackedWeights packed;
  // Pooled mode: the pooling primitive and how its output reaches `out`.
  dnnl::pooling_v2_forward pool;
  Binding out;
  memory::desc convScratchMd, poolScratchMd; // user-mode scratchpads
  BoundArgs args;                            // the convolution's
};

/// The current session's cache (see Session.h).
PrimitiveCache<Entry> &cache() {
  return currentSession().cache<PrimitiveCache<Entry>>(CacheSlot::Conv);
}

/// Bounds on the magnitude of convolution outputs, per output view (see the
/// file comment).
class ConvBounds : public SessionCache {
public:
  /// The bound recorded for exactly `view`, or a negative value.
  float lookup(const Operand &view) {
    std::vector<int64_t> key = keyOf(view);
    std::lock_guard<std::mutex> lock(mutex);
    for (const Record &r : records)
      if (r.key == key)
        return r.bound;
    return -1.f;
  }
  /// Forgets every bound of a view that overlaps `written`.
  void forget(const Operand &written) {
    std::pair<const char *, const char *> range = written.range();
    const char *lo = range.first, *hi = range.second;
    std::lock_guard<std::mutex> lock(mutex);
    records.erase(
        std::remove_if(records.begin(), records.end(),
                       [&](const Record &r) { return r.lo < hi && lo < r.hi; }),
        records.end());
  }
  /// Records `bound` for `written` (after forget).
  void record(const Operand &written, float bound) {
    auto [lo, hi] = written.range();
    std::lock_guard<std::mutex> lock(mutex);
    if (records.size() >= kMaxRecords)
      records.erase(records.begin());
    records.push_back({keyOf(written), lo, hi, bound});
  }
  void clear() override {
    std::lock_guard<std::mutex> lock(mutex);
    records.clear();
  }

private:
  struct Record {
    std::vector<int64_t> key;
    const char *lo, *hi;
    float bound;
  };
  /// Live activations of a network at once, with room to spare; the oldest
  /// record goes first (its reader then scans).
  static constexpr size_t kMaxRecords = 256;
  static std::vector<int64_t> keyOf(const Operand &v) {
    std::vector<int64_t> key = {reinterpret_cast<int64_t>(v.data)};
    appendKey(key, v);
    return key;
  }
  std::mutex mutex;
  std::vector<Record> records;
};

ConvBounds &convBounds() {
  return currentSession().cache<ConvBounds>(CacheSlot::ConvBounds);
}

Binding userBinding(const Operand &op, bool force) {
  Binding b;
  b.stage = force || !op.hasUsableStrides();
  b.userMd = b.stage ? op.denseDesc() : op.desc();
  if (b.stage && op.hasUsableStrides() && op.numel() > 0) {
    dnnl::engine &engine = cpuEngine();
    b.stagedFromMd = op.desc();
    b.stagePrim = dnnl::reorder(dnnl::reorder::primitive_desc(
        engine, b.stagedFromMd, engine, b.userMd));
  }
  return b;
}

memory::desc anyMd(const Operand &op,
                   memory::data_type type = memory::data_type::f32) {
  return memory::desc(op.dims, type, memory::format_tag::any);
}

/// `pd` moved to the first implementation whose name contains `name`, when
/// oneDNN has one for this problem; else left as it is.
void preferImplementation(dnnl::convolution_forward::primitive_desc &pd,
                          const dnnl::convolution_forward::desc &desc,
                          const dnnl::primitive_attr &attr, const char *name) {
  // A fresh descriptor: next_impl moves every copy that shares the handle.
  dnnl::convolution_forward::primitive_desc probe(desc, attr, cpuEngine());
  do {
    if (std::string(probe.impl_info_str()).find(name) != std::string::npos) {
      pd = probe;
      return;
    }
  } while (probe.next_impl());
}

/// The entry for one configuration; nullptr when `brgemmOnly` and oneDNN's
/// choice is not its brgemm kernel.
std::shared_ptr<Entry> build(const Problem &p, bool srcAny, bool dstAny,
                             bool winograd, bool stageSrc, bool brgemmOnly) {
  auto e = std::make_shared<Entry>();
  e->bf16 = p.bf16;
  e->src = userBinding(p.src, p.forceSrc || stageSrc);
  e->weights = userBinding(p.weights, p.forceWeights);
  if (!p.pooled)
    e->dst = userBinding(p.dst, false);
  memory::desc srcMd = srcAny ? anyMd(p.src) : e->src.userMd;
  memory::desc wMd = srcAny || p.constW ? anyMd(p.weights) : e->weights.userMd;
  memory::desc dstMd =
      dstAny || p.pooled ? anyMd(p.dst, p.dst.type()) : e->dst.userMd;
  if (p.bf16) {
    // The input and filter are converted by their reorders (a constant
    // filter once, when packed); the output stays f32.
    srcMd = anyMd(p.src, memory::data_type::bf16);
    wMd = anyMd(p.weights, memory::data_type::bf16);
  }
  Int8Weights w8;
  if (p.int8) {
    e->int8 = true;
    srcMd = anyMd(p.src, p.in8.type());
    wMd = anyMd(p.weights, memory::data_type::s8);
    w8 = quantizeWeights(p.weights, 0,
                         int8WeightMax(p.in8, /*convolution=*/true), kKernel);
    for (float s : w8.scales)
      e->outScales.push_back(s * p.in8.scale);
  }
  if (p.hasBias) {
    e->bias = userBinding(p.bias, p.forceBias);
    e->bias.primMd = p.int8 ? memory::desc(p.bias.dims, memory::data_type::f32,
                                           memory::format_tag::x)
                            : e->bias.userMd;
  }

  dnnl::post_ops ops;
  if (p.accumulate)
    ops.append_sum(1.f);
  appendActivation(ops, p.act, p.nonFinite, kKernel);
  dnnl::primitive_attr attr = userScratchpadAttr();
  attr.set_post_ops(ops);
  if (p.int8)
    attr.set_output_scales(1 << 1, e->outScales);
  auto prop = dnnl::prop_kind::forward_inference;
  auto alg = winograd ? dnnl::algorithm::convolution_winograd
                      : dnnl::algorithm::convolution_direct;
  dnnl::convolution_forward::desc desc =
      p.hasBias
          ? dnnl::convolution_forward::desc(prop, alg, srcMd, wMd,
                                            e->bias.primMd, dstMd, p.strides,
                                            p.dilates, p.padL, p.padR)
          : dnnl::convolution_forward::desc(prop, alg, srcMd, wMd, dstMd,
                                            p.strides, p.dilates, p.padL,
                                            p.padR);
  dnnl::convolution_forward::primitive_desc pd(desc, attr, cpuEngine());
  // oneDNN 2.6 lists its Winograd F(2x2, 3x3) kernel (jit_fp32_wino_2x3)
  // before F(4x4, 3x3) (jit_wino_4x3) and takes it for small batches with
  // more than one thread. At batch 2 F(4x4, 3x3) was twice as fast here
  // (bn_cnn's 3x3 convolutions, 2 threads: 32 channels at 56x56 0.19-0.22
  // against 0.52 ms, 64 at 28x28 0.13-0.15 against 0.33 ms). At batch 1 the
  // order stays: F(2x2, 3x3) rounds less, and on a network's 3x3 layers at
  // batch 1, where every filter comes from memory, F(4x4, 3x3) was at most
  // 10 % faster (64 channels at 56x56) and slower where its 2.25x larger
  // transformed filter dominates (256 channels at 14x14: 0.83 against
  // 0.60 ms; AMD EPYC, AVX-512).
  if (winograd && p.src.dims[0] >= 2)
    preferImplementation(pd, desc, attr, "wino_4x3");
  std::string impl = pd.impl_info_str();
  if (brgemmOnly && impl.find("brgconv") == std::string::npos)
    return nullptr;
  e->src.primMd = pd.src_desc();
  e->weights.primMd = pd.weights_desc();
  e->dst.primMd = pd.dst_desc();
  for (Binding *b : {&e->src, &e->weights, &e->dst})
    b->reorder = b->primMd != b->userMd;
  int64_t srcElements = 1;
  for (int64_t d : p.src.dims)
    srcElements *= d;
  if (p.int8 && e->src.primMd.get_size() == size_t(srcElements)) {
    // Dense (no padding, no gaps): one byte per element.
    e->src.quantize = true;
    e->src.in8 = p.in8;
    e->src.f32PrimMd = e->src.primMd;
    e->src.f32PrimMd.data.data_type = dnnl_f32;
    e->src.reorder = e->src.f32PrimMd != e->src.userMd;
    if (e->src.reorder) {
      dnnl::engine &engine = cpuEngine();
      e->src.reorderPrim = dnnl::reorder(dnnl::reorder::primitive_desc(
          engine, e->src.userMd, engine, e->src.f32PrimMd));
    }
  } else {
    makeReorder(e->src, /*toUser=*/false, p.int8 ? 1.f / p.in8.scale : 1.f);
  }
  if (p.int8) {
    e->weights.reorder = false;
    e->int8W = ScratchBuffer(e->weights.primMd.get_size());
    memory::desc plain(p.weights.dims, memory::data_type::s8,
                       memory::format_tag::oihw);
    reorder(plain, w8.values.data(), e->weights.primMd, e->int8W.get());
    e->int8Text = describeInt8(p.in8, pd);
  } else if (!p.constW) {
    makeReorder(e->weights, /*toUser=*/false);
  }
  if (!p.pooled)
    makeReorder(e->dst, /*toUser=*/true);
  e->reference = isReference(pd);
  e->gemm = impl.find("gemm") != std::string::npos;
  e->winograd = winograd;
  e->prim = dnnl::convolution_forward(pd);
  e->convScratchMd = pd.scratchpad_desc();
  if (p.pooled) {
    e->dst.reorder = false; // Stays in the primitive's layout, in scratch.
    e->out = userBinding(p.out, false);
    auto poolPd =
        makePoolDesc(pd.dst_desc(), anyMd(p.out, p.out.type()), p.pool);
    e->out.primMd = poolPd.dst_desc();
    e->out.reorder = e->out.primMd != e->out.userMd;
    makeReorder(e->out, /*toUser=*/true);
    e->reference = e->reference || isReference(poolPd);
    e->pool = dnnl::pooling_v2_forward(poolPd);
    e->poolScratchMd = poolPd.scratchpad_desc();
  }
  return e;
}

/// Winograd F(4x4, 3x3) (oneDNN's jit_wino_4x3, preferred layouts) is tried
/// first for 3x3, stride-1, undilated convolutions with at least 16 input
/// and output channels and an output of at least 8x8: on conv2 of
/// bench/peers' CNN (32->64, 14x14 -> 12x12) it took 0.13-0.18 ms against
/// 0.29-0.32 ms for the best direct kernel (1 thread). Its results differ
/// from a direct convolution by rounding only (tested against float64).
bool wantsWinograd(const Problem &p) {
  const Dims &w = p.weights.dims, &d = p.dst.dims;
  return w[2] == 3 && w[3] == 3 && p.strides == Dims{1, 1} &&
         p.dilates == Dims{0, 0} && w[0] >= 16 && w[1] >= 16 &&
         d[2] * d[3] >= 64;
}

/// oneDNN 2.6's brgemm convolution (brgconv; AVX-512 and newer) reads and
/// writes NHWC only, so in a chain of nChw16c tensors its input and output
/// are reordered. For f32 spatial filters at least as large as the input and
/// output together it is worth that: with the filter read from memory, as
/// in a network's pass (2 threads, AMD EPYC), 512 channels at 7x7 took
/// 0.76 ms against 1.06 ms for the nChw16c direct kernel, the stride-2 3x3
/// convolutions of ResNet-18 0.26-0.35 ms against 0.38-0.58 ms, while the
/// reorders of tensors that size cost 0.01-0.05 ms. Where brgconv is not
/// available (AVX2) the candidate is skipped.
bool wantsBrgemm(const Problem &p) {
  if (p.bf16 || p.int8)
    return false;
  const Dims &w = p.weights.dims;
  if (w[2] * w[3] == 1)
    return false;
  return p.weights.numel() >= p.src.numel() + p.dst.numel();
}

/// Winograd's transforms add and subtract inputs, weights and products
/// (coefficients up to 5 in each of two dimensions, per transform): an Inf
/// input becomes NaN where the direct sum is Inf, a NaN spreads over a whole
/// output tile, and big finite values overflow to NaN where the direct sum
/// overflows to Inf or not at all. It is safe when every input is finite and
/// no transformed product sum can come near FLT_MAX: |x| * |w| * C, with
/// 2^24 of room for the transforms' growth.
bool winogradIsSafe(float srcMax, float wMax, int64_t channels) {
  return allFinite(srcMax) && allFinite(wMax) &&
         double(srcMax) * double(wMax) * double(channels) * 0x1p24 <=
             double(std::numeric_limits<float>::max());
}

/// With Winograd not wanted or not available, the first configuration with a
/// direct (not im2col, not reference) implementation among: oneDNN's brgemm
/// kernel in its preferred layouts where wantsBrgemm, caller's input layout
/// and preferred output layout (oneDNN's kernels for few input channels read
/// plain NCHW), both preferred, both the caller's; else the first that
/// oneDNN supports.
std::shared_ptr<Entry> buildBest(const Problem &p) {
  struct Candidate {
    bool srcAny, dstAny, winograd, stageSrc, brgemm;
  };
  const Candidate candidates[] = {
      {true, true, true, false, false},   {true, true, false, false, true},
      {false, true, false, false, false}, {false, true, false, true, false},
      {true, true, false, false, false},  {false, false, false, false, false}};
  bool winograd = wantsWinograd(p) && !p.noWinograd && !p.int8;
  bool brgemm = wantsBrgemm(p);
  // A view that skips rows or columns (input the windows never read) has no
  // direct kernel; a dense copy of it does.
  bool dense = p.src.isDenseRowMajor();
  std::shared_ptr<Entry> fallback;
  std::exception_ptr lastError;
  for (auto [srcAny, dstAny, wino, stageSrc, brg] : candidates) {
    if ((p.pooled && !dstAny) || (wino && !winograd) || (stageSrc && dense) ||
        (brg && !brgemm))
      continue;
    try {
      std::shared_ptr<Entry> e =
          build(p, srcAny, dstAny, wino, stageSrc, /*brgemmOnly=*/brg);
      if (!e)
        continue;
      if (!e->reference && !e->gemm)
        return e;
      if (!fallback || (fallback->reference && !e->reference))
        fallback = e;
    } catch (const dnnl::error &err) {
      if (!isUnsupported(err))
        throw;
      lastError = std::current_exception();
    }
  }
  if (!fallback)
    std::rethrow_exception(lastError);
  return fallback;
}

/// Roles of the per-thread scratch buffers of one call.
enum ScratchSlot {
  kSrcStaged,
  kSrcF32Reordered,
  kSrcReordered,
  kWStaged,
  kWReordered,
  kBiasStaged,
  kBiasReordered,
  kDst,
  kPooled,
  kNumSlots
};

/// Grow-only scratch of the calling thread, one buffer per role
/// (threadScratchSlot; on the CNN of bench/peers fresh buffers cost as much as
/// a pooling primitive).
void *threadScratch(ScratchSlot slot, size_t bytes) {
  thread_local std::array<std::pair<ScratchBuffer, size_t>, kNumSlots> slots;
  thread_local uint64_t slotsSession = 0;
  return threadScratchSlot(slots.data(), slots.size(), slotsSession, slot,
                           bytes);
}

/// The data of an input operand in the primitive's layout.
void *bindInput(const Operand &op, const Binding &b, ScratchSlot staged,
                ScratchSlot reordered) {
  void *ptr = op.data;
  if (b.stage) {
    auto *dense = static_cast<float *>(
        threadScratch(staged, static_cast<size_t>(op.numel()) * sizeof(float)));
    if (b.stagePrim) {
      dnnl::engine &engine = cpuEngine();
      memory from(b.stagedFromMd, engine, op.data), to(b.userMd, engine, dense);
      b.stagePrim.execute(cpuStream(), from, to);
      cpuStream().wait();
    } else {
      copyStrided(op.view(), op.denseView(dense));
    }
    ptr = dense;
  }
  if (b.quantize) {
    void *out = threadScratch(reordered, b.primMd.get_size());
    if (b.reorder) {
      void *f32 = threadScratch(kSrcF32Reordered, b.f32PrimMd.get_size());
      dnnl::engine &engine = cpuEngine();
      memory from(b.userMd, engine, ptr), to(b.f32PrimMd, engine, f32);
      b.reorderPrim.execute(cpuStream(), from, to);
      cpuStream().wait();
      ptr = f32;
    }
    quantizeDense(static_cast<const float *>(ptr),
                  static_cast<int64_t>(b.primMd.get_size()), b.in8, out);
    return out;
  }
  if (b.reorder) {
    void *out = threadScratch(reordered, b.primMd.get_size());
    runReorder(b, /*toUser=*/false, ptr, out);
    ptr = out;
  }
  return ptr;
}

/// The convolution has no products (C == 0): out = act(bias) (also after
/// max pooling, which keeps a constant).
void fillWithoutProduct(const Problem &p) {
  const Operand &d = p.pooled ? p.out : p.dst;
  if (d.bf16)
    fail(LATHE_ERR_INVALID, "a convolution without input channels writes f32 "
                            "outputs only (the output is bf16)");
  for (int64_t n = 0; n < d.dims[0]; ++n)
    for (int64_t f = 0; f < d.dims[1]; ++f) {
      float v = p.hasBias ? p.bias.data[f * p.bias.strides[0]] : 0.f;
      for (int64_t h = 0; h < d.dims[2]; ++h)
        for (int64_t w = 0; w < d.dims[3]; ++w) {
          int64_t channel = d.block ? (f / d.block) * d.strides[1] + f % d.block
                                    : f * d.strides[1];
          float &out = d.data[n * d.strides[0] + channel + h * d.strides[2] +
                              w * d.strides[3]];
          out = applyActivation(p.act, p.accumulate ? v + out : v);
        }
    }
}

/// A plain NCHW copy of `src` with `before`/`after` rows and columns of
/// zeros around it, in `buffer`.
Operand padExplicitly(const Operand &src, const Dims &before, const Dims &after,
                      ScratchBuffer &buffer) {
  if (src.bf16)
    fail(LATHE_ERR_INVALID, "a bf16 input with padding and a filter that "
                            "holds NaN or Inf is not supported");
  Operand out;
  out.dims = src.dims;
  out.dims[2] += before[0] + after[0];
  out.dims[3] += before[1] + after[1];
  out.strides = denseStrides(out.dims);
  buffer = ScratchBuffer(static_cast<size_t>(out.numel()) * sizeof(float));
  out.data = buffer.floats();
  std::fill(out.data, out.data + out.numel(), 0.f);
  const Dims &s = src.strides;
  for (int64_t n = 0; n < src.dims[0]; ++n)
    for (int64_t c = 0; c < src.dims[1]; ++c) {
      int64_t channel =
          src.block ? (c / src.block) * s[1] + c % src.block : c * s[1];
      for (int64_t h = 0; h < src.dims[2]; ++h)
        for (int64_t w = 0; w < src.dims[3]; ++w)
          out.data[((n * out.dims[1] + c) * out.dims[2] + h + before[0]) *
                       out.dims[3] +
                   w + before[1]] =
              src.data[n * s[0] + channel + h * s[2] + w * s[3]];
    }
  return out;
}

/// Bottom/right padding implied by the output size; trims input rows or
/// columns that no window reads (oneDNN rejects negative padding), except
/// fewer than `stride` of them: oneDNN's output size rounds down, so those
/// stay in the view with no padding and the input stays dense. A trimmed
/// view is not: ResNet's 1x1 stride-2 shortcuts (56 -> 28 reads 55 rows)
/// then needed a staging copy and ran oneDNN's generic direct kernel.
int64_t impliedPadding(int64_t &inSize, int64_t outSize, int64_t kernel,
                       int64_t stride, int64_t dilation, int64_t padBefore,
                       const char *dim) {
  int64_t span = (outSize - 1) * stride + (kernel - 1) * dilation + 1;
  int64_t padAfter = span - inSize - padBefore;
  if (padAfter >= 0)
    return padAfter;
  if (padAfter + stride > 0)
    return 0;
  int64_t used = inSize + padAfter;
  if (used <= 0)
    fail(LATHE_ERR_SHAPE, "output ", dim, " ", outSize,
         " reads no input rows with ", dim, " padding ", padBefore);
  inSize = used;
  return 0;
}

/// max over output channels f of sum |w[f, ...]| of a constant filter, once
/// per filter and session (constantScan); NaN when the filter holds NaN
/// (then no bound is recorded).
float filterL1(const Operand &w) {
  std::vector<int64_t> key = {kFilterL1Key, reinterpret_cast<int64_t>(w.data)};
  appendKey(key, w);
  return constantScan(key, [&] {
    double worst = 0;
    for (int64_t f = 0; f < w.dims[0]; ++f) {
      double sum = 0;
      for (int64_t c = 0; c < w.dims[1]; ++c)
        for (int64_t i = 0; i < w.dims[2]; ++i)
          for (int64_t j = 0; j < w.dims[3]; ++j)
            sum +=
                std::fabs(double(w.data[f * w.strides[0] + c * w.strides[1] +
                                        i * w.strides[2] + j * w.strides[3]]));
      if (std::isnan(sum))
        return float(sum); // std::max would drop it
      worst = std::max(worst, sum);
    }
    return static_cast<float>(
        std::min(worst, double(std::numeric_limits<float>::infinity())));
  });
}

/// Records the bound on |output| of a finished convolution `e` with a
/// constant filter, no activation or ReLU, when its input, bias and residual
/// bounds are known (negative: unknown) and finite, and the result is far
/// enough from FLT_MAX. The exact bound |x|max * L1 + |bias|max + |residual|max
/// grows by the rounding of the sums (n terms: at most 2n ulps of it, n *
/// 2^-23), of bf16 input, filter and output (2^-8 each, at most 2^-6
/// together), and for Winograd by its transforms' (a factor 4, far above
/// their growth).
void recordOutputBound(const Problem &p, const Entry &e, float srcMax,
                       float biasMax, float residualMax) {
  // Other activations are not bounded by |pre-activation| (sigmoid(0) is
  // 1/2).
  bool bounded = p.act == LATHE_ACT_NONE || p.act == LATHE_ACT_RELU;
  if (!bounded || !p.constW || e.int8 || p.nonFinite || srcMax < 0.f ||
      residualMax < 0.f)
    return;
  if (biasMax < 0.f)
    biasMax = p.hasBias ? maxAbs(p.bias.view()) : 0.f;
  recordRoundedBound(p.dst,
                     double(srcMax) * filterL1(p.weights) + double(biasMax) +
                         double(residualMax),
                     double(p.weights.numel() / p.weights.dims[0]),
                     e.bf16 || p.dst.bf16, e.winograd ? 4.0 : 1.0);
}

void conv2d(int64_t rankIn, void *inDesc, int64_t rankFilter, void *filterDesc,
            int64_t rankBias, void *biasDesc, int64_t rankOut, void *outDesc,
            int64_t layout, int64_t strideH, int64_t strideW, int64_t padTop,
            int64_t padLeft, int64_t dilationH, int64_t dilationW,
            int64_t flags, const PoolWindow *pool,
            const float *int8Range = nullptr, int64_t int8Site = -1) {
  static const int profileKind = getProfileKind("conv2d");
  static const int pooledKind = getProfileKind("conv2d_pool");
  static const int profileKindBf16 = getProfileKind("conv2d_bf16");
  static const int pooledKindBf16 = getProfileKind("conv2d_pool_bf16");
  static const int profileKindInt8 = getProfileKind("conv2d_int8");
  static const int pooledKindInt8 = getProfileKind("conv2d_pool_int8");
  ProfileScope scope(pool ? pooledKind : profileKind);
  if (traceEnabled())
    scope.setDetail(describeOperands(
        {{rankIn, inDesc}, {rankFilter, filterDesc}, {rankOut, outDesc}}));

  if (flags & ~kKnownFlags)
    fail(LATHE_ERR_INVALID, "unknown flag bits 0x", std::hex,
         flags & ~kKnownFlags);
  bool nhwc = layout & LATHE_CONV_NHWC;
  bool blockedIn = layout & LATHE_CONV_BLOCKED_INPUT;
  bool blockedOut = layout & LATHE_CONV_BLOCKED_OUTPUT;
  bool bf16In = layout & LATHE_CONV_BF16_INPUT;
  bool bf16Out = layout & LATHE_CONV_BF16_OUTPUT;
  if (layout & ~int64_t(LATHE_CONV_NHWC | LATHE_CONV_BLOCKED_INPUT |
                        LATHE_CONV_BLOCKED_OUTPUT | LATHE_CONV_BF16_INPUT |
                        LATHE_CONV_BF16_OUTPUT | LATHE_CONV_INPUT_FROM_CONV |
                        LATHE_CONV_RESIDUAL_FROM_CONV))
    fail(LATHE_ERR_INVALID, "layout ", layout,
         " is not 0 (NCHW/FCHW) or 1 (NHWC/HWCF), optionally combined with "
         "blocked input (2) and/or output (4), bf16 input (8) and/or "
         "output (16), input (32) and/or residual (64) from a convolution");
  if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1)
    fail(LATHE_ERR_INVALID, "strides (", strideH, ",", strideW,
         ") and dilations (", dilationH, ",", dilationW, ") must be >= 1");
  if (padTop < 0 || padLeft < 0)
    fail(LATHE_ERR_INVALID, "padding (", padTop, ",", padLeft,
         ") must be >= 0");

  Problem p;
  p.hasBias = flags & LATHE_MM_HAS_BIAS;
  p.accumulate = flags & LATHE_MM_HAS_RESIDUAL;
  if (p.accumulate && pool)
    fail(LATHE_ERR_INVALID, "a pooled convolution cannot accumulate into its "
                            "output (LATHE_MM_HAS_RESIDUAL)");
  p.constW = flags & LATHE_MM_CONST_B;
  p.act = static_cast<int>((flags >> LATHE_MM_ACT_SHIFT) & 0xFF);
  activationAlgorithm(p.act == LATHE_ACT_NONE ? LATHE_ACT_RELU : p.act,
                      kKernel);

  MemRefView in = decodeMemRef(rankIn, inDesc, "input", bf16In);
  MemRefView filter = decodeMemRef(rankFilter, filterDesc, "filter");
  MemRefView out = decodeMemRef(rankOut, outDesc, "output", bf16Out);
  if (in.rank != (blockedIn ? 5 : 4) || filter.rank != 4 ||
      out.rank != (blockedOut ? 5 : 4))
    fail(LATHE_ERR_SHAPE, "input ", shapeString(in), ", filter ",
         shapeString(filter), " and output ", shapeString(out),
         " must have rank ", blockedIn ? 5 : 4, ", 4 and ", blockedOut ? 5 : 4);
  std::array<int, 4> dataOrder =
      nhwc ? std::array<int, 4>{0, 3, 1, 2} : std::array<int, 4>{0, 1, 2, 3};
  std::array<int, 4> filterOrder =
      nhwc ? std::array<int, 4>{3, 2, 0, 1} : std::array<int, 4>{0, 1, 2, 3};
  p.src =
      blockedIn ? blockedOperand(in, "blocked input") : permuted(in, dataOrder);
  p.weights = permuted(filter, filterOrder);
  p.dst = blockedOut ? blockedOperand(out, "blocked output")
                     : permuted(out, dataOrder);
  if (pool) {
    // `out` is the pooled output; the convolution's output has as many rows
    // and columns as the windows read (in the output's type).
    p.pooled = true;
    p.pool = *pool;
    p.out = p.dst;
    p.dst.data = nullptr;
    p.dst.block = 0;
    p.dst.dims[2] = pool->span(0, p.out.dims[2]);
    p.dst.dims[3] = pool->span(1, p.out.dims[3]);
    p.dst.strides = denseStrides(p.dst.dims);
  }
  const char *inName = blockedIn ? "nChw16c" : nhwc ? "NHWC" : "NCHW";
  const char *outName = blockedOut ? "nChw16c" : nhwc ? "NHWC" : "NCHW";
  int64_t n = p.src.dims[0], c = p.src.dims[1];
  int64_t f = p.weights.dims[0], kh = p.weights.dims[2], kw = p.weights.dims[3];
  if (p.weights.dims[1] != c || p.dst.dims[0] != n || p.dst.dims[1] != f)
    fail(LATHE_ERR_SHAPE, "shapes do not agree (", inName,
         nhwc ? "/HWCF/" : "/FCHW/", outName, "): input ", shapeString(in),
         " has N=", n, " C=", c, ", filter ", shapeString(filter),
         " has C=", p.weights.dims[1], " F=", f, ", output ", shapeString(out),
         " has N=", p.dst.dims[0], " F=", p.dst.dims[1]);
  if (kh == 0 || kw == 0)
    fail(LATHE_ERR_SHAPE, "filter ", shapeString(filter), " is empty");
  // Bounds recorded by the convolutions that wrote the input and the
  // residual (negative: unknown), then forget those of what this call writes.
  ConvBounds &bounds = convBounds();
  float srcBound =
      layout & LATHE_CONV_INPUT_FROM_CONV ? bounds.lookup(p.src) : -1.f;
  float residualBound = p.accumulate && (layout & LATHE_CONV_RESIDUAL_FROM_CONV)
                            ? bounds.lookup(p.dst)
                            : -1.f;
  bounds.forget(p.pooled ? p.out : p.dst);
  // Why an int8 call runs in f32 instead ("" when it can run in int8).
  std::string int8Obstacle =
      bf16In || bf16Out ? std::string("bf16 input or output")
      : !p.constW       ? std::string("the filter is not a constant")
      : c < kInt8MinInputChannels
          ? concat("fewer than ", kInt8MinInputChannels,
                   " input channels: oneDNN's f32 kernel is faster")
          : std::string();
  bool tryInt8 = int8Range && int8Obstacle.empty();
  double flops = 2.0 * double(n) * double(f) * double(c) * double(kh) *
                 double(kw) * double(p.dst.dims[2]) * double(p.dst.dims[3]);
  // The f32 count until the entry says whether it runs in int8 (see below).
  KernelThreads threads(flops);
  auto applyThreadsFor = [&](bool int8) {
    applyThreadSettings(int8 ? flops / kInt8OpsPerF32Flop : flops);
  };
  if (p.hasBias) {
    MemRefView bias = decodeMemRef(rankBias, biasDesc, "bias");
    if (bias.rank != 1 || bias.sizes[0] != f)
      fail(LATHE_ERR_SHAPE, "bias ", shapeString(bias), " should be [", f, "]");
    p.bias.data = bias.data;
    p.bias.dims = {f};
    p.bias.strides = {bias.strides[0]};
    p.bias.normalizeStrides();
  }
  if ((p.pooled ? p.out : p.dst).numel() == 0)
    return;
  if (!(p.pooled ? p.out : p.dst).hasUsableStrides())
    fail(LATHE_ERR_INVALID, "output ", shapeString(out),
         " has overlapping or non-positive strides");
  if (c == 0) {
    fillWithoutProduct(p);
    return;
  }
  int64_t padBottom = impliedPadding(p.src.dims[2], p.dst.dims[2], kh, strideH,
                                     dilationH, padTop, "height");
  int64_t padRight = impliedPadding(p.src.dims[3], p.dst.dims[3], kw, strideW,
                                    dilationW, padLeft, "width");
  p.src.normalizeStrides();
  p.strides = {strideH, strideW};
  p.dilates = {dilationH - 1, dilationW - 1};
  p.padL = {padTop, padLeft};
  p.padR = {padBottom, padRight};
  const Operand &written = p.pooled ? p.out : p.dst;
  p.forceSrc = overlaps(p.src, written);
  p.forceWeights = overlaps(p.weights, written);
  p.forceBias = p.hasBias && overlaps(p.bias, written);

  // Scans of the inputs (O(input), against the convolution's O(input * F *
  // KH * KW); a constant filter is scanned once) decide whether the fast
  // kernels are exact for this data.
  // A recorded bound stands in for a scan (see the file comment).
  bool needSrcScan = p.act == LATHE_ACT_RELU || p.pooled || wantsWinograd(p);
  // The residual (the output's contents) also feeds the activation.
  float residualMax = residualBound;
  if (p.accumulate && p.act == LATHE_ACT_RELU && residualMax < 0.f)
    residualMax = maxAbs(out);
  float srcMax = srcBound, biasMax = -1.f;
  bool anyPadding = padTop || padLeft || padBottom || padRight;
  ScratchBuffer paddedSrc;
  if (needSrcScan || anyPadding) {
    float wMax = operandMaxAbs(filter, p.constW);
    if (needSrcScan) {
      if (srcMax < 0.f ||
          (wantsWinograd(p) && !winogradIsSafe(srcMax, wMax, c)))
        srcMax = maxAbs(in);
      biasMax = p.hasBias ? maxAbs(p.bias.view()) : 0.f;
      p.nonFinite = !allFinite(srcMax) || !allFinite(wMax) ||
                    !allFinite(biasMax) ||
                    !allFinite(std::max(residualMax, 0.f));
      p.noWinograd = !winogradIsSafe(srcMax, wMax, c);
    }
    if (anyPadding && !allFinite(wMax)) {
      // Padding is tensor.pad's zeros in the reference, multiplied by the
      // filter like any input (0 * NaN and 0 * Inf are NaN); oneDNN's
      // kernels skip it. With a NaN or Inf in the filter, pad explicitly.
      p.src = padExplicitly(p.src, p.padL, p.padR, paddedSrc);
      p.padL = p.padR = {0, 0};
      padTop = padLeft = padBottom = padRight = 0;
      p.forceSrc = false;
    }
  }

  p.bf16 = (currentSession().precision == LATHE_PRECISION_BF16 &&
            lathe_rt_cpu_has_bf16()) ||
           bf16In || bf16Out;
  if (int8Range) {
    p.in8 = int8InputFor(int8Range[0], int8Range[1], kKernel);
    p.int8 = tryInt8;
    p.bf16 = bf16In || bf16Out;
  }
  std::vector<int64_t> key = {flags,     strideH,     strideW,      dilationH,
                              dilationW, padTop,      padLeft,      padBottom,
                              padRight,  p.nonFinite, p.noWinograd, p.bf16};
  if (p.int8) {
    // The entry holds the filter quantized: one per address and input scale.
    key.insert(key.end(), {2 + p.in8.isSigned, bitCast<int32_t>(p.in8.scale),
                           reinterpret_cast<int64_t>(p.weights.data)});
  }
  appendKey(key, p.src);
  appendKey(key, p.weights);
  appendKey(key, p.dst);
  if (p.hasBias)
    appendKey(key, p.bias);
  key.push_back(p.forceSrc | p.forceWeights << 1 | p.forceBias << 2);
  if (p.pooled) {
    key.insert(key.end(), {p.pool.kind, p.pool.window[0], p.pool.window[1],
                           p.pool.strides[0], p.pool.strides[1],
                           p.pool.dilations[0], p.pool.dilations[1]});
    appendKey(key, p.out);
  }
  std::shared_ptr<Entry> e = cache().getOrCreate(key, [&] {
    if (p.int8)
      return buildPreferringBf16<Entry>(true, [&](bool useInt8) {
        // oneDNN fixes a primitive's thread count when it is created: each
        // attempt under the count of the kernel it would be.
        applyThreadsFor(useInt8);
        Problem q = p;
        q.int8 = useInt8;
        return buildBest(q);
      });
    return buildPreferringBf16<Entry>(p.bf16, [&](bool bf16) {
      Problem q = p;
      q.bf16 = bf16;
      return buildBest(q);
    });
  });
  // An int8 attempt that fell back to f32 runs with the f32 count.
  applyThreadsFor(e->int8);
  if (e->bf16)
    scope.setKind(pool ? pooledKindBf16 : profileKindBf16);
  if (e->int8)
    scope.setKind(pool ? pooledKindInt8 : profileKindInt8);
  if (int8Range)
    recordInt8Site(int8Site,
                   e->int8   ? e->int8Text
                   : tryInt8 ? "f32 (oneDNN has only a reference int8 kernel)"
                             : concat("f32 (", int8Obstacle, ")"));

  void *srcPtr = bindInput(p.src, e->src, kSrcStaged, kSrcReordered);
  void *wPtr;
  if (e->int8) {
    wPtr = e->int8W.get();
  } else if (p.constW && e->weights.reorder) {
    wPtr = e->packed.lookup(p.weights.data);
    if (!wPtr) {
      Binding stageOnly = e->weights;
      stageOnly.reorder = false;
      void *src = bindInput(p.weights, stageOnly, kWStaged, kWReordered);
      wPtr = e->packed.pack(p.weights.data, static_cast<float *>(src),
                            e->weights.userMd, e->weights.primMd);
    }
  } else {
    wPtr = bindInput(p.weights, e->weights, kWStaged, kWReordered);
  }
  void *dstPtr = p.dst.data;
  if (e->dst.reorder || p.pooled) {
    dstPtr = threadScratch(kDst, e->dst.primMd.get_size());
    // The sum post-op reads the residual from the primitive's destination.
    if (p.accumulate)
      reorder(e->dst.userMd, p.dst.data, e->dst.primMd, dstPtr);
  }
  dnnl::engine &engine = cpuEngine();
  {
    BoundArgs::Use args(e->args);
    args.bind(DNNL_ARG_SRC, e->src.primMd, srcPtr);
    args.bind(DNNL_ARG_WEIGHTS, e->weights.primMd, wPtr);
    args.bind(DNNL_ARG_DST, e->dst.primMd, dstPtr);
    if (p.hasBias && e->int8) {
      // oneDNN scales the bias with the product: hand it bias / scale.
      auto *scaled = static_cast<float *>(
          threadScratch(kBiasReordered, e->outScales.size() * sizeof(float)));
      for (size_t j = 0; j < e->outScales.size(); ++j)
        scaled[j] =
            p.bias.data[int64_t(j) * p.bias.strides[0]] / e->outScales[j];
      args.bind(DNNL_ARG_BIAS, e->bias.primMd, scaled);
    } else if (p.hasBias) {
      args.bind(DNNL_ARG_BIAS, e->bias.primMd,
                bindInput(p.bias, e->bias, kBiasStaged, kBiasReordered));
    }
    UserScratchpad scratchpad(e->convScratchMd);
    scratchpad.addTo(args);
    e->prim.execute(cpuStream(), args.map());
    // Done before the scratchpad and the entry's memory objects are let go.
    cpuStream().wait();
  }
  // Without a bounding activation, finite inputs can still overflow to -Inf
  // (a window of -inf pools to -FLT_MAX) or, through GELU, to NaN: scan the
  // convolution's output then (O(output), 1/(C*KH*KW) of the convolution).
  bool bounded = p.act == LATHE_ACT_RELU || p.act == LATHE_ACT_SIGMOID ||
                 p.act == LATHE_ACT_TANH;
  if (p.pooled && !p.nonFinite && !bounded) {
    cpuStream().wait();
    MemRefView conv;
    conv.data = static_cast<float *>(dstPtr);
    conv.bf16 = p.dst.bf16;
    conv.rank = 1;
    conv.sizes[0] = static_cast<int64_t>(e->dst.primMd.get_size() /
                                         (conv.bf16 ? 2 : sizeof(float)));
    conv.strides[0] = 1;
    p.nonFinite = !allFinite(maxAbs(conv));
  }
  if (p.pooled && p.nonFinite) {
    // The convolution's output may hold NaN or Inf: pool it exactly from a
    // plain NCHW copy (oneDNN's pooling skips NaN).
    cpuStream().wait();
    memory::desc plainMd(p.dst.dims, memory::data_type::f32,
                         memory::format_tag::nchw);
    ScratchBuffer plain(plainMd.get_size());
    reorder(e->dst.primMd, dstPtr, plainMd, plain.get());
    Operand conv = p.dst;
    conv.data = plain.floats();
    conv.bf16 = false;
    conv.strides = denseStrides(p.dst.dims);
    exactMaxPool(conv, p.out, p.pool, /*accumulate=*/false);
    return;
  }
  if (p.pooled) {
    void *outPtr = p.out.data;
    if (e->out.reorder) {
      outPtr = threadScratch(kPooled, e->out.primMd.get_size());
    }
    std::unordered_map<int, memory> poolArgs = {
        {DNNL_ARG_SRC, memory(e->dst.primMd, engine, dstPtr)},
        {DNNL_ARG_DST, memory(e->out.primMd, engine, outPtr)}};
    UserScratchpad poolScratchpad(e->poolScratchMd);
    poolScratchpad.addTo(poolArgs, engine);
    e->pool.execute(cpuStream(), poolArgs);
    cpuStream().wait();
    if (e->out.reorder)
      runReorder(e->out, /*toUser=*/true, outPtr, p.out.data);
    return;
  }
  cpuStream().wait();
  if (e->dst.reorder)
    runReorder(e->dst, /*toUser=*/true, dstPtr, p.dst.data);
  recordOutputBound(p, *e, srcMax, biasMax, p.accumulate ? residualMax : 0.f);
}

} // namespace

extern "C" void
lathe_rt_conv2d_f32(int64_t rankIn, void *in, int64_t rankFilter, void *filter,
                    int64_t rankBias, void *bias, int64_t rankOut, void *out,
                    int64_t layout, int64_t strideH, int64_t strideW,
                    int64_t padTop, int64_t padLeft, int64_t dilationH,
                    int64_t dilationW, int64_t flags) {
  guardKernel(kKernel, [&] {
    conv2d(rankIn, in, rankFilter, filter, rankBias, bias, rankOut, out, layout,
           strideH, strideW, padTop, padLeft, dilationH, dilationW, flags,
           /*pool=*/nullptr);
  });
}

extern "C" void lathe_rt_conv2d_pool_f32(
    int64_t rankIn, void *in, int64_t rankFilter, void *filter,
    int64_t rankBias, void *bias, int64_t rankOut, void *out, int64_t layout,
    int64_t strideH, int64_t strideW, int64_t padTop, int64_t padLeft,
    int64_t dilationH, int64_t dilationW, int64_t flags, int64_t poolKind,
    int64_t poolWindowH, int64_t poolWindowW, int64_t poolStrideH,
    int64_t poolStrideW, int64_t poolDilationH, int64_t poolDilationW) {
  guardKernel("lathe_rt_conv2d_pool_f32", [&] {
    PoolWindow pool = checkPoolWindow(
        poolKind, poolWindowH, poolWindowW, poolStrideH, poolStrideW,
        poolDilationH, poolDilationW, "lathe_rt_conv2d_pool_f32");
    conv2d(rankIn, in, rankFilter, filter, rankBias, bias, rankOut, out, layout,
           strideH, strideW, padTop, padLeft, dilationH, dilationW, flags,
           &pool);
  });
}

extern "C" void
lathe_rt_conv2d_int8_f32(int64_t rankIn, void *in, int64_t rankFilter,
                         void *filter, int64_t rankBias, void *bias,
                         int64_t rankOut, void *out, float lo, float hi,
                         int64_t layout, int64_t strideH, int64_t strideW,
                         int64_t padTop, int64_t padLeft, int64_t dilationH,
                         int64_t dilationW, int64_t flags, int64_t site) {
  guardKernel("lathe_rt_conv2d_int8_f32", [&] {
    float range[2] = {lo, hi};
    conv2d(rankIn, in, rankFilter, filter, rankBias, bias, rankOut, out, layout,
           strideH, strideW, padTop, padLeft, dilationH, dilationW, flags,
           /*pool=*/nullptr, range, site);
  });
}

extern "C" void lathe_rt_conv2d_pool_int8_f32(
    int64_t rankIn, void *in, int64_t rankFilter, void *filter,
    int64_t rankBias, void *bias, int64_t rankOut, void *out, float lo,
    float hi, int64_t layout, int64_t strideH, int64_t strideW, int64_t padTop,
    int64_t padLeft, int64_t dilationH, int64_t dilationW, int64_t flags,
    int64_t poolKind, int64_t poolWindowH, int64_t poolWindowW,
    int64_t poolStrideH, int64_t poolStrideW, int64_t poolDilationH,
    int64_t poolDilationW, int64_t site) {
  guardKernel("lathe_rt_conv2d_pool_int8_f32", [&] {
    PoolWindow pool = checkPoolWindow(
        poolKind, poolWindowH, poolWindowW, poolStrideH, poolStrideW,
        poolDilationH, poolDilationW, "lathe_rt_conv2d_pool_int8_f32");
    float range[2] = {lo, hi};
    conv2d(rankIn, in, rankFilter, filter, rankBias, bias, rankOut, out, layout,
           strideH, strideW, padTop, padLeft, dilationH, dilationW, flags,
           &pool, range, site);
  });
}

// The typed entry points of lathe/runtime/Bf16.h.
#define LATHE_BF16_CONV(NAME, BITS)                                            \
  extern "C" void NAME(                                                        \
      int64_t rankIn, void *in, int64_t rankFilter, void *filter,              \
      int64_t rankBias, void *bias, int64_t rankOut, void *out,                \
      int64_t layout, int64_t strideH, int64_t strideW, int64_t padTop,        \
      int64_t padLeft, int64_t dilationH, int64_t dilationW, int64_t flags) {  \
    lathe_rt_conv2d_f32(rankIn, in, rankFilter, filter, rankBias, bias,        \
                        rankOut, out, layout | (BITS), strideH, strideW,       \
                        padTop, padLeft, dilationH, dilationW, flags);         \
  }                                                                            \
  extern "C" void NAME##_pool(                                                 \
      int64_t rankIn, void *in, int64_t rankFilter, void *filter,              \
      int64_t rankBias, void *bias, int64_t rankOut, void *out,                \
      int64_t layout, int64_t strideH, int64_t strideW, int64_t padTop,        \
      int64_t padLeft, int64_t dilationH, int64_t dilationW, int64_t flags,    \
      int64_t poolKind, int64_t poolWindowH, int64_t poolWindowW,              \
      int64_t poolStrideH, int64_t poolStrideW, int64_t poolDilationH,         \
      int64_t poolDilationW) {                                                 \
    lathe_rt_conv2d_pool_f32(rankIn, in, rankFilter, filter, rankBias, bias,   \
                             rankOut, out, layout | (BITS), strideH, strideW,  \
                             padTop, padLeft, dilationH, dilationW, flags,     \
                             poolKind, poolWindowH, poolWindowW, poolStrideH,  \
                             poolStrideW, poolDilationH, poolDilationW);       \
  }
LATHE_BF16_CONV(lathe_rt_conv2d_bf16_f32, LATHE_CONV_BF16_INPUT)
LATHE_BF16_CONV(lathe_rt_conv2d_f32_bf16, LATHE_CONV_BF16_OUTPUT)
LATHE_BF16_CONV(lathe_rt_conv2d_bf16_bf16,
                LATHE_CONV_BF16_INPUT | LATHE_CONV_BF16_OUTPUT)
#undef LATHE_BF16_CONV

float lathe::rt::recordedBound(const Operand &view) {
  return convBounds().lookup(view);
}

void lathe::rt::forgetBounds(const Operand &written) {
  convBounds().forget(written);
}

void lathe::rt::recordBound(const Operand &written, float bound) {
  convBounds().record(written, bound);
}

void lathe::rt::recordRoundedBound(const Operand &written, double exact,
                                   double terms, bool bf16, double factor) {
  double margin =
      (1 + (terms + 3) * 0x1p-23) * (bf16 ? 1 + 0x1p-6 : 1.0) * factor;
  double bound = exact * margin;
  if (bound <= double(std::numeric_limits<float>::max()) / 16)
    recordBound(written, static_cast<float>(bound));
}
