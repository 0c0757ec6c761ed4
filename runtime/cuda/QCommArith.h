//===- QCommArith.h - Element arithmetic of the qcomm kernels -------------===//
//
// Shared by QCommKernels.cu (device) and QComm.cpp / QCommArithTest.cpp
// (host): the per-element arithmetic of quantize, dequantize, the sum over
// parts and the order-32 Hadamard butterflies, written so that a GPU rank
// produces the CPU runtime's bytes and scales bit for bit (Quant.h's
// contract): IEEE f32 division for the scale and x / scale (nvcc's default
// -prec-div=true; the explicit _rn intrinsics on the device), every product
// and sum rounded on its own (no contraction into FMA: the _rn intrinsics
// are never fused), round-half-to-even by adding and subtracting 1.5 * 2^23
// (exact below 2^22, as the CPU does it), floor for stochastic rounding
// from that, and the CPU's stochastic offsets: splitmix64 of (seed, flat
// element index), so the random stream is the CPU's, value for value.
// 4-bit values pack two per byte, element 2i in the low nibble, two's
// complement, as the CPU packs them. Plain C++ outside nvcc (GoogleTest
// checks it on machines without a GPU).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_CUDA_QCOMMARITH_H
#define LATHE_RUNTIME_CUDA_QCOMMARITH_H

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define LATHE_QC_HD __host__ __device__
#else
#define LATHE_QC_HD
// Each operation rounds on its own on the host too.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#endif

