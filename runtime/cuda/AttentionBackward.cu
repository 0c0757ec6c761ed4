// The backward of lathe_attention (memred.attention_grad), included by
// Kernels.cu after ModelKernels.cu (one fatbin; it shares its exp and warp
// reductions). FlashAttention-2's recurrence as the CPU runtime's
// lathe_rt_chunked_attention_backward_f32 computes it: with
// p = exp(scale·q·kᵀ + biases − lse), D = rowsum(dO ∘ O),
// dV = pᵀ·dO, ds = p ∘ (dO·Vᵀ − D), dQ = scale·ds·K, dK = scale·dsᵀ·Q and
// dbias = ds summed over the dimensions a bias broadcasts along. A row whose
// lse is −inf gets zero gradients. The L × L probabilities are never stored:
// each kernel recomputes its tiles, and every output element has one writer
// (no atomics: results do not depend on scheduling). Host side:
// AttentionBackward.cpp.

#include "AttentionBackward.h"

namespace {

using lathe_cuda::AttentionBackwardParams;

/// Offsets of batch element b (row-major over p.batchSizes) in every
/// operand.
__device__ inline void bwdBatchOffsets(const AttentionBackwardParams &p,
                                       int64_t b, int64_t *off) {
  for (int o = 0; o < lathe_cuda::kBwdOperands; ++o)
    off[o] = 0;
  for (int64_t dim = p.numBatch - 1; dim >= 0; --dim) {
    int64_t idx = b % p.batchSizes[dim];
    b /= p.batchSizes[dim];
    for (int o = 0; o < lathe_cuda::kBwdOperands; ++o)
      off[o] += idx * p.ops[o].batchStrides[dim];
  }
}

/// s = scale·q_i·k_j + biases of batch element `off`, from global memory.
__device__ inline float bwdScore(const AttentionBackwardParams &p,
                                 const int64_t *off, int64_t i, int64_t j) {
  const lathe_cuda::AttnOperand &Q = p.ops[lathe_cuda::kBwdQ],
                                &K = p.ops[lathe_cuda::kBwdK];
  float s = 0.f;
  for (int64_t c = 0; c < p.d; ++c)
    s += Q.data[off[lathe_cuda::kBwdQ] + i * Q.rowStride + c * Q.colStride] *
         K.data[off[lathe_cuda::kBwdK] + j * K.rowStride + c * K.colStride];
  return s * p.scale;
}

/// Adds the biases at (i, j) of batch element `off` to s.
__device__ inline float bwdAddBiases(const AttentionBackwardParams &p,
                                     const int64_t *off, int64_t i, int64_t j,
                                     float s) {
  for (int bi = 0; bi < p.numBiases; ++bi) {
    const lathe_cuda::AttnOperand &B = p.ops[lathe_cuda::kBwdB0 + bi];
    s += B.data[off[lathe_cuda::kBwdB0 + bi] + i * B.rowStride +
                j * B.colStride];
  }
  return s;
}

/// The probability and its score gradient from a score s, dp = dO_i·V_j,
/// the row's lse and D: (0, 0) for a row of −inf scores.
__device__ inline void bwdProbAndGrad(float s, float dp, float lse, float delta,
                                      float &prob, float &ds) {
  if (lse == -INFINITY) {
    prob = 0.f;
    ds = 0.f;
    return;
  }
  prob = expNonPositive(s - lse);
  ds = prob * (dp - delta);
}

__device__ inline float bwdLse(const AttentionBackwardParams &p,
                               const int64_t *off, int64_t i) {
  const lathe_cuda::AttnOperand &L = p.ops[lathe_cuda::kBwdLse];
  return L.data[off[lathe_cuda::kBwdLse] + i * L.rowStride];
}

/// Copies rows [r0, r0 + rows) of operand `o` (cols columns) of batch
/// element `off` into shared memory with row stride ld; the block's threads
/// share the work.
__device__ inline void bwdLoadTile(float *dst, int64_t ld,
                                   const AttentionBackwardParams &p, int o,
                                   const int64_t *off, int64_t r0,
                                   int64_t rows, int64_t cols) {
  const lathe_cuda::AttnOperand &X = p.ops[o];
  for (int64_t t = threadIdx.x; t < rows * cols; t += blockDim.x) {
    int64_t r = t / cols, c = t % cols;
    dst[r * ld + c] =
        X.data[off[o] + (r0 + r) * X.rowStride + c * X.colStride];
  }
}

/// lse and D of query rows [i0, i0 + rows) into shared memory.
__device__ inline void bwdLoadRowStats(float *lrow, float *drow,
                                       const AttentionBackwardParams &p,
                                       const int64_t *off, int64_t b,
                                       int64_t i0, int64_t rows) {
  for (int64_t t = threadIdx.x; t < rows; t += blockDim.x) {
    lrow[t] = bwdLse(p, off, i0 + t);
    drow[t] = p.delta[b * p.lq + i0 + t];
  }
}

/// p and ds of a rows x cols tile (query rows from i0, keys from j0) from
/// the tiles in shared memory: q [rows][d], dO [rows][dv], k [cols][ldk],
/// v [cols][ldv]; written with row stride bk (probs may be null).
__device__ inline void bwdScoreTile(const AttentionBackwardParams &p,
                                    const int64_t *off, const float *qs,
                                    const float *dos, const float *ks,
                                    int64_t ldk, const float *vs, int64_t ldv,
                                    const float *lrow, const float *drow,
                                    int64_t i0, int64_t rows, int64_t j0,
                                    int64_t cols, float *probs, float *dss) {
  for (int64_t t = threadIdx.x; t < rows * cols; t += blockDim.x) {
    int64_t i = t / cols, j = t % cols;
    float s = 0.f, dp = 0.f;
    for (int64_t c = 0; c < p.d; ++c)
      s += qs[i * p.d + c] * ks[j * ldk + c];
    for (int64_t c = 0; c < p.dv; ++c)
      dp += dos[i * p.dv + c] * vs[j * ldv + c];
    s = bwdAddBiases(p, off, i0 + i, j0 + j, s * p.scale);
    float prob, ds;
    bwdProbAndGrad(s, dp, lrow[i], drow[i], prob, ds);
    if (probs)
      probs[i * p.bk + j] = prob;
    dss[i * p.bk + j] = ds;
  }
}

/// acc[r][c] += Σ_k a[k·lda + r·ra] · x[k·ldx + c] for an n x cols
/// accumulator over `len` terms (a tile product from shared memory).
__device__ inline void bwdAccumulate(float *acc, int64_t n, int64_t cols,
                                     const float *a, int64_t lda, int64_t ra,
                                     const float *x, int64_t ldx,
                                     int64_t len) {
  for (int64_t t = threadIdx.x; t < n * cols; t += blockDim.x) {
    int64_t r = t / cols, c = t % cols;
    float sum = acc[t];
    for (int64_t k = 0; k < len; ++k)
      sum += a[k * lda + r * ra] * x[k * ldx + c];
    acc[t] = sum;
  }
}

/// Writes scale · acc (n x cols) to rows [r0, r0 + n) of operand `o`.
__device__ inline void bwdStoreTile(const AttentionBackwardParams &p, int o,
                                    const int64_t *off, int64_t r0, int64_t n,
                                    int64_t cols, const float *acc,
                                    float scale) {
  const lathe_cuda::AttnOperand &X = p.ops[o];
  for (int64_t t = threadIdx.x; t < n * cols; t += blockDim.x) {
    int64_t r = t / cols, c = t % cols;
    X.data[off[o] + (r0 + r) * X.rowStride + c * X.colStride] = scale * acc[t];
  }
}

/// The walk both gradient kernels make over the other side's tiles: for
/// each tile [t0, t0 + n) of `length` rows, `tile` at a time, `load(t0, n)`
/// puts its operands in shared memory, `score(t0, n)` recomputes the scores'
/// tile against the block's own and `accumulate(n)` adds the tile's terms;
/// barriers between the steps (the shared buffers are reused) and one
/// before the caller stores its accumulators.
template <typename Load, typename Score, typename Accumulate>
__device__ inline void bwdWalkTiles(int64_t length, int64_t tile, Load load,
                                    Score score, Accumulate accumulate) {
  for (int64_t t0 = 0; t0 < length; t0 += tile) {
    int64_t n = min(tile, length - t0);
    __syncthreads();
    load(t0, n);
    __syncthreads();
    score(t0, n);
    __syncthreads();
    accumulate(n);
  }
  __syncthreads();
}

} // namespace

