//===- Quant.cpp - Quantization kernels for communication (qcomm) ---------===//
//
// Group-wise absmax quantization, dequantization (plain, fused add, fused sum
// over parts) and the blockwise order-32 Walsh-Hadamard transform; see Quant.h
// for the exact semantics.
//
// Vectorization: the kernels are written as plain loops over a group (or a
// block of it) that the compiler vectorizes, inlined into three variants
// compiled for baseline x86-64, AVX2 + FMA and AVX-512 (target attributes);
// the Hadamard transform has AVX2 intrinsics. Each call picks a variant from
// the CPU (__builtin_cpu_supports), capped by LATHE_QUANT_ISA. Every variant
// performs the same IEEE operations in the same order (divisions, not
// reciprocals; no contraction into FMA; rounding by adding and subtracting
// 1.5 * 2^23, which is exact round-half-to-even below 2^22), so all produce
// the same bits and tests can compare them.
//
// Threads: groups (Hadamard blocks) are split over the runtime's pool
// (Parallel.h). Each group is computed by one thread from its own data, and
// the stochastic-rounding noise is a hash of the element's flat index, so the
// result does not depend on the thread count or on how chunks were handed out.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/Quant.h"

#include "Internal.h"
#include "Parallel.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>

// Identical results on every path need a*b+c to stay two roundings.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

using namespace lathe::rt;

