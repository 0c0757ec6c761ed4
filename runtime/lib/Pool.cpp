//===- Pool.cpp - 2-D max pooling on oneDNN -------------------------------===//
//
// linalg.pooling_{nchw,nhwc}_max: out[n,c,h,w] = max over the window of
// in[n, c, h*sh + kh*dh, w*sw + kw*dw]. Data is described to oneDNN in its
// logical NCHW order with the caller's strides (NHWC needs no copy). Input
// rows or columns that no window reads are trimmed from the view.
// lathe_rt_pool2d_padded_f32 reads the input as if surrounded by -inf
// (lathe.max_pool2d): oneDNN's padding, which no window takes. Both also
// take channel-blocked operands ([N, C/16, H, W, 16], oneDNN's nChw16c, or
// [N, 1, H, W, C]) between chained convolutions: oneDNN's jit pooling took
// 0.26 ms for ResNet-50's 64x112x112 stem pooling on nChw16c against 0.44 ms
// on NCHW (fastest of 20 calls, 2 threads, loaded machine), and the layout
// conversions around it go. Primitives are created once per shape.
//
//===----------------------------------------------------------------------===//

#include "Pool.h"

#include "lathe/runtime/Bf16.h"
#include "lathe/runtime/PoolWindow.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

using namespace lathe::rt;
using dnnl::memory;

