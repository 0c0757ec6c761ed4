//===- Int8.cpp - Calibration ranges and int8 helpers ---------------------===//
//
// See Int8.h. The ranges lathe_rt_observe_range_f32 records and the per-site
// texts of the int8 kernels live in a cache of the current session, so two
// modules (the calibration run and the int8 run) never see each other's.
//
//===----------------------------------------------------------------------===//

#include "Int8.h"
#include "Simd.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>

using namespace lathe::rt;

namespace {

struct SiteState : public SessionCache {
  std::mutex mutex;
  std::map<int64_t, std::pair<float, float>> ranges;
  std::map<int64_t, std::string> texts;
  // Calibration state is not a cache: lathe_rt_clear_caches keeps it.
  void clear() override {}
};

SiteState &sites() {
  return currentSession().cache<SiteState>(CacheSlot::Int8Sites);
}

/// Calls `fn(denseIndex, element)` for every element of `op` in row-major
/// order of its dims.
template <typename Fn> void forEachElement(const Operand &op, Fn fn) {
  size_t rank = op.dims.size();
  if (op.numel() == 0)
    return;
  std::vector<int64_t> idx(rank, 0);
  int64_t dense = 0;
  while (true) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d)
      offset += idx[d] * op.strides[d];
    fn(dense++, idx, op.data[offset]);
    size_t d = rank;
    while (d > 0) {
      --d;
      if (++idx[d] < op.dims[d])
        break;
      idx[d] = 0;
      if (d == 0)
        return;
    }
    if (rank == 0)
      return;
  }
}

} // namespace

Int8Input lathe::rt::int8InputFor(float lo, float hi, const char *kernel) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi)
    fail(LATHE_ERR_INVALID, kernel, ": calibrated input range [", lo, ", ", hi,
         "] is not a finite interval");
  Int8Input in;
  in.isSigned = lo < 0.f;
  float extent = in.isSigned ? std::max(-lo, hi) / 127.f : hi / 255.f;
  in.scale = extent > 0.f ? extent : 1.f;
  return in;
}

Int8Weights lathe::rt::quantizeWeights(const Operand &w, size_t channelDim,
                                       float qmax, const char *kernel) {
  Int8Weights q;
  int64_t channels = w.dims[channelDim];
  std::vector<float> maxAbs(static_cast<size_t>(channels), 0.f);
  bool finite = true;
  forEachElement(w, [&](int64_t, const std::vector<int64_t> &idx, float v) {
    finite = finite && std::isfinite(v);
    float &m = maxAbs[static_cast<size_t>(idx[channelDim])];
    m = std::max(m, std::fabs(v));
  });
  if (!finite)
    fail(LATHE_ERR_INVALID, kernel,
         ": the constant weight holds NaN or Inf; it cannot be quantized");
  q.scales.resize(maxAbs.size());
  for (size_t c = 0; c < maxAbs.size(); ++c)
    q.scales[c] = maxAbs[c] > 0.f ? maxAbs[c] / qmax : 1.f;
  q.values.resize(static_cast<size_t>(w.numel()));
  forEachElement(w, [&](int64_t i, const std::vector<int64_t> &idx, float v) {
    float r =
        std::nearbyint(v / q.scales[static_cast<size_t>(idx[channelDim])]);
    q.values[static_cast<size_t>(i)] =
        static_cast<int8_t>(std::clamp(r, -qmax, qmax));
  });
  return q;
}

namespace {
/// The loop of quantizeDense for one output type: clamping first keeps the
/// value within 2^22, where adding and subtracting 1.5 * 2^23 rounds to the
/// nearest integer, ties to even (the default rounding mode; the runtime is
/// built without -ffast-math, so the compiler keeps the two additions), and
/// vectorizes. Inlined into the variants below, each vectorized for its ISA
/// (the baseline build alone gets 4 lanes of SSE2: at batch 360 of the
/// digits MLP that loop took longer than both int8 products together).
template <typename T>
LATHE_ALWAYS_INLINE void quantizeRange(const float *x, int64_t n, float inv,
                                       float lo, float hi, T *q) {
  constexpr float kMagic = 12582912.f; // 1.5 * 2^23
  for (int64_t i = 0; i < n; ++i) {
    float v = std::min(std::max(x[i] * inv, lo), hi);
    q[i] = static_cast<T>((v + kMagic) - kMagic);
  }
}

template <typename T>
LATHE_TARGET_AVX512 void quantizeAvx512(const float *x, int64_t n, float inv,
                                        float lo, float hi, T *q) {
  quantizeRange(x, n, inv, lo, hi, q);
}

template <typename T>
LATHE_TARGET_AVX2 void quantizeAvx2(const float *x, int64_t n, float inv,
                                    float lo, float hi, T *q) {
  quantizeRange(x, n, inv, lo, hi, q);
}

/// quantizeRange in the variant simdWidth picks.
template <typename T>
void quantizeAny(const float *x, int64_t n, float inv, float lo, float hi,
                 T *q) {
  switch (simdWidth()) {
  case 16:
    return quantizeAvx512(x, n, inv, lo, hi, q);
  case 8:
    return quantizeAvx2(x, n, inv, lo, hi, q);
  default:
    return quantizeRange(x, n, inv, lo, hi, q);
  }
}
} // namespace

