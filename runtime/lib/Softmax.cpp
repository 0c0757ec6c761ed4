//===- Softmax.cpp - Softmax forward inference on oneDNN ------------------===//
//
// oneDNN's softmax_v2 takes separate source and destination layouts, so a
// strided input and output are used as they are; a layout oneDNN has no
// implementation for is staged through a dense copy instead. The output may
// be bf16 (lathe_rt_softmax_f32_bf16: attention's probabilities for a bf16
// P·V product, lathe-cpu-bf16-activations): the kernel rounds its f32
// result once as it writes it.
//
//===----------------------------------------------------------------------===//

#include "Dnnl.h"
#include "Parallel.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

using namespace lathe::rt;
using dnnl::memory;

namespace {

constexpr const char *kKernel = "lathe_rt_softmax_f32";
constexpr const char *kMaskedKernel = "lathe_rt_masked_softmax_f32";

struct Entry {
  dnnl::softmax_v2_forward prim;
  memory::desc inMd, outMd, scratchMd;
  bool copyIn = false, copyOut = false;
  bool reference = false;
};

/// The current session's cache (see Session.h).
PrimitiveCache<Entry> &cache() {
  return currentSession().cache<PrimitiveCache<Entry>>(CacheSlot::Softmax);
}

Operand toOperand(const MemRefView &view) {
  Operand op;
  op.data = view.data;
  op.bf16 = view.bf16;
  op.dims.assign(view.sizes.begin(), view.sizes.begin() + view.rank);
  op.strides.assign(view.strides.begin(), view.strides.begin() + view.rank);
  op.normalizeStrides();
  return op;
}

std::shared_ptr<Entry> build(const Operand &in, const Operand &out, int axis,
                             bool forceIn, bool allDense) {
  auto e = std::make_shared<Entry>();
  e->copyIn =
      forceIn || !in.hasUsableStrides() || (allDense && !in.isDenseRowMajor());
  e->copyOut = !out.hasUsableStrides() || (allDense && !out.isDenseRowMajor());
  e->inMd = e->copyIn ? in.denseDesc() : in.desc();
  e->outMd = e->copyOut ? out.denseDesc() : out.desc();
  dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference,
                                      dnnl::algorithm::softmax_accurate,
                                      e->inMd, e->outMd, axis);
  dnnl::softmax_v2_forward::primitive_desc pd(desc, userScratchpadAttr(),
                                              cpuEngine());
  e->reference = isReference(pd);
  e->scratchMd = pd.scratchpad_desc();
  e->prim = dnnl::softmax_v2_forward(pd);
  return e;
}

/// Softmax along `axis` as the reference pipeline computes it (row maximum
/// with NaN winning, subtract, exp, sum, divide) in scalar loops: a row with
/// NaN or +Inf, or of -inf only, is NaN. oneDNN's kernel skips NaN, so
/// inputs holding NaN or +Inf, or a row of -inf only, take this path. `in` may
/// be `out` exactly.
void exactSoftmax(const MemRefView &in, const MemRefView &out, int64_t axis) {
  int64_t len = in.sizes[axis];
  std::vector<double> row(static_cast<size_t>(len));
  std::array<int64_t, LATHE_MAX_RANK> index{};
  int64_t rows = in.numel() / len;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t inOff = 0, outOff = 0;
    for (int64_t d = 0; d < in.rank; ++d) {
      inOff += index[d] * in.strides[d];
      outOff += index[d] * out.strides[d];
    }
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < len; ++j) {
      row[j] = in.data[inOff + j * in.strides[axis]];
      m = std::isnan(row[j]) || std::isnan(m) ? row[j] + m
                                              : std::max(m, row[j]);
    }
    double sum = 0;
    for (int64_t j = 0; j < len; ++j)
      sum += row[j] = std::exp(row[j] - m);
    for (int64_t j = 0; j < len; ++j)
      out.data[outOff + j * out.strides[axis]] =
          static_cast<float>(row[j] / sum);
    // Next row: the multi-index over every dimension but `axis`.
    for (int64_t d = in.rank; d-- > 0;) {
      if (d == axis)
        continue;
      if (++index[d] < in.sizes[d])
        break;
      index[d] = 0;
    }
  }
}

