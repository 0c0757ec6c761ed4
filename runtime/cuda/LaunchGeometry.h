//===- LaunchGeometry.h - Parameters and launch shapes of own kernels -----===//
//
// Shared by ModelKernels.cu (device) and ModelKernels.cpp (host): the
// parameter blocks the kernels take by value, and the host-side arithmetic
// that fills them and picks launch shapes. Plain C++ (no CUDA header), so
// GoogleTest checks it on machines without a GPU (LaunchGeometryTest.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_CUDA_LAUNCHGEOMETRY_H
#define LATHE_RUNTIME_CUDA_LAUNCHGEOMETRY_H

#include <stdint.h>

#ifdef __CUDACC__
#define LATHE_HD __host__ __device__
#else
#define LATHE_HD
#endif

namespace lathe_cuda {

/// A memref descriptor of any element type.
/// A memref descriptor {allocated, aligned, offset, sizes[rank],
/// strides[rank]} of any element type (the CPU runtime's (rank, void *)
/// convention), with the offset applied in bytes.
struct Ref {
  char *data = nullptr; // aligned + offset, in bytes
  int64_t rank = 0;
  const int64_t *sizes = nullptr, *strides = nullptr;
  int64_t size(int64_t i) const { return sizes[i]; }
  int64_t stride(int64_t i) const { return strides[i]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t i = 0; i < rank; ++i)
      n *= sizes[i];
    return n;
  }
  template <typename T> T *as() const { return reinterpret_cast<T *>(data); }
};

/// Decodes `descriptor` whose elements are `elementBytes` wide.
inline Ref ref(int64_t rank, void *descriptor, int64_t elementBytes) {
  struct Header {
    char *allocated, *aligned;
    int64_t offset;
  };
  auto *h = static_cast<Header *>(descriptor);
  Ref r;
  r.data = h->aligned + h->offset * elementBytes;
  r.rank = rank;
  r.sizes = reinterpret_cast<int64_t *>(h + 1);
  r.strides = r.sizes + rank;
  return r;
}

/// Row kernels (softmax, masked softmax, layer norm): `rows` rows of `n`
/// elements; row r's outer index decomposes over outerSizes (row-major), and
/// element j of it is at the operand's outer offset + j * axis stride.
constexpr int kMaxRowDims = 8;
struct RowParams {
  const float *in = nullptr;
  float *out = nullptr;
  const signed char *mask = nullptr; ///< null: no mask
  int64_t rows = 0, n = 0;
  int64_t inAxis = 0, outAxis = 0, maskAxis = 0;
  int numOuter = 0;
  int64_t outerSizes[kMaxRowDims] = {};
  int64_t inStrides[kMaxRowDims] = {};
  int64_t outStrides[kMaxRowDims] = {};
  int64_t maskStrides[kMaxRowDims] = {};
  float fill = 0.f;
  int maskedWhen = 1;
};

/// Fills the row decomposition of a [sizes] tensor reduced along `axis`
/// (strides of in and out). False for a rank or axis out of range.
inline bool makeRowParams(int64_t rank, const int64_t *sizes,
                          const int64_t *inStrides, const int64_t *outStrides,
                          int64_t axis, RowParams &p) {
  if (rank < 1 || rank > kMaxRowDims || axis < 0 || axis >= rank)
    return false;
  p.numOuter = 0;
  p.rows = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (d == axis)
      continue;
    p.outerSizes[p.numOuter] = sizes[d];
    p.inStrides[p.numOuter] = inStrides[d];
    p.outStrides[p.numOuter] = outStrides[d];
    p.maskStrides[p.numOuter] = 0;
    ++p.numOuter;
    p.rows *= sizes[d];
  }
  p.n = sizes[axis];
  p.inAxis = inStrides[axis];
  p.outAxis = outStrides[axis];
  p.maskAxis = 0;
  return true;
}

