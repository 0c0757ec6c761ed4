//===- Softmax.cpp - Softmax forward inference on oneDNN ------------------===//
//
// oneDNN's softmax_v2 takes separate source and destination layouts, so a
// strided input and output are used as they are; a layout oneDNN has no
// implementation for is staged through a dense copy instead.
//
//===----------------------------------------------------------------------===//

#include "Dnnl.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

using namespace lathe::rt;
using dnnl::memory;

namespace {

constexpr const char *kKernel = "lathe_rt_softmax_f32";

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

void softmax(int64_t rankIn, void *inDesc, int64_t rankOut, void *outDesc,
             int64_t axis) {
  static const int profileKind = getProfileKind("softmax");
  ProfileScope scope(profileKind);
  if (traceEnabled())
    scope.setDetail(describeOperands({{rankIn, inDesc}, {rankOut, outDesc}}));
  applyThreadSettings();

  MemRefView inView = decodeMemRef(rankIn, inDesc, "input");
  MemRefView outView = decodeMemRef(rankOut, outDesc, "output");
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
    *outView.data = 1.f;
    return;
  }
  if (axis < -rank || axis >= rank)
    fail(LATHE_ERR_INVALID, "axis ", axis, " is out of range for input ",
         shapeString(inView));
  if (axis < 0)
    axis += rank;
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
    exactSoftmax(from, outView, axis);
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

} // namespace

extern "C" void lathe_rt_softmax_f32(int64_t rankIn, void *in, int64_t rankOut,
                                     void *out, int64_t axis) {
  guardKernel(kKernel, [&] { softmax(rankIn, in, rankOut, out, axis); });
}