namespace {

#define LATHE_ALWAYS_INLINE inline __attribute__((always_inline))
#define LATHE_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,popcnt")))
#define LATHE_TARGET_AVX512                                                    \
  __attribute__((                                                              \
      target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi,bmi2,popcnt")))

//===----------------------------------------------------------------------===//
// Scalar building blocks (inlined into every variant)
//===----------------------------------------------------------------------===//

/// Values are processed in blocks of this many elements within a group (the
/// 4-bit paths stage the int8 values of one block on the stack).
constexpr int64_t kBlock = 1024;

/// rint(t) for |t| < 2^22 in the default rounding mode (to nearest, ties to
/// even): t + 1.5 * 2^23 lands where the spacing of floats is 1.
LATHE_ALWAYS_INLINE float roundHalfEven(float t) {
  constexpr float kMagic = 12582912.0f;
  return (t + kMagic) - kMagic;
}

/// Output `index` of splitmix64 seeded with `seed`.
LATHE_ALWAYS_INLINE uint64_t splitmix64(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The stochastic-rounding offset of element `index`: a multiple of 2^-24 in
/// [0, 1).
LATHE_ALWAYS_INLINE float uniformOffset(uint64_t seed, uint64_t index) {
  auto top24 = static_cast<int32_t>(splitmix64(seed, index) >> 40);
  return static_cast<float>(top24) * 0x1p-24f;
}

template <int Bits> constexpr float qmaxOf() { return Bits == 8 ? 127.f : 7.f; }

//===----------------------------------------------------------------------===//
// Quantize
//===----------------------------------------------------------------------===//

struct QuantizeJob {
  const float *x;
  int8_t *q;
  float *scales;
  int64_t group;
  int64_t bits;
  bool stochastic;
  uint64_t seed;
};

/// The largest |x| as bits: >= 0x7f800000 iff some x is NaN or Inf.
LATHE_ALWAYS_INLINE uint32_t maxAbsBits(const float *x, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i)
    m = std::max(m, bitCast<uint32_t>(x[i]) & 0x7fffffffu);
  return m;
}

/// q[i] for len finite values x[i] of a group with a positive finite scale,
/// exactly as the contract says (x / scale); `index` is the flat index of x[0].
template <int Bits, bool Stochastic>
LATHE_ALWAYS_INLINE void quantizeExact(const float *x, int8_t *q, int64_t len,
                                       float scale, uint64_t seed,
                                       uint64_t index) {
  constexpr float qmax = qmaxOf<Bits>();
  for (int64_t i = 0; i < len; ++i) {
    float t = x[i] / scale;
    float r;
    if constexpr (Stochastic) {
      float v = t + uniformOffset(seed, index + static_cast<uint64_t>(i));
      r = roundHalfEven(v);
      r = r > v ? r - 1.f : r; // floor
      r = std::min(std::max(r, -qmax), qmax);
    } else {
      r = roundHalfEven(std::min(std::max(t, -qmax), qmax));
    }
    q[i] = static_cast<int8_t>(static_cast<int32_t>(r));
  }
}

/// The same with x * (1 / scale) instead of the division (three times
/// faster: the division is the kernel's bottleneck). Returns false when that
/// may differ from quantizeExact. Why it is exact otherwise: t = x * inv and
/// the contract's fl(x / scale) differ by at most 3 * 2^-24 * |x / scale| <=
/// 2^-15.4 (|x / scale| <= qmax * (1 + 2^-23) <= 128, inv = fl(1 / scale)
/// normal), and with the stochastic offset added and rounded (spacing 2^-15
/// below 256) by less than 2^-13.5. Rounding to nearest can only differ when
/// a half-integer lies between the two, floor when an integer does; so a
/// block in which every t (t + u) is at least 2^-13 from every half-integer
/// (integer) gets the contract's q. The distances are exact in f32 (the
/// fractional part of a float below 2^22 is a float).
template <int Bits, bool Stochastic>
LATHE_ALWAYS_INLINE bool quantizeFast(const float *x, int8_t *q, int64_t len,
                                      float inv, uint64_t seed,
                                      uint64_t index) {
  constexpr float qmax = qmaxOf<Bits>();
  constexpr float kMargin = 0x1p-13f;
  int nearBoundary = 0;
  for (int64_t i = 0; i < len; ++i) {
    float t = x[i] * inv;
    float r;
    if constexpr (Stochastic) {
      float v = t + uniformOffset(seed, index + static_cast<uint64_t>(i));
      r = roundHalfEven(v);
      nearBoundary |= std::fabs(v - r) < kMargin;
      r = r > v ? r - 1.f : r; // floor
    } else {
      r = roundHalfEven(t);
      nearBoundary |= 0.5f - std::fabs(t - r) < kMargin;
    }
    r = std::min(std::max(r, -qmax), qmax);
    q[i] = static_cast<int8_t>(static_cast<int32_t>(r));
  }
  return nearBoundary == 0;
}

/// Values whose block may round differently with the reciprocal are redone
/// with the division, 64 at a time (about 1 in 70 blocks of random data).
template <int Bits, bool Stochastic>
LATHE_ALWAYS_INLINE void quantizeBlock(const float *x, int8_t *q, int64_t len,
                                       float scale, uint64_t seed,
                                       uint64_t index) {
  // inv must be normal for the error bound (scale >= 2^-100 keeps it so).
  if (scale < 0x1p-100f) {
    quantizeExact<Bits, Stochastic>(x, q, len, scale, seed, index);
    return;
  }
  const float inv = 1.f / scale;
  constexpr int64_t kSub = 64;
  for (int64_t b = 0; b < len; b += kSub) {
    int64_t m = std::min(kSub, len - b);
    auto at = index + static_cast<uint64_t>(b);
    if (!quantizeFast<Bits, Stochastic>(x + b, q + b, m, inv, seed, at))
      quantizeExact<Bits, Stochastic>(x + b, q + b, m, scale, seed, at);
  }
}

/// Two values per byte, the first in the low nibble.
LATHE_ALWAYS_INLINE void packNibbles(const int8_t *values, int8_t *packed,
                                     int64_t len) {
  for (int64_t i = 0; i < len / 2; ++i) {
    auto lo = static_cast<uint8_t>(values[2 * i]) & 0x0fu;
    auto hi = static_cast<uint8_t>(values[2 * i + 1]) << 4;
    packed[i] = static_cast<int8_t>(static_cast<uint8_t>(lo | hi));
  }
}

/// Quantizes one group of `group` values x into q (group * Bits / 8 bytes)
/// and *scale; `index` is the flat index of x[0] (for stochastic rounding);
/// `staged` holds kBlock int8 values (4 bits).
template <int Bits, bool Stochastic>
LATHE_ALWAYS_INLINE void quantizeGroup(const float *x, int8_t *q, float *scale,
                                       int64_t group, uint64_t seed,
                                       uint64_t index, int8_t *staged) {
  constexpr float qmax = qmaxOf<Bits>();
  uint32_t m = maxAbsBits(x, group);
  float s = m >= 0x7f800000u ? std::numeric_limits<float>::quiet_NaN()
                             : bitCast<float>(m) / qmax;
  *scale = s;
  if (!(s > 0.f)) { // NaN/Inf in the group, zeros, or underflow.
    std::memset(q, 0, static_cast<size_t>(group * Bits / 8));
    return;
  }
  for (int64_t b = 0; b < group; b += kBlock) {
    int64_t len = std::min(kBlock, group - b);
    uint64_t at = index + static_cast<uint64_t>(b);
    if constexpr (Bits == 8) {
      quantizeBlock<Bits, Stochastic>(x + b, q + b, len, s, seed, at);
    } else {
      quantizeBlock<Bits, Stochastic>(x + b, staged, len, s, seed, at);
      packNibbles(staged, q + b / 2, len);
    }
  }
}

template <int Bits, bool Stochastic>
LATHE_ALWAYS_INLINE void quantizeGroups(const QuantizeJob &job, int64_t g0,
                                        int64_t g1) {
  const int64_t group = job.group;
  alignas(64) int8_t staged[kBlock];
  for (int64_t g = g0; g < g1; ++g)
    quantizeGroup<Bits, Stochastic>(
        job.x + g * group, job.q + g * group * Bits / 8, job.scales + g, group,
        job.seed, static_cast<uint64_t>(g * group), staged);
}

LATHE_ALWAYS_INLINE void quantizeAny(const QuantizeJob &job, int64_t g0,
                                     int64_t g1) {
  if (job.bits == 8) {
    if (job.stochastic)
      quantizeGroups<8, true>(job, g0, g1);
    else
      quantizeGroups<8, false>(job, g0, g1);
  } else {
    if (job.stochastic)
      quantizeGroups<4, true>(job, g0, g1);
    else
      quantizeGroups<4, false>(job, g0, g1);
  }
}

//===----------------------------------------------------------------------===//
// Dequantize (and sum over parts)
//===----------------------------------------------------------------------===//

struct DequantizeJob {
  const int8_t *q;
  const float *scales;
  float *y;
  int64_t n;
  int64_t parts;
  int64_t group;
  int64_t bits;
  bool accumulate;
};

/// Sign-extends the two nibbles of each byte: values[2i] from the low one.
LATHE_ALWAYS_INLINE void unpackNibbles(const int8_t *packed, int8_t *values,
                                       int64_t len) {
  for (int64_t i = 0; i < len / 2; ++i) {
    int8_t byte = packed[i];
    values[2 * i] = static_cast<int8_t>(static_cast<int8_t>(byte << 4) >> 4);
    values[2 * i + 1] = static_cast<int8_t>(byte >> 4);
  }
}

/// For each of groups [g0, g1) of y: s = sum over parts in order of
/// q_p * scale_p, then y = s or y = y + s.
template <int Bits, bool Accumulate>
LATHE_ALWAYS_INLINE void dequantizeGroups(const DequantizeJob &job, int64_t g0,
                                          int64_t g1) {
  const int64_t group = job.group, numGroups = job.n / group;
  const int64_t partBytes = job.n * Bits / 8;
  alignas(64) int8_t staged[kBlock];
  alignas(64) float sum[kBlock];
  for (int64_t g = g0; g < g1; ++g) {
    for (int64_t b = 0; b < group; b += kBlock) {
      int64_t len = std::min(kBlock, group - b);
      int64_t first = g * group + b; // flat index in y
      float *y = job.y + first;
      for (int64_t p = 0; p < job.parts; ++p) {
        float scale = job.scales[p * numGroups + g];
        const int8_t *q = job.q + p * partBytes + first * Bits / 8;
        if constexpr (Bits == 4) {
          unpackNibbles(q, staged, len);
          q = staged;
        }
        // A single part goes straight to y (no staging of the sum).
        if (job.parts == 1) {
          for (int64_t i = 0; i < len; ++i) {
            float d = static_cast<float>(q[i]) * scale;
            y[i] = Accumulate ? y[i] + d : d;
          }
          break;
        }
        if (p == 0) {
          for (int64_t i = 0; i < len; ++i)
            sum[i] = static_cast<float>(q[i]) * scale;
          continue;
        }
        for (int64_t i = 0; i < len; ++i)
          sum[i] = sum[i] + static_cast<float>(q[i]) * scale;
      }
      if (job.parts == 1)
        continue;
      for (int64_t i = 0; i < len; ++i)
        y[i] = Accumulate ? y[i] + sum[i] : sum[i];
    }
  }
}

LATHE_ALWAYS_INLINE void dequantizeAny(const DequantizeJob &job, int64_t g0,
                                       int64_t g1) {
  if (job.bits == 8) {
    if (job.accumulate)
      dequantizeGroups<8, true>(job, g0, g1);
    else
      dequantizeGroups<8, false>(job, g0, g1);
  } else {
    if (job.accumulate)
      dequantizeGroups<4, true>(job, g0, g1);
    else
      dequantizeGroups<4, false>(job, g0, g1);
  }
}

//===----------------------------------------------------------------------===//
// Dequantize, sum over parts and requantize (fused)
//===----------------------------------------------------------------------===//

struct RequantizeJob {
  const int8_t *q;
  const float *scales;
  int8_t *qOut;
  float *scalesOut;
  int64_t n;
  int64_t parts;
  int64_t group;
  int64_t bits;
  int64_t outGroup;
  int64_t outBits;
  bool stochastic;
  uint64_t seed;
};

/// Output groups up to this size sum on the stack; larger ones in one heap
/// buffer per chunk of groups.
constexpr int64_t kStackGroup = 4096;

/// The len 4-bit values starting at element `start` of the packed vector
/// `packed`, sign-extended.
LATHE_ALWAYS_INLINE void unpackNibblesAt(const int8_t *packed, int64_t start,
                                         int64_t len, int8_t *values) {
  if (((start | len) & 1) == 0) {
    unpackNibbles(packed + start / 2, values, len);
    return;
  }
  for (int64_t i = 0; i < len; ++i) {
    int64_t e = start + i;
    int8_t byte = packed[e >> 1];
    values[i] = static_cast<int8_t>(
        (e & 1) ? byte >> 4 : static_cast<int8_t>(byte << 4) >> 4);
  }
}

/// sum[0 .. len) = the parts' dequantized values of elements [first, first +
/// len), summed as dequantizeGroups sums them (d_0, then s + d_p in order).
template <int InBits>
LATHE_ALWAYS_INLINE void sumParts(const RequantizeJob &job, int64_t first,
                                  int64_t len, float *sum, int8_t *staged) {
  const int64_t group = job.group, numGroups = job.n / group;
  const int64_t partBytes = job.n * InBits / 8;
  for (int64_t p = 0; p < job.parts; ++p) {
    const int8_t *part = job.q + p * partBytes;
    const float *partScales = job.scales + p * numGroups;
    // Segments of one input group and at most kBlock values.
    for (int64_t pos = first, end = first + len; pos < end;) {
      int64_t g = pos / group;
      int64_t segEnd = std::min({end, (g + 1) * group, pos + kBlock});
      int64_t m = segEnd - pos;
      float scale = partScales[g];
      const int8_t *q;
      if constexpr (InBits == 4) {
        unpackNibblesAt(part, pos, m, staged);
        q = staged;
      } else {
        q = part + pos;
      }
      float *s = sum + (pos - first);
      if (p == 0) {
        for (int64_t i = 0; i < m; ++i)
          s[i] = static_cast<float>(q[i]) * scale;
      } else {
        for (int64_t i = 0; i < m; ++i)
          s[i] = s[i] + static_cast<float>(q[i]) * scale;
      }
      pos = segEnd;
    }
  }
}

/// Output groups [g0, g1): each group's sum over the parts in `sum` (never in
/// memory the caller sees), then quantized exactly as lathe_rt_quantize_f32
/// quantizes a vector holding those sums.
template <int InBits, int OutBits, bool Stochastic>
LATHE_ALWAYS_INLINE void requantizeGroups(const RequantizeJob &job, int64_t g0,
                                          int64_t g1, float *sum) {
  const int64_t outGroup = job.outGroup;
  alignas(64) int8_t staged[kBlock];
  for (int64_t g = g0; g < g1; ++g) {
    int64_t first = g * outGroup;
    sumParts<InBits>(job, first, outGroup, sum, staged);
    quantizeGroup<OutBits, Stochastic>(sum, job.qOut + first * OutBits / 8,
                                       job.scalesOut + g, outGroup, job.seed,
                                       static_cast<uint64_t>(first), staged);
  }
}

template <int InBits>
LATHE_ALWAYS_INLINE void requantizeIn(const RequantizeJob &job, int64_t g0,
                                      int64_t g1, float *sum) {
  if (job.outBits == 8) {
    if (job.stochastic)
      requantizeGroups<InBits, 8, true>(job, g0, g1, sum);
    else
      requantizeGroups<InBits, 8, false>(job, g0, g1, sum);
  } else {
    if (job.stochastic)
      requantizeGroups<InBits, 4, true>(job, g0, g1, sum);
    else
      requantizeGroups<InBits, 4, false>(job, g0, g1, sum);
  }
}

LATHE_ALWAYS_INLINE void requantizeAny(const RequantizeJob &job, int64_t g0,
                                       int64_t g1) {
  alignas(64) float local[kStackGroup];
  std::unique_ptr<float[]> heap;
  float *sum = local;
  if (job.outGroup > kStackGroup) {
    heap.reset(new float[static_cast<size_t>(job.outGroup)]);
    sum = heap.get();
  }
  if (job.bits == 8)
    requantizeIn<8>(job, g0, g1, sum);
  else
    requantizeIn<4>(job, g0, g1, sum);
}

//===----------------------------------------------------------------------===//
// Hadamard transform of order 32
//===----------------------------------------------------------------------===//

/// The f32 value of 1/sqrt(32).
constexpr float kInvSqrt32 = 0.17677669529663688f;

/// Butterflies at distance 16, 8, 4, 2, 1 (the order the AVX2 kernel uses).
LATHE_ALWAYS_INLINE void hadamardBlocksScalar(const float *x, float *y,
                                              int64_t b0, int64_t b1) {
  for (int64_t blk = b0; blk < b1; ++blk) {
    float v[32];
    std::memcpy(v, x + 32 * blk, sizeof(v));
    for (int h = 16; h >= 1; h /= 2)
      for (int i = 0; i < 32; i += 2 * h)
        for (int j = i; j < i + h; ++j) {
          float a = v[j], b = v[j + h];
          v[j] = a + b;
          v[j + h] = a - b;
        }
    for (int i = 0; i < 32; ++i)
      y[32 * blk + i] = v[i] * kInvSqrt32;
  }
}

/// One butterfly stage within each 8-float vector: lane l becomes
/// x[l ^ h] + x[l] where bit h of l is clear, x[l ^ h] - x[l] where it is set
/// (`sign` has the sign bit in the latter lanes), exactly the scalar sums.
LATHE_TARGET_AVX2 inline __m256 butterflyInLane(__m256 v, __m256 swapped,
                                                __m256 sign) {
  return _mm256_add_ps(swapped, _mm256_xor_ps(v, sign));
}

LATHE_TARGET_AVX2 void hadamardBlocksAvx2(const float *x, float *y, int64_t b0,
                                          int64_t b1) {
  const int s = static_cast<int>(0x80000000u);
  const __m256 sign4 =
      _mm256_castsi256_ps(_mm256_setr_epi32(0, 0, 0, 0, s, s, s, s));
  const __m256 sign2 =
      _mm256_castsi256_ps(_mm256_setr_epi32(0, 0, s, s, 0, 0, s, s));
  const __m256 sign1 =
      _mm256_castsi256_ps(_mm256_setr_epi32(0, s, 0, s, 0, s, 0, s));
  const __m256 scale = _mm256_set1_ps(kInvSqrt32);
  for (int64_t blk = b0; blk < b1; ++blk) {
    const float *in = x + 32 * blk;
    __m256 v0 = _mm256_loadu_ps(in), v1 = _mm256_loadu_ps(in + 8);
    __m256 v2 = _mm256_loadu_ps(in + 16), v3 = _mm256_loadu_ps(in + 24);
    // Distance 16, then 8: whole vectors.
    __m256 a0 = _mm256_add_ps(v0, v2), a2 = _mm256_sub_ps(v0, v2);
    __m256 a1 = _mm256_add_ps(v1, v3), a3 = _mm256_sub_ps(v1, v3);
    __m256 w[4] = {_mm256_add_ps(a0, a1), _mm256_sub_ps(a0, a1),
                   _mm256_add_ps(a2, a3), _mm256_sub_ps(a2, a3)};
    float *out = y + 32 * blk;
    for (int k = 0; k < 4; ++k) {
      __m256 t = w[k];
      t = butterflyInLane(t, _mm256_permute2f128_ps(t, t, 0x01), sign4);
      t = butterflyInLane(t, _mm256_permute_ps(t, 0x4E), sign2);
      t = butterflyInLane(t, _mm256_permute_ps(t, 0xB1), sign1);
      _mm256_storeu_ps(out + 8 * k, _mm256_mul_ps(t, scale));
    }
  }
}

//===----------------------------------------------------------------------===//
// Variants and dispatch
//===----------------------------------------------------------------------===//

struct HadamardJob {
  const float *x;
  float *y;
};

void quantizeGeneric(const QuantizeJob &job, int64_t g0, int64_t g1) {
  quantizeAny(job, g0, g1);
}
LATHE_TARGET_AVX2 void quantizeAvx2(const QuantizeJob &job, int64_t g0,
                                    int64_t g1) {
  quantizeAny(job, g0, g1);
}
LATHE_TARGET_AVX512 void quantizeAvx512(const QuantizeJob &job, int64_t g0,
                                        int64_t g1) {
  quantizeAny(job, g0, g1);
}

void dequantizeGeneric(const DequantizeJob &job, int64_t g0, int64_t g1) {
  dequantizeAny(job, g0, g1);
}
LATHE_TARGET_AVX2 void dequantizeAvx2(const DequantizeJob &job, int64_t g0,
                                      int64_t g1) {
  dequantizeAny(job, g0, g1);
}
LATHE_TARGET_AVX512 void dequantizeAvx512(const DequantizeJob &job, int64_t g0,
                                          int64_t g1) {
  dequantizeAny(job, g0, g1);
}

void requantizeGeneric(const RequantizeJob &job, int64_t g0, int64_t g1) {
  requantizeAny(job, g0, g1);
}
LATHE_TARGET_AVX2 void requantizeAvx2(const RequantizeJob &job, int64_t g0,
                                      int64_t g1) {
  requantizeAny(job, g0, g1);
}
LATHE_TARGET_AVX512 void requantizeAvx512(const RequantizeJob &job, int64_t g0,
                                          int64_t g1) {
  requantizeAny(job, g0, g1);
}

void hadamardGeneric(const HadamardJob &job, int64_t b0, int64_t b1) {
  hadamardBlocksScalar(job.x, job.y, b0, b1);
}
void hadamardAvx2(const HadamardJob &job, int64_t b0, int64_t b1) {
  hadamardBlocksAvx2(job.x, job.y, b0, b1);
}

enum class Isa { Generic, Avx2, Avx512, Invalid };

Isa cpuIsa() {
  static const Isa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
      return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
        __builtin_cpu_supports("popcnt"))
      return Isa::Avx2;
    return Isa::Generic;
  }();
  return isa;
}

/// The CPU's best path, capped by LATHE_QUANT_ISA (read on every call, so a
/// test can compare the paths in one process).
Isa selectedIsa() {
  Isa best = cpuIsa();
  const char *env = std::getenv("LATHE_QUANT_ISA");
  if (!env || !*env || std::strcmp(env, "native") == 0)
    return best;
  Isa wanted;
  if (std::strcmp(env, "generic") == 0)
    wanted = Isa::Generic;
  else if (std::strcmp(env, "avx2") == 0)
    wanted = Isa::Avx2;
  else if (std::strcmp(env, "avx512") == 0)
    wanted = Isa::Avx512;
  else
    return Isa::Invalid;
  return std::min(wanted, best);
}

Isa checkedIsa() {
  Isa isa = selectedIsa();
  if (isa == Isa::Invalid)
    fail(LATHE_ERR_INVALID, "LATHE_QUANT_ISA=", std::getenv("LATHE_QUANT_ISA"),
         " is not one of generic, avx2, avx512, native");
  return isa;
}

//===----------------------------------------------------------------------===//
// Operands and validation
//===----------------------------------------------------------------------===//

/// A contiguous operand of any element type: its first element and count.
template <typename T> struct Flat {
  T *data = nullptr;
  int64_t numel = 0;
};

template <typename T>
Flat<T> decodeFlat(int64_t rank, void *descriptor, const char *what) {
  MemRefView view = decodeMemRef(rank, descriptor, what);
  if (!view.isContiguous())
    fail(LATHE_ERR_SHAPE, what, " ", shapeString(view),
         " is not contiguous (the quantization kernels need an identity "
         "layout)");
  // decodeMemRef offsets the pointer in floats; redo it in T.
  auto *words = static_cast<const int64_t *>(descriptor);
  T *aligned;
  std::memcpy(&aligned, &words[1], sizeof(aligned));
  Flat<T> flat;
  flat.numel = view.numel();
  flat.data = aligned ? aligned + words[2] : nullptr;
  return flat;
}

void checkBitsAndGroup(int64_t bits, int64_t group) {
  if (bits != 4 && bits != 8)
    fail(LATHE_ERR_INVALID, "bits must be 4 or 8, got ", bits);
  if (group <= 0)
    fail(LATHE_ERR_INVALID, "group size must be positive, got ", group);
  if (bits == 4 && group % 2 != 0)
    fail(LATHE_ERR_INVALID,
         "4-bit quantization packs two values per byte and needs an even "
         "group size, got ",
         group);
}

void checkGroups(int64_t n, int64_t group, const char *what) {
  if (n % group != 0)
    fail(LATHE_ERR_SHAPE, what, " has ", n,
         " elements, not a multiple of the group size ", group);
}

void checkCount(int64_t actual, int64_t expected, const char *what,
                const char *why) {
  if (actual != expected)
    fail(LATHE_ERR_SHAPE, what, " has ", actual, " elements, expected ",
         expected, " (", why, ")");
}

/// Grain of a split over groups: about 16K values per chunk.
int64_t groupGrain(int64_t group) {
  return std::max<int64_t>(1, 16384 / group);
}

int profileKind(const char *name) { return getProfileKind(name); }

} // namespace

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