// D[b, i] = Σ_c dO[b, i, c] · O[b, i, c]; one warp per (batch element, row).
extern "C" __global__ void
lathe_attention_bwd_delta(lathe_cuda::AttentionBackwardParams p) {
  int lane = threadIdx.x & 31;
  int64_t row = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  int64_t rows = p.lq;
  for (int dim = 0; dim < p.numBatch; ++dim)
    rows *= p.batchSizes[dim];
  if (row >= rows)
    return;
  int64_t b = row / p.lq, i = row % p.lq;
  int64_t off[lathe_cuda::kBwdOperands];
  bwdBatchOffsets(p, b, off);
  const lathe_cuda::AttnOperand &O = p.ops[lathe_cuda::kBwdO],
                                &dO = p.ops[lathe_cuda::kBwdDO];
  float s = 0.f;
  for (int64_t c = lane; c < p.dv; c += 32)
    s += dO.data[off[lathe_cuda::kBwdDO] + i * dO.rowStride + c * dO.colStride] *
         O.data[off[lathe_cuda::kBwdO] + i * O.rowStride + c * O.colStride];
  s = warpSum(s);
  if (lane == 0)
    p.delta[row] = s;
}

// dQ of one (batch element, tile of p.bq query rows): walks the key tiles,
// recomputing ds. Shared memory: q [bq][d], dO [bq][dv], k [bk][d+1],
// v [bk][dv+1], ds [bq][bk], acc [bq][d], lse [bq], D [bq].
extern "C" __global__ void
lathe_attention_bwd_dq(lathe_cuda::AttentionBackwardParams p) {
  extern __shared__ float smem[];
  const int64_t bq = p.bq, bk = p.bk, d = p.d, dv = p.dv, ldk = d + 1,
                ldv = dv + 1;
  float *qs = smem, *dos = qs + bq * d, *ks = dos + bq * dv,
        *vs = ks + bk * ldk, *dss = vs + bk * ldv, *acc = dss + bq * bk,
        *lrow = acc + bq * d, *drow = lrow + bq;
  int64_t qBlocks = (p.lq + bq - 1) / bq;
  int64_t b = blockIdx.x / qBlocks, i0 = (blockIdx.x % qBlocks) * bq;
  int64_t rows = min(bq, p.lq - i0);
  int64_t off[lathe_cuda::kBwdOperands];
  bwdBatchOffsets(p, b, off);
  bwdLoadTile(qs, d, p, lathe_cuda::kBwdQ, off, i0, rows, d);
  bwdLoadTile(dos, dv, p, lathe_cuda::kBwdDO, off, i0, rows, dv);
  bwdLoadRowStats(lrow, drow, p, off, b, i0, rows);
  for (int64_t t = threadIdx.x; t < rows * d; t += blockDim.x)
    acc[t] = 0.f;
  bwdWalkTiles(
      p.lk, bk,
      [&](int64_t j0, int64_t cols) {
        bwdLoadTile(ks, ldk, p, lathe_cuda::kBwdK, off, j0, cols, d);
        bwdLoadTile(vs, ldv, p, lathe_cuda::kBwdV, off, j0, cols, dv);
      },
      [&](int64_t j0, int64_t cols) {
        bwdScoreTile(p, off, qs, dos, ks, ldk, vs, ldv, lrow, drow, i0, rows,
                     j0, cols, nullptr, dss);
      },
      [&](int64_t cols) {
        // acc[i][c] += Σ_j ds[i][j] · k[j][c]
        bwdAccumulate(acc, rows, d, dss, 1, bk, ks, ldk, cols);
      });
  bwdStoreTile(p, lathe_cuda::kBwdDQ, off, i0, rows, d, acc, p.scale);
}

