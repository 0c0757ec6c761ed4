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
  const lathe_cuda::AttnOperand &Q = p.ops[lathe_cuda::kBwdQ],
                                &K = p.ops[lathe_cuda::kBwdK],
                                &V = p.ops[lathe_cuda::kBwdV],
                                &dO = p.ops[lathe_cuda::kBwdDO],
                                &dQ = p.ops[lathe_cuda::kBwdDQ];
  int tid = threadIdx.x, nt = blockDim.x;
  for (int64_t t = tid; t < rows * d; t += nt) {
    int64_t i = t / d, c = t % d;
    qs[t] = Q.data[off[lathe_cuda::kBwdQ] + (i0 + i) * Q.rowStride +
                   c * Q.colStride];
    acc[t] = 0.f;
  }
  for (int64_t t = tid; t < rows * dv; t += nt) {
    int64_t i = t / dv, c = t % dv;
    dos[t] = dO.data[off[lathe_cuda::kBwdDO] + (i0 + i) * dO.rowStride +
                     c * dO.colStride];
  }
  for (int64_t t = tid; t < rows; t += nt) {
    lrow[t] = bwdLse(p, off, i0 + t);
    drow[t] = p.delta[b * p.lq + i0 + t];
  }
  for (int64_t j0 = 0; j0 < p.lk; j0 += bk) {
    int64_t cols = min(bk, p.lk - j0);
    __syncthreads();
    for (int64_t t = tid; t < cols * d; t += nt) {
      int64_t j = t / d, c = t % d;
      ks[j * ldk + c] = K.data[off[lathe_cuda::kBwdK] + (j0 + j) * K.rowStride +
                               c * K.colStride];
    }
    for (int64_t t = tid; t < cols * dv; t += nt) {
      int64_t j = t / dv, c = t % dv;
      vs[j * ldv + c] = V.data[off[lathe_cuda::kBwdV] +
                               (j0 + j) * V.rowStride + c * V.colStride];
    }
    __syncthreads();
    for (int64_t t = tid; t < rows * cols; t += nt) {
      int64_t i = t / cols, j = t % cols;
      float s = 0.f, dp = 0.f;
      for (int64_t c = 0; c < d; ++c)
        s += qs[i * d + c] * ks[j * ldk + c];
      for (int64_t c = 0; c < dv; ++c)
        dp += dos[i * dv + c] * vs[j * ldv + c];
      s = bwdAddBiases(p, off, i0 + i, j0 + j, s * p.scale);
      float prob, ds;
      bwdProbAndGrad(s, dp, lrow[i], drow[i], prob, ds);
      dss[i * bk + j] = ds;
    }
    __syncthreads();
    for (int64_t t = tid; t < rows * d; t += nt) {
      int64_t i = t / d, c = t % d;
      float a = acc[t];
      for (int64_t j = 0; j < cols; ++j)
        a += dss[i * bk + j] * ks[j * ldk + c];
      acc[t] = a;
    }
  }
  __syncthreads();
  for (int64_t t = tid; t < rows * d; t += nt) {
    int64_t i = t / d, c = t % d;
    dQ.data[off[lathe_cuda::kBwdDQ] + (i0 + i) * dQ.rowStride +
            c * dQ.colStride] = p.scale * acc[t];
  }
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
  const lathe_cuda::AttnOperand &Q = p.ops[lathe_cuda::kBwdQ],
                                &K = p.ops[lathe_cuda::kBwdK],
                                &V = p.ops[lathe_cuda::kBwdV],
                                &dO = p.ops[lathe_cuda::kBwdDO],
                                &dK = p.ops[lathe_cuda::kBwdDK],
                                &dV = p.ops[lathe_cuda::kBwdDV];
  int tid = threadIdx.x, nt = blockDim.x;
  for (int64_t t = tid; t < cols * d; t += nt) {
    int64_t j = t / d, c = t % d;
    ks[j * ldk + c] = K.data[off[lathe_cuda::kBwdK] + (j0 + j) * K.rowStride +
                             c * K.colStride];
    accK[t] = 0.f;
  }
  for (int64_t t = tid; t < cols * dv; t += nt) {
    int64_t j = t / dv, c = t % dv;
    vs[j * ldv + c] = V.data[off[lathe_cuda::kBwdV] + (j0 + j) * V.rowStride +
                             c * V.colStride];
    accV[t] = 0.f;
  }
  for (int64_t i0 = 0; i0 < p.lq; i0 += bq) {
    int64_t rows = min(bq, p.lq - i0);
    __syncthreads();
    for (int64_t t = tid; t < rows * d; t += nt) {
      int64_t i = t / d, c = t % d;
      qs[t] = Q.data[off[lathe_cuda::kBwdQ] + (i0 + i) * Q.rowStride +
                     c * Q.colStride];
    }
    for (int64_t t = tid; t < rows * dv; t += nt) {
      int64_t i = t / dv, c = t % dv;
      dos[t] = dO.data[off[lathe_cuda::kBwdDO] + (i0 + i) * dO.rowStride +
                       c * dO.colStride];
    }
    for (int64_t t = tid; t < rows; t += nt) {
      lrow[t] = bwdLse(p, off, i0 + t);
      drow[t] = p.delta[b * p.lq + i0 + t];
    }
    __syncthreads();
    for (int64_t t = tid; t < rows * cols; t += nt) {
      int64_t i = t / cols, j = t % cols;
      float s = 0.f, dp = 0.f;
      for (int64_t c = 0; c < d; ++c)
        s += qs[i * d + c] * ks[j * ldk + c];
      for (int64_t c = 0; c < dv; ++c)
        dp += dos[i * dv + c] * vs[j * ldv + c];
      s = bwdAddBiases(p, off, i0 + i, j0 + j, s * p.scale);
      bwdProbAndGrad(s, dp, lrow[i], drow[i], ps[i * bk + j], dss[i * bk + j]);
    }
    __syncthreads();
    for (int64_t t = tid; t < cols * dv; t += nt) {
      int64_t j = t / dv, c = t % dv;
      float a = accV[t];
      for (int64_t i = 0; i < rows; ++i)
        a += ps[i * bk + j] * dos[i * dv + c];
      accV[t] = a;
    }
    for (int64_t t = tid; t < cols * d; t += nt) {
      int64_t j = t / d, c = t % d;
      float a = accK[t];
      for (int64_t i = 0; i < rows; ++i)
        a += dss[i * bk + j] * qs[i * d + c];
      accK[t] = a;
    }
  }
  __syncthreads();
  for (int64_t t = tid; t < cols * d; t += nt) {
    int64_t j = t / d, c = t % d;
    dK.data[off[lathe_cuda::kBwdDK] + (j0 + j) * dK.rowStride +
            c * dK.colStride] = p.scale * accK[t];
  }
  for (int64_t t = tid; t < cols * dv; t += nt) {
    int64_t j = t / dv, c = t % dv;
    dV.data[off[lathe_cuda::kBwdDV] + (j0 + j) * dV.rowStride +
            c * dV.colStride] = accV[t];
  }
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