void lathe::rt::quantizeDense(const float *x, int64_t n, const Int8Input &input,
                              void *out) {
  float inv = 1.f / input.scale;
  if (input.isSigned)
    quantizeAny(x, n, inv, -128.f, 127.f, static_cast<int8_t *>(out));
  else
    quantizeAny(x, n, inv, 0.f, 255.f, static_cast<uint8_t *>(out));
}

void *lathe::rt::int8Scratch(Int8Scratch slot, size_t bytes) {
  constexpr size_t kSlots = static_cast<size_t>(Int8Scratch::Count);
  thread_local std::array<std::pair<ScratchBuffer, size_t>, kSlots> slots;
  thread_local uint64_t slotsSession = 0;
  return threadScratchSlot(slots.data(), slots.size(), slotsSession,
                           static_cast<size_t>(slot), bytes);
}

float lathe::rt::int8WeightMax(const Int8Input &input, bool convolution) {
  if (lathe_rt_cpu_has_int8_dot() || (convolution && input.isSigned))
    return 127.f;
  return 63.f;
}

void lathe::rt::recordInt8Site(int64_t site, const std::string &text) {
  if (site < 0)
    return;
  SiteState &s = sites();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.texts[site] = text;
}

std::string lathe::rt::describeInt8(const Int8Input &input,
                                    const dnnl::primitive_desc_base &pd) {
  return concat("int8 (", input.isSigned ? "s8" : "u8", " x s8 -> f32, ",
                pd.impl_info_str(), ")");
}

extern "C" int lathe_rt_cpu_has_int8_dot(void) {
  static const int has = [] {
    switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx2_vnni:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
      return 1;
    default:
      return 0;
    }
  }();
  return has;
}

extern "C" void lathe_rt_observe_range_f32(int64_t rank, void *desc,
                                           int64_t site) {
  guardKernel("lathe_rt_observe_range_f32", [&] {
    MemRefView v = decodeMemRef(rank, desc, "x");
    Operand op;
    op.data = v.data;
    for (int64_t d = 0; d < v.rank; ++d) {
      op.dims.push_back(v.sizes[d]);
      op.strides.push_back(v.strides[d]);
    }
    float lo = INFINITY, hi = -INFINITY;
    bool finite = true;
    forEachElement(op, [&](int64_t, const std::vector<int64_t> &, float x) {
      finite = finite && std::isfinite(x);
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    });
    if (!finite)
      fail(LATHE_ERR_INVALID, "calibration: the input of kernel site ", site,
           " holds NaN or Inf (check the calibration data)");
    if (op.numel() == 0)
      return;
    SiteState &s = sites();
    std::lock_guard<std::mutex> lock(s.mutex);
    auto [it, fresh] = s.ranges.emplace(site, std::make_pair(lo, hi));
    if (!fresh) {
      it->second.first = std::min(it->second.first, lo);
      it->second.second = std::max(it->second.second, hi);
    }
  });
}

extern "C" int lathe_rt_observed_range(int64_t site, float *lo, float *hi) {
  SiteState &s = sites();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.ranges.find(site);
  if (it == s.ranges.end())
    return 0;
  *lo = it->second.first;
  *hi = it->second.second;
  return 1;
}

extern "C" int lathe_rt_int8_site_info(int64_t site, char *buf,
                                       size_t bufSize) {
  SiteState &s = sites();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.texts.find(site);
  if (it == s.texts.end())
    return 0;
  if (buf && bufSize) {
    size_t n = std::min(bufSize - 1, it->second.size());
    std::memcpy(buf, it->second.data(), n);
    buf[n] = 0;
  }
  return 1;
}