// dK and dV of one (batch element, tile of p.bk key rows): walks the query
// tiles, recomputing p and ds. Shared memory: k [bk][d+1], v [bk][dv+1],
// q [bq][d], dO [bq][dv], p [bq][bk], ds [bq][bk], dK acc [bk][d],
// dV acc [bk][dv], lse [bq], D [bq].
extern "C" __global__ void
lathe_attention_bwd_dkdv(lathe_cuda::AttentionBackwardParams p) {
  extern __shared__ float smem[];
  const int64_t bq = p.bq, bk = p.bk, d = p.d, dv = p.dv, ldk = d + 1,
                ldv = dv + 1;
  float *ks = smem, *vs = ks + bk * ldk, *qs = vs + bk * ldv,
        *dos = qs + bq * d, *ps = dos + bq * dv, *dss = ps + bq * bk,
        *accK = dss + bq * bk, *accV = accK + bk * d, *lrow = accV + bk * dv,
        *drow = lrow + bq;
  int64_t kBlocks = (p.lk + bk - 1) / bk;
  int64_t b = blockIdx.x / kBlocks, j0 = (blockIdx.x % kBlocks) * bk;
  int64_t cols = min(bk, p.lk - j0);
  int64_t off[lathe_cuda::kBwdOperands];
  bwdBatchOffsets(p, b, off);
  bwdLoadTile(ks, ldk, p, lathe_cuda::kBwdK, off, j0, cols, d);
  bwdLoadTile(vs, ldv, p, lathe_cuda::kBwdV, off, j0, cols, dv);
  for (int64_t t = threadIdx.x; t < cols * d; t += blockDim.x)
    accK[t] = 0.f;
  for (int64_t t = threadIdx.x; t < cols * dv; t += blockDim.x)
    accV[t] = 0.f;
  bwdWalkTiles(
      p.lq, bq,
      [&](int64_t i0, int64_t rows) {
        bwdLoadTile(qs, d, p, lathe_cuda::kBwdQ, off, i0, rows, d);
        bwdLoadTile(dos, dv, p, lathe_cuda::kBwdDO, off, i0, rows, dv);
        bwdLoadRowStats(lrow, drow, p, off, b, i0, rows);
      },
      [&](int64_t i0, int64_t rows) {
        bwdScoreTile(p, off, qs, dos, ks, ldk, vs, ldv, lrow, drow, i0, rows,
                     j0, cols, ps, dss);
      },
      [&](int64_t rows) {
        // accV[j][c] += Σ_i p[i][j] · dO[i][c];
        // accK[j][c] += Σ_i ds[i][j] · q[i][c]
        bwdAccumulate(accV, cols, dv, ps, bk, 1, dos, dv, rows);
        bwdAccumulate(accK, cols, d, dss, bk, 1, qs, d, rows);
      });
  bwdStoreTile(p, lathe_cuda::kBwdDK, off, j0, cols, d, accK, p.scale);
  bwdStoreTile(p, lathe_cuda::kBwdDV, off, j0, cols, dv, accV, 1.f);
}