/// Offsets of row `row` in the operands of a row kernel (the kernels call
/// this on the device).
LATHE_HD inline void rowOffsets(const RowParams &p, int64_t row, int64_t &in,
                                int64_t &out, int64_t &mask) {
  in = out = mask = 0;
  for (int d = p.numOuter - 1; d >= 0; --d) {
    int64_t i = row % p.outerSizes[d];
    row /= p.outerSizes[d];
    in += i * p.inStrides[d];
    out += i * p.outStrides[d];
    mask += i * p.maskStrides[d];
  }
}

/// Walks a mask of rank `maskRank` broadcast onto a tensor of rank `rank`:
/// mask dimension i runs along dimension (maskDims >> 4i) & 0xF, or is a
/// unit dimension when that is 0xF (the CPU runtime's convention for masks);
/// size-1 mask dimensions broadcast (stride 0). Calls `add(d, stride)` for
/// each mask dimension along a dimension d. False when a dimension names no
/// dimension of the tensor or its size fits neither 1 nor the tensor's.
template <typename AddStride>
inline bool forEachMaskDim(int64_t rank, const int64_t *sizes, int64_t maskRank,
                           const int64_t *maskSizes, const int64_t *maskStrides,
                           int64_t maskDims, AddStride add) {
  if (maskRank < 0 || maskRank > 15)
    return false;
  for (int64_t i = 0; i < maskRank; ++i) {
    int64_t d = (maskDims >> (4 * i)) & 0xF;
    if (d == 0xF) {
      if (maskSizes[i] != 1)
        return false;
      continue;
    }
    if (d >= rank || (maskSizes[i] != 1 && maskSizes[i] != sizes[d]))
      return false;
    add(d, maskSizes[i] == 1 ? 0 : maskStrides[i]);
  }
  return true;
}

/// Adds a mask (forEachMaskDim's, as lathe_rt_masked_softmax_f32 takes it)
/// to the row decomposition of an input of rank `rank` reduced along `axis`.
inline bool addRowMask(int64_t rank, const int64_t *sizes, int64_t axis,
                       int64_t maskRank, const int64_t *maskSizes,
                       const int64_t *maskStrides, int64_t maskDims,
                       RowParams &p) {
  return forEachMaskDim(rank, sizes, maskRank, maskSizes, maskStrides, maskDims,
                        [&](int64_t d, int64_t stride) {
                          if (d == axis)
                            p.maskAxis += stride;
                          else
                            p.maskStrides[d < axis ? d : d - 1] += stride;
                        });
}

/// A 1-D launch.
struct Launch {
  unsigned grid = 1, block = 1, sharedBytes = 0;
};

/// One warp per row, `warpsPerBlock` warps a block.
inline Launch warpPerRowLaunch(int64_t rows, int warpsPerBlock = 8) {
  Launch l;
  l.block = unsigned(32 * warpsPerBlock);
  int64_t blocks = (rows + warpsPerBlock - 1) / warpsPerBlock;
  l.grid = unsigned(blocks < 1 ? 1 : blocks > 0x7fffffff ? 0x7fffffff : blocks);
  return l;
}

/// A grid-stride kernel over n elements (at most 65535 x 4 blocks: each
/// thread takes several elements when there are more).
inline Launch gridStrideLaunch(int64_t n, unsigned block = 256) {
  Launch l;
  l.block = block;
  int64_t blocks = (n + block - 1) / block;
  const int64_t cap = 65535 * 4;
  l.grid = unsigned(blocks < 1 ? 1 : blocks > cap ? cap : blocks);
  return l;
}