extern "C" void lathe_rt_quantize_f32(int64_t rankX, void *x, int64_t rankQ,
                                      void *q, int64_t rankS, void *scales,
                                      int64_t bits, int64_t group,
                                      int64_t flags, int64_t seed) {
  guardKernel("lathe_rt_quantize_f32", [&] {
    static const int kind = profileKind("quantize");
    ProfileScope profile(kind);
    Isa isa = checkedIsa();
    checkBitsAndGroup(bits, group);
    if (flags & ~int64_t(LATHE_QUANT_STOCHASTIC))
      fail(LATHE_ERR_INVALID, "unknown flags 0x", std::hex, flags,
           " (quantize accepts LATHE_QUANT_STOCHASTIC only)");
    auto xv = decodeFlat<const float>(rankX, x, "x");
    auto qv = decodeFlat<int8_t>(rankQ, q, "q");
    auto sv = decodeFlat<float>(rankS, scales, "scales");
    int64_t n = xv.numel;
    checkGroups(n, group, "x");
    checkCount(qv.numel, n * bits / 8, "q",
               bits == 8 ? "one int8 per value" : "two 4-bit values per int8");
    checkCount(sv.numel, n / group, "scales", "one per group");
    bool stochastic = (flags & LATHE_QUANT_STOCHASTIC) != 0;
    QuantizeJob job{xv.data,
                    qv.data,
                    sv.data,
                    group,
                    bits,
                    stochastic,
                    static_cast<uint64_t>(seed)};
    auto run = isa == Isa::Avx512 ? quantizeAvx512
               : isa == Isa::Avx2 ? quantizeAvx2
                                  : quantizeGeneric;
    parallelChunks(n / group, groupGrain(group), n * 4,
                   [&](int64_t g0, int64_t g1) { run(job, g0, g1); });
  });
}

