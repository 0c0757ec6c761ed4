//===- BankSelect.h - The cross-modal reduction's selection -----*- C++ -*-===//
//
// Header-only, no state, no runtime ABI: how many tokens a cross-modal
// reduction (memred.cross_modal_reduce, memred.bank_append) keeps, the order
// in which older tokens compete for the kept slots (AdaCM²'s score, the
// random policy's splitmix64 priority) and the priorities themselves. The CPU
// runtime (Attention.cpp) and the CUDA runtime's kernels (MemRedKernels.cu,
// compiled by nvcc: hence plain C arithmetic and host/device functions) both
// use it, so that the two backends keep the same rows.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_BANKSELECT_H
#define LATHE_RUNTIME_BANKSELECT_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define LATHE_BANK_HD __host__ __device__
#else
#define LATHE_BANK_HD
#endif

namespace lathe::bank_select {

/// memred.bank_append's policies (BankAppendOp::getPolicyCode).
enum Policy : int64_t {
  kPolicyAdaCM2 = 0,
  kPolicyRecent = 1,
  kPolicyRandom = 2,
  kPolicyMerge = 3
};

/// ceil(f · m) clamped to m; the small epsilon keeps 0.1 · 320 = 32 (not 33)
/// despite rounding.
inline LATHE_BANK_HD int64_t ceilFraction(double f, int64_t m) {
  int64_t c = static_cast<int64_t>(ceil(f * static_cast<double>(m) - 1e-9));
  return c < m ? c : m;
}

/// The newest tokens kept whole out of n.
inline LATHE_BANK_HD int64_t recentCount(int64_t n, double recent) {
  return ceilFraction(recent, n);
}

/// Tokens kept out of n: the newest ceil(recent · n) and ceil(keep · rest)
/// older ones; -1 for a negative n or a fraction outside (0, 1].
inline LATHE_BANK_HD int64_t keptCount(int64_t n, double recent, double keep) {
  if (n < 0 || !(recent > 0.0 && recent <= 1.0) || !(keep > 0.0 && keep <= 1.0))
    return -1;
  int64_t r = recentCount(n, recent);
  return r + ceilFraction(keep, n - r);
}

/// Whether older token a (total score sa) takes a kept slot before token b:
/// the higher score first, NaN above everything (as torch.topk ranks it, so
/// that the order stays a strict weak order), ties to the newer token.
inline LATHE_BANK_HD bool scoreBefore(double sa, int64_t a, double sb,
                                      int64_t b) {
  bool nanA = isnan(sa), nanB = isnan(sb);
  if (nanA != nanB)
    return nanA;
  if (!nanA && sa != sb)
    return sa > sb;
  return a > b;
}

inline LATHE_BANK_HD uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// The random policy's key for one reduction (`seed`, the reduction's
/// `step`); older token j's priority is splitmix64(key + j).
inline LATHE_BANK_HD uint64_t randomKey(int64_t seed, int64_t step) {
  return splitmix64(splitmix64(static_cast<uint64_t>(seed)) ^
                    static_cast<uint64_t>(step));
}

/// The random policy's order: the higher priority first, ties to the newer.
inline LATHE_BANK_HD bool priorityBefore(uint64_t pa, int64_t a, uint64_t pb,
                                         int64_t b) {
  if (pa != pb)
    return pa > pb;
  return a > b;
}

/// The merge policy's similarity of two rows of c floats (strides sa, sb):
/// their cosine in f64, 0 when a row is all zeros.
inline LATHE_BANK_HD double cosine(const float *a, int64_t sa, const float *b,
                                   int64_t sb, int64_t c) {
  double dot = 0, na = 0, nb = 0;
  for (int64_t e = 0; e < c; ++e) {
    double x = a[e * sa], y = b[e * sb];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  double den = sqrt(na) * sqrt(nb);
  return den > 0 ? dot / den : 0.0;
}

} // namespace lathe::bank_select

#endif // LATHE_RUNTIME_BANKSELECT_H