namespace {

constexpr const char *kKernel = "lathe_rt_pool2d_f32";
constexpr const char *kPaddedKernel = "lathe_rt_pool2d_padded_f32";
constexpr int64_t kKnownFlags = LATHE_POOL_ACCUMULATE | LATHE_POOL_BF16;

struct Entry {
  dnnl::pooling_v2_forward prim;
  memory::desc srcMd, dstMd, scratchMd;
  bool stageSrc = false;
};

/// The current session's cache (see Session.h).
PrimitiveCache<Entry> &cache() {
  return currentSession().cache<PrimitiveCache<Entry>>(CacheSlot::Pool);
}

/// out = max(out, pooled), element by element (LATHE_POOL_ACCUMULATE).
void accumulateMax(const Operand &out, const float *pooled) {
  const Dims &d = out.dims, &s = out.strides;
  int64_t i = 0;
  for (int64_t a = 0; a < d[0]; ++a)
    for (int64_t b = 0; b < d[1]; ++b)
      for (int64_t h = 0; h < d[2]; ++h)
        for (int64_t w = 0; w < d[3]; ++w, ++i) {
          float &o = out.data[a * s[0] + b * s[1] + h * s[2] + w * s[3]];
          float v = pooled[i];
          // Like arith.maximumf: NaN wins.
          o = std::isnan(v) || v > o ? v : o;
        }
}

/// Offset (in elements) of element [n, c, h, w] of a logical NCHW operand.
int64_t elementOffset(const Operand &op, int64_t n, int64_t c, int64_t h,
                      int64_t w) {
  const Dims &s = op.strides;
  int64_t channel = op.block ? (c / op.block) * s[1] + c % op.block : c * s[1];
  return n * s[0] + channel + h * s[2] + w * s[3];
}

/// Element [n, c, h, w] of a logical NCHW operand (f32 or bf16), as f32.
float element(const Operand &op, int64_t n, int64_t c, int64_t h, int64_t w) {
  int64_t i = elementOffset(op, n, c, h, w);
  return op.bf16 ? bf16ToFloat(reinterpret_cast<const uint16_t *>(op.data)[i])
                 : op.data[i];
}

void setElement(const Operand &op, int64_t n, int64_t c, int64_t h, int64_t w,
                float v) {
  int64_t i = elementOffset(op, n, c, h, w);
  if (op.bf16)
    reinterpret_cast<uint16_t *>(op.data)[i] = floatToBf16(v);
  else
    op.data[i] = v;
}

/// arith.maximumf: NaN wins.
float maximumf(float a, float b) {
  return std::isnan(a) || std::isnan(b) ? a + b : std::max(a, b);
}

void pool2d(const char *kernel, int64_t rankIn, void *inDesc, int64_t rankOut,
            void *outDesc, int64_t layout, int64_t kind, int64_t windowH,
            int64_t windowW, int64_t strideH, int64_t strideW,
            int64_t dilationH, int64_t dilationW, bool padded, int64_t padTop,
            int64_t padLeft, int64_t flags) {
  static const int profileKind = getProfileKind("pool2d");
  ProfileScope scope(profileKind);
  if (traceEnabled())
    scope.setDetail(describeOperands({{rankIn, inDesc}, {rankOut, outDesc}}));

  if (flags & ~kKnownFlags)
    fail(LATHE_ERR_INVALID, "unknown flag bits 0x", std::hex,
         flags & ~kKnownFlags);
  constexpr int64_t kBlocked =
      LATHE_CONV_BLOCKED_INPUT | LATHE_CONV_BLOCKED_OUTPUT;
  // The input was last written by a convolution or pooling that recorded a
  // bound on it (see Pool.h's recordedBound).
  bool inputFromConv = layout & LATHE_CONV_INPUT_FROM_CONV;
  layout &= ~int64_t(LATHE_CONV_INPUT_FROM_CONV);
  if (layout != 0 && layout != 1 && layout != kBlocked)
    fail(LATHE_ERR_INVALID, "layout ", layout,
         " is neither 0 (NCHW), 1 (NHWC) nor ", kBlocked,
         " (both channel-blocked)");
  bool blocked = layout == kBlocked;
  PoolWindow pw = checkPoolWindow(kind, windowH, windowW, strideH, strideW,
                                  dilationH, dilationW, kernel);
  if (padTop < 0 || padLeft < 0)
    fail(LATHE_ERR_INVALID, "padding (", padTop, ",", padLeft,
         ") must be >= 0");
  pw.padLow = {padTop, padLeft};
  bool bf16 = flags & LATHE_POOL_BF16;
  MemRefView in = decodeMemRef(rankIn, inDesc, "input", bf16);
  MemRefView out = decodeMemRef(rankOut, outDesc, "output", bf16);
  if (in.rank != (blocked ? 5 : 4) || out.rank != in.rank)
    fail(LATHE_ERR_SHAPE, "input ", shapeString(in), " and output ",
         shapeString(out), " must both have rank ", blocked ? 5 : 4);
  std::array<int, 4> order = layout == 1 ? std::array<int, 4>{0, 3, 1, 2}
                                         : std::array<int, 4>{0, 1, 2, 3};
  Operand src =
      blocked ? blockedOperand(in, "blocked input") : permuted(in, order);
  Operand dst =
      blocked ? blockedOperand(out, "blocked output") : permuted(out, order);
  if (blocked && src.block != dst.block)
    fail(LATHE_ERR_SHAPE, "input ", shapeString(in), " and output ",
         shapeString(out), " are blocked differently");
  if (src.dims[0] != dst.dims[0] || src.dims[1] != dst.dims[1])
    fail(LATHE_ERR_SHAPE, "input ", shapeString(in), " and output ",
         shapeString(out), " differ in batch or channels (",
         blocked       ? "blocked"
         : layout == 1 ? "NHWC"
                       : "NCHW",
         ")");
  // Pooling does a few comparisons per element it reads: memory-bound, so
  // parallel from the input size from which the scans are too, not only by
  // its operations (which kept ResNet's 1.6 MB stem pooling on one thread:
  // 119 against 86 us).
  double ops = double(dst.numel()) * double(windowH) * double(windowW);
  double inBytes = double(src.numel()) * (bf16 ? 2 : 4);
  KernelThreads threads(inBytes >= double(kMinParallelScanBytes)
                            ? std::max(ops, kMinParallelFlops)
                            : ops);
  // Max pooling keeps input values: the input's bound holds for the output.
  float inBound = inputFromConv ? recordedBound(src) : -1.f;
  forgetBounds(dst);
  if (dst.numel() == 0)
    return;
  // oneDNN gives -FLT_MAX for a window of padding only; -inf padding gives
  // -inf (the exact path below).
  bool windowOfPadding = false;
  for (int dim = 0; dim < 2; ++dim) {
    int64_t need = pw.span(dim, dst.dims[2 + dim]);
    int64_t size = src.dims[2 + dim];
    if (!padded && need > size)
      fail(LATHE_ERR_SHAPE, "output ", shapeString(out), " reads ", need,
           dim == 0 ? " input rows" : " input columns", " but input ",
           shapeString(in), " has ", size);
    windowOfPadding |= !lathe::pool_window::everyWindowTakesInput(
        size, pw.padLow[dim], pw.window[dim], pw.strides[dim],
        pw.dilations[dim], dst.dims[2 + dim]);
    // Trim what no window reads; past the input is padding.
    int64_t read = std::clamp<int64_t>(need - pw.padLow[dim], 0, size);
    pw.padHigh[dim] = need - pw.padLow[dim] - read;
    src.dims[2 + dim] = read;
  }
  src.normalizeStrides();
  if (!dst.hasUsableStrides())
    fail(LATHE_ERR_INVALID, "output ", shapeString(out),
         " has overlapping or non-positive strides");
  bool accumulate = flags & LATHE_POOL_ACCUMULATE;
  if (accumulate && (blocked || bf16))
    fail(LATHE_ERR_INVALID, "LATHE_POOL_ACCUMULATE takes plain f32 operands, "
                            "not channel-blocked or bf16 ones");
  bool stageSrc = !src.hasUsableStrides() || overlaps(src, dst);
  // oneDNN skips NaN and turns a window of -inf into -FLT_MAX; data with
  // NaN or Inf (found by a vectorised scan) is pooled exactly instead.
  if (windowOfPadding || !allFinite(inBound >= 0.f ? inBound : maxAbs(in))) {
    ScratchBuffer staged;
    Operand from = src;
    if (stageSrc) {
      staged = ScratchBuffer(static_cast<size_t>(src.numel()) * sizeof(float));
      MemRefView dense = src.denseView(staged.floats());
      copyStrided(src.view(), dense);
      if (blocked) {
        from = blockedOperand(dense, "staged input");
      } else {
        from.data = staged.floats();
        from.strides = denseStrides(src.dims);
      }
    }
    exactMaxPool(from, dst, pw, accumulate);
    return;
  }

  std::vector<int64_t> key = {kind,     windowH,   windowW,   strideH,
                              strideW,  dilationH, dilationW, accumulate,
                              stageSrc, padTop,    padLeft};
  appendKey(key, src);
  appendKey(key, dst);
  std::shared_ptr<Entry> e = cache().getOrCreate(key, [&] {
    auto entry = std::make_shared<Entry>();
    entry->stageSrc = stageSrc;
    entry->srcMd = stageSrc ? src.denseDesc() : src.desc();
    entry->dstMd = accumulate ? dst.denseDesc() : dst.desc();
    auto pd = makePoolDesc(entry->srcMd, entry->dstMd, pw);
    entry->scratchMd = pd.scratchpad_desc();
    entry->prim = dnnl::pooling_v2_forward(pd);
    return entry;
  });

  ScratchBuffer staged, pooled;
  void *srcPtr = src.data;
  if (e->stageSrc) {
    staged = ScratchBuffer(static_cast<size_t>(src.numel()) * sizeof(float));
    copyStrided(src.view(), src.denseView(staged.floats()));
    srcPtr = staged.get();
  }
  void *dstPtr = dst.data;
  if (accumulate) {
    pooled = ScratchBuffer(static_cast<size_t>(dst.numel()) * sizeof(float));
    dstPtr = pooled.get();
  }
  dnnl::engine &engine = cpuEngine();
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, memory(e->srcMd, engine, srcPtr)},
      {DNNL_ARG_DST, memory(e->dstMd, engine, dstPtr)}};
  UserScratchpad scratchpad(e->scratchMd);
  scratchpad.addTo(args, engine);
  e->prim.execute(cpuStream(), args);
  cpuStream().wait();
  if (accumulate)
    accumulateMax(dst, pooled.floats());
  else if (inBound >= 0.f)
    recordBound(dst, inBound);
}

} // namespace

