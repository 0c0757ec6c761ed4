//===- Simd.h - Vector types and ISA pick of own kernels --------*- C++ -*-===//
//
// The runtime is built for baseline x86-64. Its own vectorised kernels (the
// LSTM loop, the skinny matmul) are written once with GCC/Clang vector
// extensions, inlined into variants compiled for AVX-512 and for AVX2 + FMA
// (target attributes), and one variant is picked at run time from the CPU's
// features capped by oneDNN's effective ISA (ONEDNN_MAX_CPU_ISA), so a test
// capped at AVX2 runs the AVX2 variants on an AVX-512 machine.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_LIB_SIMD_H
#define LATHE_RUNTIME_LIB_SIMD_H

#include <cstdint>
#include <cstring>

#define LATHE_ALWAYS_INLINE inline __attribute__((always_inline))
#define LATHE_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define LATHE_TARGET_AVX512                                                    \
  __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
#define LATHE_TARGET_AVX512_BF16                                               \
  __attribute__((                                                              \
      target("avx512f,avx512dq,avx512vl,avx512bw,avx512bf16,avx2,fma")))

namespace lathe::rt {

typedef float V16F __attribute__((vector_size(64)));
typedef int32_t V16I __attribute__((vector_size(64)));
typedef float V8F __attribute__((vector_size(32)));
typedef int32_t V8I __attribute__((vector_size(32)));

/// Floats per vector of the variant this process runs: 16 (AVX-512), 8
/// (AVX2 + FMA), or 0 when neither is usable (the callers then use oneDNN).
int simdWidth();

/// Unaligned load, store and broadcast of a vector of type VF.
template <typename VF> LATHE_ALWAYS_INLINE VF loadVec(const float *p) {
  VF v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <typename VF> LATHE_ALWAYS_INLINE void storeVec(float *p, VF v) {
  std::memcpy(p, &v, sizeof(v));
}
template <typename VF> LATHE_ALWAYS_INLINE VF splatVec(float s) {
  // Element by element: `VF{} + s` is an addition the compiler must keep
  // (0 + -0 is +0), one more instruction before each broadcast.
  VF v;
  for (int i = 0; i < int(sizeof(VF) / sizeof(float)); ++i)
    v[i] = s;
  return v;
}

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_SIMD_H