/// Whether oneDNN's kernel could differ from the reference on `in`: a NaN or
/// +Inf anywhere, or a row (along `axis`) with no finite value. -inf
/// elsewhere is fine, and common (masked and causal attention): exp(-inf -
/// row max) is 0 in both.
bool needsExactSoftmax(const MemRefView &in, int64_t axis) {
  int64_t len = in.sizes[axis];
  std::array<int64_t, LATHE_MAX_RANK> index{};
  int64_t rows = in.numel() / len;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t off = 0;
    for (int64_t d = 0; d < in.rank; ++d)
      off += index[d] * in.strides[d];
    bool anyFinite = false;
    for (int64_t j = 0; j < len; ++j) {
      float v = in.data[off + j * in.strides[axis]];
      if (std::isnan(v) || v == std::numeric_limits<float>::infinity())
        return true;
      anyFinite |= std::isfinite(v);
    }
    if (!anyFinite)
      return true;
    for (int64_t d = in.rank; d-- > 0;) {
      if (d == axis)
        continue;
      if (++index[d] < in.sizes[d])
        break;
      index[d] = 0;
    }
  }
  return false;
}

/// Checks that `in` and `out` have one shape and `axis` is in range; returns
/// the axis made non-negative, or nothing for a 0-d softmax (out = 1, done).
std::optional<int64_t> checkSoftmaxOperands(const MemRefView &inView,
                                            const MemRefView &outView,
                                            int64_t axis) {
  bool same = inView.rank == outView.rank;
  for (int64_t i = 0; same && i < inView.rank; ++i)
    same = inView.sizes[i] == outView.sizes[i];
  if (!same)
    fail(LATHE_ERR_SHAPE, "input ", shapeString(inView), " and output ",
         shapeString(outView), " differ in shape");
  int64_t rank = inView.rank;
  if (rank == 0) {
    // Softmax of a single value along no axis.
    if (axis != 0 && axis != -1)
      fail(LATHE_ERR_INVALID, "axis ", axis,
           " is out of range for a 0-d input");
    if (outView.bf16)
      *reinterpret_cast<uint16_t *>(outView.data) = floatToBf16(1.f);
    else
      *outView.data = 1.f;
    return std::nullopt;
  }
  if (axis < -rank || axis >= rank)
    fail(LATHE_ERR_INVALID, "axis ", axis, " is out of range for input ",
         shapeString(inView));
  return axis < 0 ? axis + rank : axis;
}

/// out = softmax(in) along `axis` (in range, non-negative) on oneDNN, or on
/// the exact path when the data needs it.
void runSoftmax(const MemRefView &inView, const MemRefView &outView,
                int64_t axis) {
  if (inView.numel() == 0)
    return;

  Operand in = toOperand(inView), out = toOperand(outView);
  if (!out.hasUsableStrides())
    fail(LATHE_ERR_INVALID, "output ", shapeString(outView),
         " has overlapping or non-positive strides");
  // Exactly in place is fine; a partial overlap is not.
  bool forceIn =
      overlaps(in, out) && !(in.data == out.data && in.strides == out.strides);

  if (!allFinite(maxAbs(inView)) && needsExactSoftmax(inView, axis)) {
    ScratchBuffer staged;
    MemRefView from = inView;
    if (forceIn) {
      staged = ScratchBuffer(static_cast<size_t>(in.numel()) * sizeof(float));
      from = in.denseView(staged.floats());
      copyStrided(inView, from);
    }
    if (!outView.bf16) {
      exactSoftmax(from, outView, axis);
      return;
    }
    // In f32, then rounded to the bf16 output.
    Operand wide = out;
    wide.bf16 = false;
    ScratchBuffer result(static_cast<size_t>(out.numel()) * sizeof(float));
    MemRefView dense = wide.denseView(result.floats());
    exactSoftmax(from, dense, axis);
    copyStrided(dense, outView);
    return;
  }

  std::vector<int64_t> key = {axis, forceIn};
  appendKey(key, in);
  appendKey(key, out);
  std::shared_ptr<Entry> e = cache().getOrCreate(key, [&] {
    return buildPreferringOptimized<Entry>([&](bool allDense) {
      return build(in, out, static_cast<int>(axis), forceIn, allDense);
    });
  });

  ScratchBuffer inScratch, outScratch;
  float *inPtr = in.data;
  if (e->copyIn) {
    inScratch = ScratchBuffer(static_cast<size_t>(in.numel()) * sizeof(float));
    copyStrided(in.view(), in.denseView(inScratch.floats()));
    inPtr = inScratch.floats();
  }
  float *outPtr = out.data;
  if (e->copyOut) {
    outScratch =
        ScratchBuffer(static_cast<size_t>(out.numel()) * sizeof(float));
    outPtr = outScratch.floats();
  }
  dnnl::engine &engine = cpuEngine();
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, memory(e->inMd, engine, inPtr)},
      {DNNL_ARG_DST, memory(e->outMd, engine, outPtr)}};
  UserScratchpad scratchpad(e->scratchMd);
  scratchpad.addTo(args, engine);
  e->prim.execute(cpuStream(), args);
  cpuStream().wait();
  if (e->copyOut)
    copyStrided(out.denseView(outPtr), out.view());
}