namespace {
void dequantizeCommon(const char *context, int64_t rankQ, void *q,
                      int64_t rankS, void *scales, int64_t rankY, void *y,
                      int64_t parts, int64_t bits, int64_t group,
                      int64_t flags) {
  guardKernel(context, [&] {
    static const int kind = profileKind("dequantize");
    ProfileScope profile(kind);
    Isa isa = checkedIsa();
    checkBitsAndGroup(bits, group);
    if (flags & ~int64_t(LATHE_QUANT_ACCUMULATE))
      fail(LATHE_ERR_INVALID, "unknown flags 0x", std::hex, flags,
           " (dequantize accepts LATHE_QUANT_ACCUMULATE only)");
    if (parts <= 0)
      fail(LATHE_ERR_INVALID, "parts must be positive, got ", parts);
    auto qv = decodeFlat<const int8_t>(rankQ, q, "q");
    auto sv = decodeFlat<const float>(rankS, scales, "scales");
    auto yv = decodeFlat<float>(rankY, y, "y");
    int64_t n = yv.numel;
    checkGroups(n, group, "y");
    if (n > 0 && parts > std::numeric_limits<int64_t>::max() / 8 / n)
      fail(LATHE_ERR_SHAPE, parts, " parts of ", n, " values are too many");
    checkCount(qv.numel, parts * n * bits / 8, "q",
               bits == 8 ? "one int8 per value" : "two 4-bit values per int8");
    checkCount(sv.numel, parts * (n / group), "scales", "one per group");
    bool accumulate = (flags & LATHE_QUANT_ACCUMULATE) != 0;
    DequantizeJob job{qv.data, sv.data, yv.data, n,
                      parts,   group,   bits,    accumulate};
    auto run = isa == Isa::Avx512 ? dequantizeAvx512
               : isa == Isa::Avx2 ? dequantizeAvx2
                                  : dequantizeGeneric;
    parallelChunks(n / group, groupGrain(group), n * 4 * (parts + 1),
                   [&](int64_t g0, int64_t g1) { run(job, g0, g1); });
  });
}
} // namespace