/// Attention operands: q, k, v, bias 0, bias 1, o, lse, and the strides of
/// a mask (its data is AttentionParams::mask).
constexpr int kAttnOperands = 8;
constexpr int kAttnMask = 7;
constexpr int kAttnMaxBatch = 3;
struct AttnOperand {
  float *data = nullptr;
  int64_t batchStrides[kAttnMaxBatch] = {}; ///< 0 where it broadcasts
  int64_t rowStride = 0, colStride = 0;     ///< 0 where it broadcasts
};
struct AttentionParams {
  AttnOperand ops[kAttnOperands];
  int64_t batchSizes[kAttnMaxBatch] = {};
  int numBatch = 0;
  int64_t lq = 0, lk = 0, d = 0, dv = 0, bq = 0, bk = 0;
  float scale = 1.f;
  int numBiases = 0;
  /// Masked attention (lathe_rt_masked_attention_f32): score (.., i, j) is
  /// `fill` where mask (.., i, j) == maskedWhen; a row without a finite
  /// maximum is NaN (the decomposed softmax) instead of 0.
  const signed char *mask = nullptr;
  float fill = 0.f;
  int maskedWhen = 1;
  int decomposedSoftmax = 0;
};

/// The strides of a mask (forEachMaskDim's) broadcast onto scores of rank
/// `rank` (leading dimensions, then Lq, Lk).
inline bool attentionMaskStrides(int64_t rank, const int64_t *scoreSizes,
                                 int64_t maskRank, const int64_t *maskSizes,
                                 const int64_t *maskStrides, int64_t maskDims,
                                 AttnOperand &m) {
  if (rank < 2 || rank > 2 + kAttnMaxBatch)
    return false;
  m = AttnOperand();
  return forEachMaskDim(rank, scoreSizes, maskRank, maskSizes, maskStrides,
                        maskDims, [&](int64_t d, int64_t stride) {
                          if (d == rank - 2)
                            m.rowStride += stride;
                          else if (d == rank - 1)
                            m.colStride += stride;
                          else
                            m.batchStrides[d] += stride;
                        });
}

/// Shared memory of lathe_attention for bq x bk tiles (floats: q, padded k,
/// v, scores, accumulator, row max and sum).
inline int64_t attentionSharedBytes(int64_t bq, int64_t bk, int64_t d,
                                    int64_t dv) {
  return 4 * (bq * d + bk * (d + 1) + bk * dv + bq * bk + bq * dv + 2 * bq);
}

/// The query and key tiles of lathe_attention: up to 32 x 64, halved (keys
/// first) until the shared memory fits `maxShared` bytes. False when not
/// even 1 x 1 fits (a head dimension too large for this kernel).
inline bool attentionTiles(int64_t lq, int64_t lk, int64_t d, int64_t dv,
                           int64_t maxShared, int64_t &bq, int64_t &bk) {
  bq = lq < 32 ? (lq < 1 ? 1 : lq) : 32;
  bk = lk < 64 ? (lk < 1 ? 1 : lk) : 64;
  while (attentionSharedBytes(bq, bk, d, dv) > maxShared) {
    if (bk > 8 || (bk > 1 && bq == 1))
      bk = (bk + 1) / 2;
    else if (bq > 1)
      bq = (bq + 1) / 2;
    else
      return false;
  }
  return true;
}

/// One block per (batch element, query tile), 128 threads.
inline Launch attentionLaunch(int64_t batch, int64_t lq, int64_t bq, int64_t bk,
                              int64_t d, int64_t dv) {
  Launch l;
  l.block = 128;
  int64_t blocks = batch * ((lq + bq - 1) / bq);
  l.grid = unsigned(blocks < 1 ? 1 : blocks);
  l.sharedBytes = unsigned(attentionSharedBytes(bq, bk, d, dv));
  return l;
}

/// One step of lathe_rnn_gates.
struct RnnStepParams {
  const float *xp = nullptr, *hp = nullptr, *hPrev = nullptr, *cPrev = nullptr;
  float *hOut = nullptr, *cOut = nullptr, *y = nullptr, *z = nullptr,
        *rh = nullptr;
  int64_t n = 0, h = 0, hPrevStride = 0, cPrevStride = 0, yStride = 0;
  int gateCount = 0, cell = 0, phase = 0;
  int gates[4] = {};
};

} // namespace lathe_cuda

#endif // LATHE_RUNTIME_CUDA_LAUNCHGEOMETRY_H