void softmax(int64_t rankIn, void *inDesc, int64_t rankOut, void *outDesc,
             int64_t axis, bool bf16Out) {
  static const int profileKind = getProfileKind("softmax");
  static const int profileKindBf16 = getProfileKind("softmax_bf16");
  ProfileScope scope(bf16Out ? profileKindBf16 : profileKind);
  if (traceEnabled())
    scope.setDetail(describeOperands({{rankIn, inDesc}, {rankOut, outDesc}}));
  applyThreadSettings();

  MemRefView inView = decodeMemRef(rankIn, inDesc, "input");
  MemRefView outView = decodeMemRef(rankOut, outDesc, "output", bf16Out);
  if (std::optional<int64_t> a = checkSoftmaxOperands(inView, outView, axis))
    runSoftmax(inView, outView, *a);
}

/// A boolean (i1, one byte per element) mask read through a broadcast onto
/// the input's dimensions: element (i0, ..., in) of the input reads byte
/// data[sum_d index_d * strides[d]].
struct MaskView {
  const uint8_t *data = nullptr;
  std::array<int64_t, LATHE_MAX_RANK> strides{};
};

MaskView broadcastMask(int64_t rankMask, void *maskDesc, int64_t maskDims,
                       const MemRefView &in) {
  MemRefView view = decodeMemRef(rankMask, maskDesc, "mask");
  // decodeMemRef counts the offset in floats; the mask's elements are bytes.
  const auto *words = static_cast<const int64_t *>(maskDesc);
  const uint8_t *aligned;
  std::memcpy(&aligned, &words[1], sizeof(aligned));
  MaskView mask;
  mask.data = aligned ? aligned + words[2] : nullptr;
  for (int64_t i = 0; i < view.rank; ++i) {
    int64_t d = (maskDims >> (4 * i)) & 0xF;
    if (d == 0xF) {
      if (view.sizes[i] != 1)
        fail(LATHE_ERR_SHAPE, "mask ", shapeString(view), " dimension ", i,
             " is broadcast but has size ", view.sizes[i]);
      continue;
    }
    if (d >= in.rank || view.sizes[i] != in.sizes[d])
      fail(LATHE_ERR_SHAPE, "mask ", shapeString(view), " dimension ", i,
           " does not match input ", shapeString(in), " dimension ", d);
    mask.strides[d] += view.strides[i];
  }
  if (!mask.data && in.numel() != 0)
    fail(LATHE_ERR_INVALID, "mask has a null data pointer");
  return mask;
}

/// out[r] = mask[r] == maskedWhen ? fill : in[r] for the rows [begin, end) of
/// the last dimension (rows numbered over the leading dimensions, row-major).
void applyMaskRows(const MemRefView &in, const MaskView &mask,
                   const MemRefView &out, float fill, bool maskedWhen,
                   int64_t begin, int64_t end) {
  int64_t rank = in.rank, last = rank - 1, len = in.sizes[last];
  int64_t is = in.strides[last], os = out.strides[last],
          ms = mask.strides[last];
  for (int64_t r = begin; r < end; ++r) {
    int64_t io = 0, oo = 0, mo = 0;
    for (int64_t d = last, rest = r; d-- > 0;) {
      int64_t i = rest % in.sizes[d];
      rest /= in.sizes[d];
      io += i * in.strides[d];
      oo += i * out.strides[d];
      mo += i * mask.strides[d];
    }
    const float *x = in.data + io;
    float *y = out.data + oo;
    const uint8_t *m = mask.data + mo;
    if (is == 1 && os == 1 && ms == 1) {
      for (int64_t j = 0; j < len; ++j)
        y[j] = ((m[j] & 1) != 0) == maskedWhen ? fill : x[j];
      continue;
    }
    for (int64_t j = 0; j < len; ++j)
      y[j * os] = ((m[j * ms] & 1) != 0) == maskedWhen ? fill : x[j * is];
  }
}