namespace lathe_cuda::qcomm {

/// Kernel flags: the CPU runtime's LATHE_QUANT_STOCHASTIC and
/// LATHE_QUANT_ACCUMULATE (Quant.h), which generated code passes.
enum : int64_t { kStochastic = 1, kAccumulate = 2 };

/// The f32 value of 1/sqrt(32) (Quant.cpp's kInvSqrt32).
constexpr float kInvSqrt32 = 0.17677669529663688f;

LATHE_QC_HD inline float mulRn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
LATHE_QC_HD inline float addRn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
LATHE_QC_HD inline float subRn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
LATHE_QC_HD inline float divRn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
/// The bits of `from` as a `To` of the same width (float <-> uint32_t), on
/// the host and the device alike (nvcc makes the copy a register move).
template <typename To, typename From>
LATHE_QC_HD inline To bitCast(const From &from) {
  static_assert(sizeof(To) == sizeof(From), "bitCast keeps the width");
  To to;
  memcpy(&to, &from, sizeof(to));
  return to;
}

/// |x| as bits: the maximum of these over a group is >= 0x7f800000 iff the
/// group holds a NaN or an infinity.
LATHE_QC_HD inline uint32_t absBits(float x) {
  return bitCast<uint32_t>(x) & 0x7fffffffu;
}

LATHE_QC_HD inline float qmaxOf(int bits) { return bits == 8 ? 127.f : 7.f; }

/// A group's scale from the largest |x| as bits: NaN for a group with NaN
/// or Inf, else max / qmax (0 for zeros and underflow; the group's values
/// are then all 0).
LATHE_QC_HD inline float scaleOf(uint32_t maxAbs, int bits) {
  if (maxAbs >= 0x7f800000u)
    return bitCast<float>(0x7fc00000u);
  return divRn(bitCast<float>(maxAbs), qmaxOf(bits));
}

/// rint(t) for |t| < 2^22, ties to even.
LATHE_QC_HD inline float roundHalfEven(float t) {
  const float kMagic = 12582912.0f; // 1.5 * 2^23
  return subRn(addRn(t, kMagic), kMagic);
}

/// Output `index` of splitmix64 seeded with `seed` (Quant.h).
LATHE_QC_HD inline uint64_t splitmix64(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The stochastic-rounding offset of element `index`: top 24 bits * 2^-24.
LATHE_QC_HD inline float uniformOffset(uint64_t seed, uint64_t index) {
  auto top24 = static_cast<int32_t>(splitmix64(seed, index) >> 40);
  return mulRn(static_cast<float>(top24), 5.9604644775390625e-8f);
}

LATHE_QC_HD inline float clampTo(float v, float qmax) {
  v = v < -qmax ? -qmax : v;
  return v > qmax ? qmax : v;
}

/// The quantized value of x in a group of positive finite `scale`:
/// clamp(rint(x / scale)) or, stochastic, clamp(floor(x / scale + u)) with
/// u the offset of flat element `index`.
LATHE_QC_HD inline int quantizeValue(float x, float scale, int bits,
                                     bool stochastic, uint64_t seed,
                                     uint64_t index) {
  float qmax = qmaxOf(bits);
  float t = divRn(x, scale);
  if (!stochastic)
    return static_cast<int>(roundHalfEven(clampTo(t, qmax)));
  float v = addRn(t, uniformOffset(seed, index));
  float r = roundHalfEven(v);
  r = r > v ? subRn(r, 1.f) : r;
  return static_cast<int>(clampTo(r, qmax));
}

/// One byte of 4-bit values: `lo` (element 2i) in the low nibble.
LATHE_QC_HD inline int8_t packPair(int lo, int hi) {
  return static_cast<int8_t>(
      static_cast<uint8_t>((static_cast<uint32_t>(lo) & 0x0fu) |
                           ((static_cast<uint32_t>(hi) & 0x0fu) << 4)));
}

/// Element e of a vector packed at `bits` (4: sign-extended nibble).
LATHE_QC_HD inline int quantizedAt(const int8_t *q, int64_t e, int bits) {
  if (bits == 8)
    return q[e];
  int byte = q[e >> 1];
  int nibble = (e & 1) ? (byte >> 4) & 0xf : byte & 0xf;
  return nibble >= 8 ? nibble - 16 : nibble;
}

/// `parts` quantized vectors of n values back to back, as an all-to-all
/// delivers them (Quant.h's lathe_rt_dequantize_reduce_f32 layout).
struct PartsView {
  const int8_t *q = nullptr;
  const float *scales = nullptr;
  int64_t n = 0, parts = 1, group = 1;
  int bits = 8;
};

/// Element e summed over the parts as the CPU sums it: d_0, then s + d_p in
/// part order, d_p = q_p * scale_p.
LATHE_QC_HD inline float sumParts(const PartsView &v, int64_t e) {
  const int64_t numGroups = v.n / v.group, partBytes = v.n * v.bits / 8;
  const int64_t g = e / v.group;
  float s = 0.f;
  for (int64_t p = 0; p < v.parts; ++p) {
    float d =
        mulRn(static_cast<float>(quantizedAt(v.q + p * partBytes, e, v.bits)),
              v.scales[p * numGroups + g]);
    s = p == 0 ? d : addRn(s, d);
  }
  return s;
}

/// The parameters of lathe_qcomm_quantize: x (quantize) or, when x is
/// null, the sum over the parts of `in` (the fused requantize) in `groups`
/// groups of `group` values.
struct QuantizeParams {
  const float *x = nullptr;
  PartsView in;
  int8_t *q = nullptr;
  float *scales = nullptr;
  int64_t groups = 0, group = 1;
  int bits = 8, stochastic = 0;
  uint64_t seed = 0;
};

/// Element e of what lathe_qcomm_quantize quantizes.
LATHE_QC_HD inline float quantizeSource(const QuantizeParams &p, int64_t e) {
  return p.x ? p.x[e] : sumParts(p.in, e);
}

/// Byte b of group g's packed values (one value at 8 bits, two at 4), given
/// the group's scale (0 for a group of zero, NaN or tiny scale).
LATHE_QC_HD inline int8_t quantizedByte(const QuantizeParams &p, int64_t g,
                                        int64_t b, float scale) {
  if (!(scale > 0.f))
    return 0;
  const bool stochastic = p.stochastic != 0;
  const int64_t first = g * p.group;
  if (p.bits == 8) {
    int64_t e = first + b;
    return static_cast<int8_t>(
        quantizeValue(quantizeSource(p, e), scale, 8, stochastic, p.seed, e));
  }
  int64_t e = first + 2 * b;
  return packPair(
      quantizeValue(quantizeSource(p, e), scale, 4, stochastic, p.seed, e),
      quantizeValue(quantizeSource(p, e + 1), scale, 4, stochastic, p.seed,
                    e + 1));
}

/// One butterfly of the Hadamard transform: the element whose index has the
/// stage's bit clear becomes v + partner, the other partner - v (Quant.cpp's
/// a + b and a - b with a the lower element).
LATHE_QC_HD inline float butterfly(float v, float partner, bool upper) {
  return upper ? subRn(partner, v) : addRn(v, partner);
}

} // namespace lathe_cuda::qcomm

#endif // LATHE_RUNTIME_CUDA_QCOMMARITH_H
