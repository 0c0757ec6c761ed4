//===- MemRef.cpp - Decoding and copying strided memref descriptors -------===//

#include "Internal.h"
#include "Parallel.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

using namespace lathe::rt;

int64_t MemRefView::numel() const {
  int64_t n = 1;
  for (int64_t i = 0; i < rank; ++i)
    n *= sizes[i];
  return n;
}

bool MemRefView::isContiguous() const {
  int64_t expected = 1;
  for (int64_t i = rank; i-- > 0;) {
    if (sizes[i] == 1)
      continue;
    if (strides[i] != expected)
      return false;
    expected *= sizes[i];
  }
  return true;
}

MemRefView lathe::rt::decodeMemRef(int64_t rank, void *descriptor,
                                   const char *what, bool bf16) {
  if (rank < 0 || rank > LATHE_MAX_RANK)
    fail(LATHE_ERR_SHAPE, what, " has rank ", rank, " (supported: 0..",
         LATHE_MAX_RANK, ")");
  if (!descriptor)
    fail(LATHE_ERR_INVALID, what, " has a null memref descriptor");
  // {T *allocated, T *aligned, int64_t offset, int64_t sizes[rank],
  //  int64_t strides[rank]}: pointers and int64 have the same size here.
  static_assert(sizeof(void *) == sizeof(int64_t), "64-bit targets only");
  auto *words = static_cast<const int64_t *>(descriptor);
  float *aligned;
  std::memcpy(&aligned, &words[1], sizeof(aligned));
  MemRefView view;
  view.rank = rank;
  int64_t offset = words[2];
  for (int64_t i = 0; i < rank; ++i) {
    view.sizes[i] = words[3 + i];
    view.strides[i] = words[3 + rank + i];
    if (view.sizes[i] < 0)
      fail(LATHE_ERR_SHAPE, what, " has negative size ", view.sizes[i],
           " in dimension ", i);
  }
  if (!aligned && view.numel() != 0)
    fail(LATHE_ERR_INVALID, what, " has a null data pointer");
  view.bf16 = bf16;
  if (!aligned)
    view.data = nullptr;
  else if (bf16)
    view.data = reinterpret_cast<float *>(
        reinterpret_cast<uint16_t *>(aligned) + offset);
  else
    view.data = aligned + offset;
  return view;
}

std::string lathe::rt::shapeString(const MemRefView &view) {
  std::string s = "[";
  for (int64_t i = 0; i < view.rank; ++i) {
    if (i)
      s += "x";
    s += std::to_string(view.sizes[i]);
  }
  return s + "]";
}

namespace {
/// Element `i` (in elements) of `view` as f32.
float loadElement(const MemRefView &view, int64_t i) {
  if (view.bf16)
    return bf16ToFloat(reinterpret_cast<const uint16_t *>(view.data)[i]);
  return view.data[i];
}
void storeElement(const MemRefView &view, int64_t i, float v) {
  if (view.bf16)
    reinterpret_cast<uint16_t *>(view.data)[i] = floatToBf16(v);
  else
    view.data[i] = v;
}
} // namespace

void lathe::rt::copyStrided(const MemRefView &src, const MemRefView &dst) {
  int64_t numel = src.numel();
  if (numel == 0)
    return;
  int64_t rank = src.rank;
  bool plain = !src.bf16 && !dst.bf16;
  if (rank == 0) {
    storeElement(dst, 0, loadElement(src, 0));
    return;
  }
  std::array<int64_t, LATHE_MAX_RANK> index{};
  int64_t last = rank - 1;
  int64_t inner = src.sizes[last];
  int64_t srcInner = src.strides[last], dstInner = dst.strides[last];
  int64_t srcOff = 0, dstOff = 0;
  for (int64_t done = 0; done < numel; done += inner) {
    if (plain) {
      const float *s = src.data + srcOff;
      float *d = dst.data + dstOff;
      for (int64_t j = 0; j < inner; ++j)
        d[j * dstInner] = s[j * srcInner];
    } else {
      for (int64_t j = 0; j < inner; ++j)
        storeElement(dst, dstOff + j * dstInner,
                     loadElement(src, srcOff + j * srcInner));
    }
    // Advance the outer index (everything but the last dimension).
    for (int64_t k = last; k-- > 0;) {
      if (++index[k] < src.sizes[k]) {
        srcOff += src.strides[k];
        dstOff += dst.strides[k];
        break;
      }
      srcOff -= (src.sizes[k] - 1) * src.strides[k];
      dstOff -= (src.sizes[k] - 1) * dst.strides[k];
      index[k] = 0;
    }
  }
}