// The gradient of one bias: one warp per gradient element, lanes over the
// score elements summed into it (lathe_cuda::biasGradTerm), each ds
// recomputed from global memory; a fixed lane order and shuffle tree, so the
// sum does not depend on scheduling. `elements` is the gradient's size.
extern "C" __global__ void
lathe_attention_bwd_dbias(lathe_cuda::AttentionBackwardParams p,
                          lathe_cuda::BiasGradParams g, int64_t elements,
                          int64_t terms) {
  int lane = threadIdx.x & 31;
  int64_t element = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  if (element >= elements)
    return;
  int64_t idx[2 + lathe_cuda::kAttnMaxBatch];
  float sum = 0.f;
  const lathe_cuda::AttnOperand &dO = p.ops[lathe_cuda::kBwdDO],
                                &V = p.ops[lathe_cuda::kBwdV];
  for (int64_t term = lane; term < terms; term += 32) {
    lathe_cuda::biasGradTerm(g, element, term, idx);
    int64_t b = 0;
    for (int dim = 0; dim < p.numBatch; ++dim)
      b = b * p.batchSizes[dim] + idx[dim];
    int64_t off[lathe_cuda::kBwdOperands];
    bwdBatchOffsets(p, b, off);
    int64_t i = idx[p.numBatch], j = idx[p.numBatch + 1];
    float s = bwdAddBiases(p, off, i, j, bwdScore(p, off, i, j));
    float dp = 0.f;
    for (int64_t c = 0; c < p.dv; ++c)
      dp += dO.data[off[lathe_cuda::kBwdDO] + i * dO.rowStride +
                    c * dO.colStride] *
            V.data[off[lathe_cuda::kBwdV] + j * V.rowStride + c * V.colStride];
    float prob, ds;
    bwdProbAndGrad(s, dp, bwdLse(p, off, i), p.delta[b * p.lq + i], prob, ds);
    sum += ds;
  }
  sum = warpSum(sum);
  if (lane == 0)
    g.data[lathe_cuda::biasGradOffset(g, element)] = sum;
}