extern "C" void lathe_rt_dequantize_f32(int64_t rankQ, void *q, int64_t rankS,
                                        void *scales, int64_t rankY, void *y,
                                        int64_t bits, int64_t group,
                                        int64_t flags) {
  dequantizeCommon("lathe_rt_dequantize_f32", rankQ, q, rankS, scales, rankY, y,
                   /*parts=*/1, bits, group, flags);
}

extern "C" void lathe_rt_dequantize_reduce_f32(int64_t rankQ, void *q,
                                               int64_t rankS, void *scales,
                                               int64_t rankY, void *y,
                                               int64_t parts, int64_t bits,
                                               int64_t group, int64_t flags) {
  dequantizeCommon("lathe_rt_dequantize_reduce_f32", rankQ, q, rankS, scales,
                   rankY, y, parts, bits, group, flags);
}

extern "C" void lathe_rt_dequantize_reduce_requantize_f32(
    int64_t rankQ, void *q, int64_t rankS, void *scales, int64_t rankQOut,
    void *qOut, int64_t rankSOut, void *scalesOut, int64_t parts, int64_t bits,
    int64_t group, int64_t outBits, int64_t outGroup, int64_t flags,
    int64_t seed) {
  guardKernel("lathe_rt_dequantize_reduce_requantize_f32", [&] {
    static const int kind = profileKind("dequantize_reduce_requantize");
    ProfileScope profile(kind);
    Isa isa = checkedIsa();
    checkBitsAndGroup(bits, group);
    checkBitsAndGroup(outBits, outGroup);
    if (flags & ~int64_t(LATHE_QUANT_STOCHASTIC))
      fail(LATHE_ERR_INVALID, "unknown flags 0x", std::hex, flags,
           " (dequantize_reduce_requantize accepts LATHE_QUANT_STOCHASTIC "
           "only)");
    if (parts <= 0)
      fail(LATHE_ERR_INVALID, "parts must be positive, got ", parts);
    auto qv = decodeFlat<const int8_t>(rankQ, q, "q");
    auto sv = decodeFlat<const float>(rankS, scales, "scales");
    auto qov = decodeFlat<int8_t>(rankQOut, qOut, "qOut");
    auto sov = decodeFlat<float>(rankSOut, scalesOut, "scalesOut");
    // n, the number of summed values, from the output's groups.
    if (sov.numel > std::numeric_limits<int64_t>::max() / 8 / outGroup)
      fail(LATHE_ERR_SHAPE, sov.numel, " output groups of ", outGroup,
           " values are too many");
    int64_t n = sov.numel * outGroup;
    checkGroups(n, group, "the reduced vector (scalesOut * outGroup values)");
    if (n > 0 && parts > std::numeric_limits<int64_t>::max() / 8 / n)
      fail(LATHE_ERR_SHAPE, parts, " parts of ", n, " values are too many");
    checkCount(qov.numel, n * outBits / 8, "qOut",
               outBits == 8 ? "one int8 per value of scalesOut * outGroup"
                            : "two 4-bit values per int8 of scalesOut * "
                              "outGroup");
    checkCount(qv.numel, parts * n * bits / 8, "q",
               bits == 8 ? "parts * n values, one int8 per value"
                         : "parts * n values, two 4-bit values per int8");
    checkCount(sv.numel, parts * (n / group), "scales",
               "parts * n / group, one per group");
    RequantizeJob job{qv.data,
                      sv.data,
                      qov.data,
                      sov.data,
                      n,
                      parts,
                      group,
                      bits,
                      outGroup,
                      outBits,
                      (flags & LATHE_QUANT_STOCHASTIC) != 0,
                      static_cast<uint64_t>(seed)};
    auto run = isa == Isa::Avx512 ? requantizeAvx512
               : isa == Isa::Avx2 ? requantizeAvx2
                                  : requantizeGeneric;
    parallelChunks(n / outGroup, groupGrain(outGroup), n * (4 + parts),
                   [&](int64_t g0, int64_t g1) { run(job, g0, g1); });
  });
}