void lathe::rt::exactMaxPool(const Operand &src, const Operand &dst,
                             const PoolWindow &pw, bool accumulate) {
  const Dims &d = dst.dims;
  for (int64_t n = 0; n < d[0]; ++n)
    for (int64_t c = 0; c < d[1]; ++c)
      for (int64_t h = 0; h < d[2]; ++h)
        for (int64_t w = 0; w < d[3]; ++w) {
          float m = accumulate ? element(dst, n, c, h, w)
                               : -std::numeric_limits<float>::infinity();
          for (int64_t i = 0; i < pw.window[0]; ++i) {
            int64_t y = h * pw.strides[0] + i * pw.dilations[0] - pw.padLow[0];
            if (y < 0 || y >= src.dims[2])
              continue; // -inf padding
            for (int64_t j = 0; j < pw.window[1]; ++j) {
              int64_t x =
                  w * pw.strides[1] + j * pw.dilations[1] - pw.padLow[1];
              if (x >= 0 && x < src.dims[3])
                m = maximumf(m, element(src, n, c, y, x));
            }
          }
          setElement(dst, n, c, h, w, m);
        }
}

PoolWindow lathe::rt::checkPoolWindow(int64_t kind, int64_t windowH,
                                      int64_t windowW, int64_t strideH,
                                      int64_t strideW, int64_t dilationH,
                                      int64_t dilationW, const char *kernel) {
  (void)kernel;
  if (kind != LATHE_POOL_MAX)
    fail(LATHE_ERR_INVALID, "pooling kind ", kind,
         " is not supported (0 = max)");
  if (windowH < 1 || windowW < 1)
    fail(LATHE_ERR_INVALID, "pooling window (", windowH, ",", windowW,
         ") must be >= 1");
  if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1)
    fail(LATHE_ERR_INVALID, "pooling strides (", strideH, ",", strideW,
         ") and dilations (", dilationH, ",", dilationW, ") must be >= 1");
  PoolWindow pw;
  pw.kind = static_cast<int>(kind);
  pw.window = {windowH, windowW};
  pw.strides = {strideH, strideW};
  pw.dilations = {dilationH, dilationW};
  return pw;
}