/// Rows per block of the fused kernel: a block of masked rows is still in
/// the core's cache when the softmax reads it back.
constexpr int64_t kMaskedBlockBytes = 256 * 1024;

void maskedSoftmax(int64_t rankIn, void *inDesc, int64_t rankMask,
                   void *maskDesc, int64_t rankOut, void *outDesc, float fill,
                   int64_t axis, int64_t maskDims, bool maskedWhen) {
  static const int profileKind = getProfileKind("softmax");
  ProfileScope scope(profileKind);
  if (traceEnabled())
    scope.setDetail(describeOperands(
        {{rankIn, inDesc}, {rankMask, maskDesc}, {rankOut, outDesc}}));
  applyThreadSettings();

  MemRefView inView = decodeMemRef(rankIn, inDesc, "input");
  MemRefView outView = decodeMemRef(rankOut, outDesc, "output");
  std::optional<int64_t> a = checkSoftmaxOperands(inView, outView, axis);
  if (!a || inView.numel() == 0)
    return;
  MaskView mask = broadcastMask(rankMask, maskDesc, maskDims, inView);
  // Rows of `in` read later may not be overwritten first: a partial overlap
  // is staged (exactly in place is fine, element for element).
  Operand in = toOperand(inView), out = toOperand(outView);
  ScratchBuffer staged;
  if (overlaps(in, out) &&
      !(in.data == out.data && in.strides == out.strides)) {
    staged = ScratchBuffer(static_cast<size_t>(in.numel()) * sizeof(float));
    MemRefView dense = in.denseView(staged.floats());
    copyStrided(inView, dense);
    inView = dense;
  }
  int64_t rank = inView.rank, len = inView.sizes[rank - 1];
  int64_t rows = inView.numel() / len;
  // Softmax along the last dimension of a row-major output: blocks of rows,
  // each masked and normalised while in cache, on the session's threads.
  if (*a == rank - 1 && outView.isContiguous() && rows > 1) {
    int64_t blockRows = std::max<int64_t>(
        1, kMaskedBlockBytes / (len * static_cast<int64_t>(sizeof(float))));
    int64_t blocks = (rows + blockRows - 1) / blockRows;
    parallelChunks(
        blocks, 1, inView.numel() * 3 * sizeof(float),
        [&](int64_t begin, int64_t end) {
          for (int64_t b = begin; b < end; ++b) {
            int64_t r0 = b * blockRows, r1 = std::min(rows, r0 + blockRows);
            applyMaskRows(inView, mask, outView, fill, maskedWhen, r0, r1);
            MemRefView block;
            block.rank = 2;
            block.data = outView.data + r0 * len;
            block.sizes = {r1 - r0, len};
            block.strides = {len, 1};
            runSoftmax(block, block, 1);
          }
        });
    return;
  }
  applyMaskRows(inView, mask, outView, fill, maskedWhen, 0, rows);
  runSoftmax(outView, outView, *a);
}

} // namespace

extern "C" void lathe_rt_softmax_f32(int64_t rankIn, void *in, int64_t rankOut,
                                     void *out, int64_t axis) {
  guardKernel(kKernel, [&] { softmax(rankIn, in, rankOut, out, axis, false); });
}

extern "C" void lathe_rt_softmax_f32_bf16(int64_t rankIn, void *in,
                                          int64_t rankOut, void *out,
                                          int64_t axis) {
  guardKernel(kKernel, [&] { softmax(rankIn, in, rankOut, out, axis, true); });
}

extern "C" void lathe_rt_masked_softmax_f32(
    int64_t rankIn, void *in, int64_t rankMask, void *mask, int64_t rankOut,
    void *out, float fill, int64_t axis, int64_t maskDims, int64_t maskedWhen) {
  guardKernel(kMaskedKernel, [&] {
    maskedSoftmax(rankIn, in, rankMask, mask, rankOut, out, fill, axis,
                  maskDims, maskedWhen != 0);
  });
}