extern "C" void lathe_rt_hadamard32_f32(int64_t rankX, void *x, int64_t rankY,
                                        void *y) {
  guardKernel("lathe_rt_hadamard32_f32", [&] {
    static const int kind = profileKind("hadamard32");
    ProfileScope profile(kind);
    Isa isa = checkedIsa();
    auto xv = decodeFlat<const float>(rankX, x, "x");
    auto yv = decodeFlat<float>(rankY, y, "y");
    int64_t n = xv.numel;
    if (n % 32 != 0)
      fail(LATHE_ERR_SHAPE, "x has ", n,
           " elements, not a multiple of the transform's order 32");
    checkCount(yv.numel, n, "y", "as many as x");
    if (yv.data != xv.data && yv.data < xv.data + n && xv.data < yv.data + n)
      fail(LATHE_ERR_INVALID,
           "y partially overlaps x (in place needs the same buffer)");
    HadamardJob job{xv.data, yv.data};
    auto run = isa == Isa::Generic ? hadamardGeneric : hadamardAvx2;
    parallelChunks(n / 32, 512, n * 4,
                   [&](int64_t b0, int64_t b1) { run(job, b0, b1); });
  });
}

extern "C" const char *lathe_rt_quant_isa(void) {
  switch (selectedIsa()) {
  case Isa::Avx512:
    return "avx512";
  case Isa::Avx2:
    return "avx2";
  case Isa::Generic:
    return "generic";
  case Isa::Invalid:
    break;
  }
  return "invalid";
}
