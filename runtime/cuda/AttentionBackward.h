//===- AttentionBackward.h - Parameters of the attention backward kernels -===//
//
// Shared by AttentionBackward.cu (device) and AttentionBackward.cpp (host):
// the parameter block of lathe_attention_bwd_* and the host-side arithmetic
// that picks their tiles and maps a bias gradient's elements onto the score
// elements summed into them. Plain C++ (no CUDA header), so GoogleTest checks
// it on machines without a GPU (LaunchGeometryTest.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_CUDA_ATTENTIONBACKWARD_H
#define LATHE_RUNTIME_CUDA_ATTENTIONBACKWARD_H

#include "LaunchGeometry.h"

namespace lathe_cuda {

/// Operands of the backward kernels, in AttnOperand form (leading-dimension
/// strides 0 where an operand broadcasts). kBwdLse's colStride is unused.
enum AttnBwdOperand {
  kBwdQ,
  kBwdK,
  kBwdV,
  kBwdO,
  kBwdDO,
  kBwdLse,
  kBwdB0,
  kBwdB1,
  kBwdDQ,
  kBwdDK,
  kBwdDV,
  kBwdOperands
};

struct AttentionBackwardParams {
  AttnOperand ops[kBwdOperands];
  /// D = rowsum(dO ∘ O), dense [batch, Lq] (the delta kernel writes it).
  float *delta = nullptr;
  int64_t batchSizes[kAttnMaxBatch] = {};
  int numBatch = 0;
  int64_t lq = 0, lk = 0, d = 0, dv = 0, bq = 0, bk = 0;
  float scale = 1.f;
  int numBiases = 0;
};

/// The gradient of one bias: its own sizes and strides (rank = the scores'
/// rank); a size-1 dimension where the scores' is larger is summed over.
struct BiasGradParams {
  float *data = nullptr;
  int rank = 0;
  int64_t sizes[2 + kAttnMaxBatch] = {};
  int64_t strides[2 + kAttnMaxBatch] = {};
  /// Sizes of the scores [leading..., Lq, Lk].
  int64_t scoreSizes[2 + kAttnMaxBatch] = {};
};

/// Score elements summed into each element of the gradient: the product of
/// the score sizes along the dimensions the gradient broadcasts over.
inline int64_t biasGradTerms(const BiasGradParams &g) {
  int64_t n = 1;
  for (int dim = 0; dim < g.rank; ++dim)
    if (g.sizes[dim] == 1)
      n *= g.scoreSizes[dim];
  return n;
}

/// Offset in the gradient of its element `element` (row-major over its
/// sizes). The kernels call this on the device.
LATHE_HD inline int64_t biasGradOffset(const BiasGradParams &g,
                                       int64_t element) {
  int64_t offset = 0;
  for (int dim = g.rank - 1; dim >= 0; --dim) {
    if (g.sizes[dim] == 1)
      continue;
    offset += element % g.sizes[dim] * g.strides[dim];
    element /= g.sizes[dim];
  }
  return offset;
}

/// The score coordinate idx[rank] of term `term` (< biasGradTerms(g)) of
/// gradient element `element`.
LATHE_HD inline void biasGradTerm(const BiasGradParams &g, int64_t element,
                                  int64_t term, int64_t *idx) {
  for (int dim = g.rank - 1; dim >= 0; --dim) {
    if (g.sizes[dim] == 1) {
      idx[dim] = term % g.scoreSizes[dim];
      term /= g.scoreSizes[dim];
      continue;
    }
    idx[dim] = element % g.sizes[dim];
    element /= g.sizes[dim];
  }
}

/// Shared memory (floats) of lathe_attention_bwd_dq for bq x bk tiles: q and
/// dO tiles, padded k and v tiles, ds, the dQ accumulator, lse and D rows.
inline int64_t attentionBwdDqFloats(int64_t bq, int64_t bk, int64_t d,
                                    int64_t dv) {
  return bq * d + bq * dv + bk * (d + 1) + bk * (dv + 1) + bq * bk + bq * d +
         2 * bq;
}

/// Shared memory (floats) of lathe_attention_bwd_dkdv: padded k and v
/// tiles, q and dO tiles, p and ds, the dK and dV accumulators, lse and D.
inline int64_t attentionBwdDkdvFloats(int64_t bq, int64_t bk, int64_t d,
                                      int64_t dv) {
  return bk * (d + 1) + bk * (dv + 1) + bq * d + bq * dv + 2 * bq * bk +
         bk * d + bk * dv + 2 * bq;
}

/// Tiles of both kernels: up to 32 x 32, the query tile halved first, then
/// the key tile, until both kernels' shared memory fits `maxShared` bytes.
/// False when not even 1 x 1 fits (head dimensions too large).
inline bool attentionBwdTiles(int64_t lq, int64_t lk, int64_t d, int64_t dv,
                              int64_t maxShared, int64_t &bq, int64_t &bk) {
  bq = lq < 32 ? (lq < 1 ? 1 : lq) : 32;
  bk = lk < 32 ? (lk < 1 ? 1 : lk) : 32;
  auto fits = [&] {
    return 4 * attentionBwdDqFloats(bq, bk, d, dv) <= maxShared &&
           4 * attentionBwdDkdvFloats(bq, bk, d, dv) <= maxShared;
  };
  while (!fits()) {
    if (bq > 1 && bq >= bk)
      bq = (bq + 1) / 2;
    else if (bk > 1)
      bk = (bk + 1) / 2;
    else if (bq > 1)
      bq = (bq + 1) / 2;
    else
      return false;
  }
  return true;
}

} // namespace lathe_cuda

#endif // LATHE_RUNTIME_CUDA_ATTENTIONBACKWARD_H
