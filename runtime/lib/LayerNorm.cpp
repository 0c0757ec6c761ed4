//===- LayerNorm.cpp - Layer normalization on oneDNN ----------------------===//
//
// out[r, :] = (x[r, :] - mean_r) / sqrt(var_r + eps) * gamma + beta over the
// last dimension, as one oneDNN layer_normalization_forward (inference): one
// read and one write of the data. Leading dimensions fold into rows; views
// that are not dense row-major are staged through a dense copy.
//
//===----------------------------------------------------------------------===//

#include "Dnnl.h"

#include <cmath>
#include <cstring>

using namespace lathe::rt;
using dnnl::memory;

namespace {

constexpr const char *kKernel = "lathe_rt_layer_norm_f32";

struct Entry {
  dnnl::layer_normalization_forward prim;
  memory::desc dataMd, paramMd, scratchMd;
};

/// The current session's cache (see Session.h).
PrimitiveCache<Entry> &cache() {
  return currentSession().cache<PrimitiveCache<Entry>>(CacheSlot::LayerNorm);
}

/// The elements of `view` densely, in `scratch` unless already dense.
float *denseData(const MemRefView &view, ScratchBuffer &scratch) {
  if (view.isContiguous())
    return view.data;
  scratch = ScratchBuffer(static_cast<size_t>(view.numel()) * sizeof(float));
  MemRefView dense = view;
  int64_t stride = 1;
  dense.data = scratch.floats();
  for (int64_t i = view.rank; i-- > 0;) {
    dense.strides[i] = stride;
    stride *= view.sizes[i];
  }
  copyStrided(view, dense);
  return dense.data;
}

void layerNorm(int64_t rankX, void *xDesc, int64_t rankGamma, void *gammaDesc,
               int64_t rankBeta, void *betaDesc, int64_t rankOut, void *outDesc,
               float eps, int64_t flags) {
  static const int profileKind = getProfileKind("layer_norm");
  ProfileScope scope(profileKind);
  if (traceEnabled())
    scope.setDetail(describeOperands({{rankX, xDesc}, {rankOut, outDesc}}));
  applyThreadSettings();

  if (flags & ~int64_t(LATHE_LN_HAS_GAMMA | LATHE_LN_HAS_BETA))
    fail(LATHE_ERR_INVALID, "unknown flag bits 0x", std::hex,
         flags & ~int64_t(LATHE_LN_HAS_GAMMA | LATHE_LN_HAS_BETA));
  if (!std::isfinite(eps) || eps < 0.f)
    fail(LATHE_ERR_INVALID, "epsilon ", eps, " must be finite and >= 0");
  MemRefView x = decodeMemRef(rankX, xDesc, "input");
  MemRefView out = decodeMemRef(rankOut, outDesc, "output");
  if (x.rank < 1)
    fail(LATHE_ERR_SHAPE, "input ", shapeString(x), " must have rank >= 1");
  bool same = x.rank == out.rank;
  for (int64_t i = 0; same && i < x.rank; ++i)
    same = x.sizes[i] == out.sizes[i];
  if (!same)
    fail(LATHE_ERR_SHAPE, "input ", shapeString(x), " and output ",
         shapeString(out), " differ in shape");
  int64_t n = x.sizes[x.rank - 1];
  int64_t rows = n == 0 ? 0 : x.numel() / n;
  MemRefView params[2];
  bool has[2] = {(flags & LATHE_LN_HAS_GAMMA) != 0,
                 (flags & LATHE_LN_HAS_BETA) != 0};
  const char *names[2] = {"gamma", "beta"};
  int64_t ranks[2] = {rankGamma, rankBeta};
  void *descs[2] = {gammaDesc, betaDesc};
  for (int i = 0; i < 2; ++i) {
    if (!has[i])
      continue;
    params[i] = decodeMemRef(ranks[i], descs[i], names[i]);
    if (params[i].rank != 1 || params[i].sizes[0] != n)
      fail(LATHE_ERR_SHAPE, names[i], " ", shapeString(params[i]), " must be [",
           n, "] for input ", shapeString(x));
  }
  if (rows == 0)
    return;

  // A partially overlapping output would be read after it is written.
  ScratchBuffer xScratch, outScratch, gScratch, bScratch;
  float *xPtr = denseData(x, xScratch);
  bool outDense = out.isContiguous();
  float *outPtr =
      outDense && !(out.data != xPtr && out.data < xPtr + x.numel() &&
                    xPtr < out.data + out.numel())
          ? out.data
          : nullptr;
  if (!outPtr) {
    outScratch =
        ScratchBuffer(static_cast<size_t>(out.numel()) * sizeof(float));
    outPtr = outScratch.floats();
  }
  // A missing gamma / beta is simply not requested from oneDNN (use_scale
  // and use_shift are separate flags).
  float *gamma = has[0] ? denseData(params[0], gScratch) : nullptr;
  float *beta = has[1] ? denseData(params[1], bScratch) : nullptr;

  int32_t epsBits;
  std::memcpy(&epsBits, &eps, sizeof(epsBits));
  std::vector<int64_t> key = {rows, n, epsBits, flags};
  std::shared_ptr<Entry> e = cache().getOrCreate(key, [&] {
    auto entry = std::make_shared<Entry>();
    entry->dataMd =
        memory::desc({rows, n}, memory::data_type::f32, memory::format_tag::ab);
    entry->paramMd =
        memory::desc({n}, memory::data_type::f32, memory::format_tag::a);
    auto normFlags = dnnl::normalization_flags::none;
    if (gamma)
      normFlags |= dnnl::normalization_flags::use_scale;
    if (beta)
      normFlags |= dnnl::normalization_flags::use_shift;
    dnnl::layer_normalization_forward::desc desc(
        dnnl::prop_kind::forward_inference, entry->dataMd, eps, normFlags);
    dnnl::layer_normalization_forward::primitive_desc pd(
        desc, userScratchpadAttr(), cpuEngine());
    entry->scratchMd = pd.scratchpad_desc();
    entry->prim = dnnl::layer_normalization_forward(pd);
    return entry;
  });
  dnnl::engine &engine = cpuEngine();
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, memory(e->dataMd, engine, xPtr)},
      {DNNL_ARG_DST, memory(e->dataMd, engine, outPtr)}};
  if (gamma)
    args.emplace(DNNL_ARG_SCALE, memory(e->paramMd, engine, gamma));
  if (beta)
    args.emplace(DNNL_ARG_SHIFT, memory(e->paramMd, engine, beta));
  UserScratchpad scratchpad(e->scratchMd);
  scratchpad.addTo(args, engine);
  e->prim.execute(cpuStream(), args);
  cpuStream().wait();
  if (outPtr != out.data) {
    MemRefView dense = out;
    int64_t stride = 1;
    dense.data = outPtr;
    for (int64_t i = out.rank; i-- > 0;) {
      dense.strides[i] = stride;
      stride *= out.sizes[i];
    }
    copyStrided(dense, out);
  }
}

} // namespace

extern "C" void lathe_rt_layer_norm_f32(int64_t rankX, void *x,
                                        int64_t rankGamma, void *gamma,
                                        int64_t rankBeta, void *beta,
                                        int64_t rankOut, void *out, float eps,
                                        int64_t flags) {
  guardKernel(kKernel, [&] {
    layerNorm(rankX, x, rankGamma, gamma, rankBeta, beta, rankOut, out, eps,
              flags);
  });
}