float lathe::rt::applyActivation(int act, float x) {
  switch (act) {
  case LATHE_ACT_RELU:
    // arith.maximumf(x, 0): NaN stays NaN.
    return std::isnan(x) || x > 0.f ? x : 0.f;
  case LATHE_ACT_GELU_ERF:
    return 0.5f * x * (1.f + std::erf(x * 0.70710678118654752f));
  case LATHE_ACT_GELU_TANH:
    return 0.5f * x *
           (1.f +
            std::tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
  case LATHE_ACT_SIGMOID:
    return 1.f / (1.f + std::exp(-x));
  case LATHE_ACT_TANH:
    return std::tanh(x);
  default:
    return x;
  }
}

namespace {
/// max over i of the bits of |x[i]|: the bits of the largest magnitude, above
/// those of +Inf if any element is NaN. Integer max is associative, so the
/// loop vectorises (target_clones: the runtime is built for baseline x86-64;
/// the AVX-512 / AVX2 variant is picked at load time).
__attribute__((target_clones("avx512f", "avx2", "default"))) uint32_t
maxAbsBits(const float *x, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits = bitCast<uint32_t>(x[i]) & 0x7fffffffu;
    m = bits > m ? bits : m;
  }
  return m;
}

uint32_t maxAbsBitsStrided(const float *x, int64_t n, int64_t stride) {
  if (stride == 1 || n <= 1)
    return maxAbsBits(x, n);
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    m = std::max(m, bitCast<uint32_t>(x[i * stride]) & 0x7fffffffu);
  }
  return m;
}

/// maxAbsBits of x while writing x in bf16 to y (floatToBf16).
__attribute__((target_clones("avx512f", "avx2", "default"))) uint32_t
toBf16MaxAbsBits(const float *x, uint16_t *y, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t abs = bitCast<uint32_t>(x[i]) & 0x7fffffffu;
    m = abs > m ? abs : m;
    y[i] = floatToBf16(x[i]);
  }
  return m;
}

/// maxAbsBits of bf16 elements, in f32 bits.
__attribute__((target_clones("avx512f", "avx2", "default"))) uint32_t
maxAbsBitsBf16(const uint16_t *x, int64_t n, int64_t stride) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits = x[i * stride] & 0x7fffu;
    m = bits > m ? bits : m;
  }
  return m << 16;
}

float fromMaxAbsBits(uint32_t bits) {
  if (bits > 0x7f800000u)
    return std::numeric_limits<float>::quiet_NaN();
  return bitCast<float>(bits);
}

/// `scan(begin, end)` (maxAbsBits of elements [begin, end)) over [0, n),
/// split over the session's threads from kMinParallelScanBytes.
template <typename Scan>
uint32_t maxAbsBitsSplit(int64_t n, int64_t elementBytes, const Scan &scan) {
  constexpr int64_t kGrain = int64_t(1) << 14; // elements per chunk
  std::atomic<uint32_t> result{0};
  parallelChunks(
      n, kGrain, n * elementBytes,
      [&](int64_t begin, int64_t end) {
        uint32_t m = scan(begin, end);
        uint32_t seen = result.load(std::memory_order_relaxed);
        while (m > seen && !result.compare_exchange_weak(seen, m))
          ;
      },
      kMinParallelScanBytes);
  return result.load();
}
} // namespace

float lathe::rt::maxAbs(const float *data, int64_t n) {
  return fromMaxAbsBits(
      maxAbsBitsSplit(n, sizeof(float), [&](int64_t begin, int64_t end) {
        return maxAbsBits(data + begin, end - begin);
      }));
}

float lathe::rt::maxAbsOnThisThread(const float *data, int64_t stride,
                                    int64_t n) {
  return fromMaxAbsBits(maxAbsBitsStrided(data, n, stride));
}

float lathe::rt::toBf16MaxAbs(const float *src, uint16_t *dst, int64_t n) {
  // Reads 4 and writes 2 bytes per element: split like a 6-byte scan.
  return fromMaxAbsBits(maxAbsBitsSplit(n, 6, [&](int64_t begin, int64_t end) {
    return toBf16MaxAbsBits(src + begin, dst + begin, end - begin);
  }));
}

float lathe::rt::maxAbs(const MemRefView &view) {
  int64_t numel = view.numel();
  if (numel == 0)
    return 0.f;
  auto *halves = reinterpret_cast<const uint16_t *>(view.data);
  if ((view.isContiguous() || view.rank == 0) && view.bf16)
    return fromMaxAbsBits(
        maxAbsBitsSplit(numel, 2, [&](int64_t begin, int64_t end) {
          return maxAbsBitsBf16(halves + begin, end - begin, 1);
        }));
  if (view.isContiguous() || view.rank == 0)
    return maxAbs(view.data, numel);
  // Walk the innermost rows (as copyStrided does).
  std::array<int64_t, LATHE_MAX_RANK> index{};
  int64_t last = view.rank - 1, inner = view.sizes[last], offset = 0;
  uint32_t m = 0;
  for (int64_t done = 0; done < numel; done += inner) {
    m = std::max(m, view.bf16 ? maxAbsBitsBf16(halves + offset, inner,
                                               view.strides[last])
                              : maxAbsBitsStrided(view.data + offset, inner,
                                                  view.strides[last]));
    for (int64_t k = last; k-- > 0;) {
      if (++index[k] < view.sizes[k]) {
        offset += view.strides[k];
        break;
      }
      offset -= (view.sizes[k] - 1) * view.strides[k];
      index[k] = 0;
    }
  }
  return fromMaxAbsBits(m);
}