dnnl::pooling_v2_forward::primitive_desc
lathe::rt::makePoolDesc(const memory::desc &src, const memory::desc &dst,
                        const PoolWindow &pw) {
  Dims dilates = {pw.dilations[0] - 1, pw.dilations[1] - 1};
  dnnl::pooling_v2_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, src,
      dst, pw.strides, pw.window, dilates, pw.padLow, pw.padHigh);
  return dnnl::pooling_v2_forward::primitive_desc(desc, userScratchpadAttr(),
                                                  cpuEngine());
}

extern "C" void lathe_rt_pool2d_f32(int64_t rankIn, void *in, int64_t rankOut,
                                    void *out, int64_t layout, int64_t kind,
                                    int64_t windowH, int64_t windowW,
                                    int64_t strideH, int64_t strideW,
                                    int64_t dilationH, int64_t dilationW,
                                    int64_t flags) {
  guardKernel(kKernel, [&] {
    pool2d(kKernel, rankIn, in, rankOut, out, layout, kind, windowH, windowW,
           strideH, strideW, dilationH, dilationW, /*padded=*/false, 0, 0,
           flags);
  });
}

extern "C" void
lathe_rt_pool2d_padded_f32(int64_t rankIn, void *in, int64_t rankOut, void *out,
                           int64_t layout, int64_t kind, int64_t windowH,
                           int64_t windowW, int64_t strideH, int64_t strideW,
                           int64_t dilationH, int64_t dilationW, int64_t padTop,
                           int64_t padLeft, int64_t flags) {
  guardKernel(kPaddedKernel, [&] {
    pool2d(kPaddedKernel, rankIn, in, rankOut, out, layout, kind, windowH,
           windowW, strideH, strideW, dilationH, dilationW, /*padded=*/true,
           padTop, padLeft, flags);
  });
}

extern "C" void lathe_rt_pool2d_padded_bf16(
    int64_t rankIn, void *in, int64_t rankOut, void *out, int64_t layout,
    int64_t kind, int64_t windowH, int64_t windowW, int64_t strideH,
    int64_t strideW, int64_t dilationH, int64_t dilationW, int64_t padTop,
    int64_t padLeft, int64_t flags) {
  lathe_rt_pool2d_padded_f32(rankIn, in, rankOut, out, layout, kind, windowH,
                             windowW, strideH, strideW, dilationH, dilationW,
                             padTop, padLeft, flags | LATHE_POOL_BF16);
}
