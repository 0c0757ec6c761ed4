// Lathe's own CUDA kernels for the rest of the e2e models (included by
// Kernels.cu: one fatbin). Row kernels (softmax, masked softmax, layer norm)
// run one warp per row with shuffle reductions; attention is flash-style
// (one block per batch element and query tile, online softmax over key
// tiles held in shared memory); SpMM runs one warp per CSR row; the RNN's
// gate kernels fuse a step's cell arithmetic. Host sides: ModelKernels.cpp.
// NaN and Inf follow the CPU runtime's kernels: a NaN maximum wins, exp of
// -inf is 0, a row whose scores are all -inf gives 0 in attention.

#include "LaunchGeometry.h"

namespace {

__device__ inline float maximumNaN(float a, float b) {
  return a > b || a != a ? a : b;
}

/// exp(x) for softmax arguments (x <= 0) as the CPU runtime's attention
/// computes it: below -87 (and -inf) exactly 0, NaN stays NaN.
__device__ inline float expNonPositive(float x) {
  return x < -87.f ? 0.f : expf(x);
}

__device__ inline float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1)
    v = maximumNaN(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ inline float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ inline float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

/// The row a warp of a row kernel works on: the thread's lane and the row's
/// start in each operand (mask null without one).
struct WarpRow {
  int lane;
  const float *in;
  float *out;
  const signed char *mask;
};

/// This warp's row of `p` (one warp per row); false past the last row.
__device__ inline bool warpRow(const lathe_cuda::RowParams &p, WarpRow &r) {
  r.lane = threadIdx.x & 31;
  int64_t row = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  if (row >= p.rows)
    return false;
  int64_t inOff, outOff, maskOff;
  lathe_cuda::rowOffsets(p, row, inOff, outOff, maskOff);
  r.in = p.in + inOff;
  r.out = p.out + outOff;
  r.mask = p.mask ? p.mask + maskOff : nullptr;
  return true;
}

} // namespace

// out = softmax(where(mask == maskedWhen, fill, in)) along each row; one warp
// per row (blockDim.x = 32 x rows per block).
extern "C" __global__ void lathe_softmax_rows(lathe_cuda::RowParams p) {
  WarpRow r;
  if (!warpRow(p, r))
    return;
  int lane = r.lane;
  const float *in = r.in;
  float *out = r.out;
  const signed char *mask = r.mask;
  auto load = [&](int64_t j) {
    float x = in[j * p.inAxis];
    if (mask && mask[j * p.maskAxis] == p.maskedWhen)
      x = p.fill;
    return x;
  };
  float m = -INFINITY;
  for (int64_t j = lane; j < p.n; j += 32)
    m = maximumNaN(load(j), m);
  m = warpMax(m);
  float s = 0.f;
  for (int64_t j = lane; j < p.n; j += 32)
    s += expf(load(j) - m);
  s = warpSum(s);
  float inv = 1.f / s;
  for (int64_t j = lane; j < p.n; j += 32)
    out[j * p.outAxis] = expf(load(j) - m) * inv;
}

// out = (x - mean) * rsqrt(var + eps) [* gamma] [+ beta] along each row;
// one warp per row, two passes (mean, then the centred variance) as the CPU.
extern "C" __global__ void lathe_layer_norm_rows(lathe_cuda::RowParams p,
                                                 const float *gamma,
                                                 int64_t gammaStride,
                                                 const float *beta,
                                                 int64_t betaStride,
                                                 float eps) {
  WarpRow r;
  if (!warpRow(p, r))
    return;
  int lane = r.lane;
  const float *in = r.in;
  float *out = r.out;
  float s = 0.f;
  for (int64_t j = lane; j < p.n; j += 32)
    s += in[j * p.inAxis];
  float mean = warpSum(s) / float(p.n);
  float q = 0.f;
  for (int64_t j = lane; j < p.n; j += 32) {
    float d = in[j * p.inAxis] - mean;
    q += d * d;
  }
  float inv = rsqrtf(warpSum(q) / float(p.n) + eps);
  // All lanes have read the row before any writes (out may be in).
  __syncwarp();
  for (int64_t j = lane; j < p.n; j += 32) {
    float y = (in[j * p.inAxis] - mean) * inv;
    if (gamma)
      y *= gamma[j * gammaStride];
    if (beta)
      y += beta[j * betaStride];
    out[j * p.outAxis] = y;
  }
}

// Flash-style attention: block (batch element, query tile of p.bq rows).
// Shared memory: q [bq][d], k [bk][d+1], v [bk][dv], scores [bq][bk],
// acc [bq][dv], m [bq], l [bq].
extern "C" __global__ void lathe_attention(lathe_cuda::AttentionParams p) {
  extern __shared__ float smem[];
  const int64_t bq = p.bq, bk = p.bk, d = p.d, dv = p.dv, ldk = d + 1;
  float *qs = smem, *ks = qs + bq * d, *vs = ks + bk * ldk, *ss = vs + bk * dv,
        *acc = ss + bq * bk, *mrow = acc + bq * dv, *lrow = mrow + bq;
  int64_t qBlocks = (p.lq + bq - 1) / bq;
  int64_t b = blockIdx.x / qBlocks, i0 = (blockIdx.x % qBlocks) * bq;
  int64_t rows = min(bq, p.lq - i0);
  // Leading-dimension offsets of batch element b (stride 0: broadcast).
  int64_t off[lathe_cuda::kAttnOperands] = {};
  for (int64_t rest = b, dim = p.numBatch - 1; dim >= 0; --dim) {
    int64_t idx = rest % p.batchSizes[dim];
    rest /= p.batchSizes[dim];
    for (int o = 0; o < lathe_cuda::kAttnOperands; ++o)
      off[o] += idx * p.ops[o].batchStrides[dim];
  }
  const lathe_cuda::AttnOperand &Q = p.ops[0], &K = p.ops[1], &V = p.ops[2],
                                 &O = p.ops[5], &L = p.ops[6];
  int tid = threadIdx.x, nt = blockDim.x, lane = tid & 31, warp = tid >> 5,
      warps = nt >> 5;
  for (int64_t t = tid; t < rows * d; t += nt) {
    int64_t i = t / d, c = t % d;
    qs[t] = Q.data[off[0] + (i0 + i) * Q.rowStride + c * Q.colStride];
  }
  for (int64_t t = tid; t < rows * dv; t += nt)
    acc[t] = 0.f;
  for (int64_t t = tid; t < rows; t += nt) {
    mrow[t] = -INFINITY;
    lrow[t] = 0.f;
  }
  for (int64_t j0 = 0; j0 < p.lk; j0 += bk) {
    int64_t cols = min(bk, p.lk - j0);
    __syncthreads();
    for (int64_t t = tid; t < cols * d; t += nt) {
      int64_t j = t / d, c = t % d;
      ks[j * ldk + c] =
          K.data[off[1] + (j0 + j) * K.rowStride + c * K.colStride];
    }
    for (int64_t t = tid; t < cols * dv; t += nt) {
      int64_t j = t / dv, c = t % dv;
      vs[t] = V.data[off[2] + (j0 + j) * V.rowStride + c * V.colStride];
    }
    __syncthreads();
    // s = scale * q k^T + biases
    for (int64_t t = tid; t < rows * cols; t += nt) {
      int64_t i = t / cols, j = t % cols;
      const float *qr = qs + i * d, *kr = ks + j * ldk;
      float s = 0.f;
      for (int64_t c = 0; c < d; ++c)
        s += qr[c] * kr[c];
      s *= p.scale;
      if (p.mask) {
        const lathe_cuda::AttnOperand &M = p.ops[lathe_cuda::kAttnMask];
        if (p.mask[off[lathe_cuda::kAttnMask] + (i0 + i) * M.rowStride +
                   (j0 + j) * M.colStride] == p.maskedWhen)
          s = p.fill;
      }
      for (int bi = 0; bi < p.numBiases; ++bi) {
        const lathe_cuda::AttnOperand &B = p.ops[3 + bi];
        s += B.data[off[3 + bi] + (i0 + i) * B.rowStride +
                    (j0 + j) * B.colStride];
      }
      ss[i * bk + j] = s;
    }
    __syncthreads();
    // Online softmax, one warp per row.
    for (int64_t i = warp; i < rows; i += warps) {
      float *srow = ss + i * bk;
      float bm = -INFINITY;
      for (int64_t j = lane; j < cols; j += 32)
        bm = maximumNaN(srow[j], bm);
      bm = warpMax(bm);
      float mOld = mrow[i];
      float mNew = maximumNaN(bm, mOld);
      if (mNew == -INFINITY) {
        // Every score so far is -inf: nothing to add yet (the zero
        // probabilities still multiply v, as on the CPU).
        for (int64_t j = lane; j < cols; j += 32)
          srow[j] = 0.f;
        continue;
      }
      float sum = 0.f;
      for (int64_t j = lane; j < cols; j += 32) {
        float e = p.decomposedSoftmax ? expf(srow[j] - mNew)
                                      : expNonPositive(srow[j] - mNew);
        srow[j] = e;
        sum += e;
      }
      sum = warpSum(sum);
      float corr = p.decomposedSoftmax ? expf(mOld - mNew)
                                       : expNonPositive(mOld - mNew);
      if (corr != 1.f)
        for (int64_t c = lane; c < dv; c += 32)
          acc[i * dv + c] *= corr;
      __syncwarp();
      if (lane == 0) {
        lrow[i] = lrow[i] * corr + sum;
        mrow[i] = mNew;
      }
    }
    __syncthreads();
    // acc += p v
    for (int64_t t = tid; t < rows * dv; t += nt) {
      int64_t i = t / dv, c = t % dv;
      const float *prow = ss + i * bk;
      float a = acc[t];
      for (int64_t j = 0; j < cols; ++j)
        a += prow[j] * vs[j * dv + c];
      acc[t] = a;
    }
  }
  __syncthreads();
  for (int64_t t = tid; t < rows * dv; t += nt) {
    int64_t i = t / dv, c = t % dv;
    float l = lrow[i];
    // l = 0: every score was -inf: 0, as the CPU's chunked attention, or
    // NaN (exp(-inf - -inf)) for the decomposed softmax of masked
    // attention; NaN stays NaN.
    float empty = p.decomposedSoftmax ? __int_as_float(0x7fc00000) : 0.f;
    float inv = l > 0.f ? 1.f / l : l == 0.f ? empty : l;
    O.data[off[5] + (i0 + i) * O.rowStride + c * O.colStride] = acc[t] * inv;
  }
  if (L.data)
    for (int64_t i = tid; i < rows; i += nt) {
      float l = lrow[i];
      L.data[off[6] + (i0 + i) * L.rowStride] =
          l > 0.f ? mrow[i] + logf(l) : l == 0.f ? -INFINITY : l;
    }
}

namespace {

/// y[perm[i]] (or y[i]) = sum_k values[k] x[perm[col[k]]] (or x[col[k]]):
/// one warp per stored row, lanes over the feature columns. An index out of
/// range is recorded (first one wins) and skipped.
template <typename Index>
__device__ void spmmRows(const Index *rowPtr, const Index *colIdx,
                         const float *values, const Index *perm,
                         const float *x, int64_t xr, int64_t xc, float *y,
                         int64_t yr, int64_t yc, int64_t numRows,
                         int64_t numCols, int64_t features, int64_t nnzLimit,
                         long long *error) {
  int lane = threadIdx.x & 31;
  int64_t row = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  if (row >= numRows)
    return;
  int64_t begin = rowPtr[row], end = rowPtr[row + 1];
  if (end > nnzLimit) {
    if (lane == 0 && atomicCAS((unsigned long long *)error, 0ull, 4ull) == 0)
      error[1] = row, error[2] = end, error[3] = nnzLimit;
    return;
  }
  if (end < begin || (row == 0 && begin != 0)) {
    if (lane == 0 && atomicCAS((unsigned long long *)error, 0ull, 3ull) == 0)
      error[1] = row, error[2] = begin, error[3] = end;
    return;
  }
  int64_t outRow = perm ? int64_t(perm[row]) : row;
  if (outRow < 0 || outRow >= numRows) {
    if (lane == 0 && atomicCAS((unsigned long long *)error, 0ull, 2ull) == 0)
      error[1] = row, error[2] = outRow;
    return;
  }
  for (int64_t c0 = 0; c0 < features; c0 += 32) {
    int64_t c = c0 + lane;
    float a = 0.f;
    for (int64_t k = begin; k < end; ++k) {
      int64_t col = colIdx[k];
      if (col < 0 || col >= numCols) {
        if (lane == 0 &&
            atomicCAS((unsigned long long *)error, 0ull, 1ull) == 0)
          error[1] = k, error[2] = col, error[3] = row;
        continue;
      }
      if (perm)
        col = perm[col];
      if (c < features)
        a += values[k] * x[col * xr + c * xc];
    }
    if (c < features)
      y[outRow * yr + c * yc] = a;
  }
}

} // namespace

extern "C" __global__ void
lathe_spmm_csr(const int64_t *rowPtr, const int64_t *colIdx,
               const float *values, const int64_t *perm, const float *x,
               int64_t xr, int64_t xc, float *y, int64_t yr, int64_t yc,
               int64_t numRows, int64_t numCols, int64_t features,
               int64_t nnzLimit, long long *error) {
  spmmRows(rowPtr, colIdx, values, perm, x, xr, xc, y, yr, yc, numRows,
           numCols, features, nnzLimit, error);
}

extern "C" __global__ void
lathe_spmm_csr_i32(const int32_t *rowPtr, const int32_t *colIdx,
                   const float *values, const int32_t *perm, const float *x,
                   int64_t xr, int64_t xc, float *y, int64_t yr, int64_t yc,
                   int64_t numRows, int64_t numCols, int64_t features,
                   int64_t nnzLimit, long long *error) {
  spmmRows(rowPtr, colIdx, values, perm, x, xr, xc, y, yr, yc, numRows,
           numCols, features, nnzLimit, error);
}

namespace {

/// Records the first CSR error like spmmRows: 1 column out of range,
/// 3 row_ptr decreasing / not from 0, 4 row_ptr past the arrays.
__device__ inline void csrError(long long *error, long long code, long long a,
                                long long b, long long c) {
  if (atomicCAS((unsigned long long *)error, 0ull, (unsigned long long)code) ==
      0)
    error[1] = a, error[2] = b, error[3] = c;
}

/// Transpose step 1, one thread per row (grid-stride): counts[col] += 1 for
/// each stored entry, checking the CSR arrays.
template <typename Index>
__device__ void csrCountColumns(const Index *rowPtr, const Index *colIdx,
                                int64_t numRows, int64_t numCols,
                                int64_t nnzLimit, unsigned long long *counts,
                                long long *error) {
  for (int64_t row = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
       row < numRows; row += (int64_t)gridDim.x * blockDim.x) {
    int64_t begin = rowPtr[row], end = rowPtr[row + 1];
    if (end > nnzLimit) {
      csrError(error, 4, row, end, nnzLimit);
      continue;
    }
    if (begin < 0 || end < begin || (row == 0 && begin != 0)) {
      csrError(error, 3, row, begin, end);
      continue;
    }
    for (int64_t k = begin; k < end; ++k) {
      int64_t col = colIdx[k];
      if (col < 0 || col >= numCols) {
        csrError(error, 1, k, col, row);
        continue;
      }
      atomicAdd(&counts[col], 1ull);
    }
  }
}

/// Transpose step 2, one block: the exclusive prefix sum of the column
/// counts becomes t_row_ptr (numCols + 1 entries) and, in place, each
/// column's next free slot.
template <typename Index>
__device__ void csrScanColumns(unsigned long long *counts, Index *tRowPtr,
                               int64_t numCols) {
  __shared__ unsigned long long warpSums[32];
  __shared__ unsigned long long carry;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int warps = blockDim.x >> 5;
  if (threadIdx.x == 0)
    carry = 0;
  __syncthreads();
  for (int64_t base = 0; base < numCols; base += blockDim.x) {
    int64_t j = base + threadIdx.x;
    unsigned long long v = j < numCols ? counts[j] : 0ull, x = v;
    for (int o = 1; o < 32; o <<= 1) {
      unsigned long long y = __shfl_up_sync(0xffffffffu, x, o);
      if (lane >= o)
        x += y;
    }
    if (lane == 31)
      warpSums[warp] = x;
    __syncthreads();
    if (warp == 0) {
      unsigned long long s = lane < warps ? warpSums[lane] : 0ull;
      for (int o = 1; o < 32; o <<= 1) {
        unsigned long long y = __shfl_up_sync(0xffffffffu, s, o);
        if (lane >= o)
          s += y;
      }
      warpSums[lane] = s;
    }
    __syncthreads();
    unsigned long long start =
        carry + (warp ? warpSums[warp - 1] : 0ull) + x - v;
    if (j < numCols) {
      counts[j] = start;
      tRowPtr[j] = Index(start);
    }
    __syncthreads();
    if (threadIdx.x == 0)
      carry += warpSums[warps - 1];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    tRowPtr[numCols] = Index(carry);
}

/// Transpose step 3, one thread per row: each entry takes a slot of its
/// column (in any order) and leaves its position k and row there.
template <typename Index>
__device__ void csrScatterColumns(const Index *rowPtr, const Index *colIdx,
                                  int64_t numRows, unsigned long long *cursor,
                                  int64_t *keys, int64_t *rows) {
  for (int64_t row = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
       row < numRows; row += (int64_t)gridDim.x * blockDim.x)
    for (int64_t k = rowPtr[row], end = rowPtr[row + 1]; k < end; ++k) {
      int64_t at = (int64_t)atomicAdd(&cursor[int64_t(colIdx[k])], 1ull);
      keys[at] = k;
      rows[at] = row;
    }
}

/// Transpose step 4, one warp per column: entries ordered by their
/// position k (so rows increase, as in the CPU's counting sort): each lane
/// ranks its entries among the column's and writes them there.
template <typename Index>
__device__ void csrOrderColumns(const Index *tRowPtr, const int64_t *keys,
                                const int64_t *rows, const float *values,
                                Index *tColIdx, float *tValues,
                                int64_t numCols) {
  int lane = threadIdx.x & 31;
  int64_t col = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  if (col >= numCols)
    return;
  int64_t begin = tRowPtr[col], end = tRowPtr[col + 1];
  for (int64_t p = begin + lane; p < end; p += 32) {
    int64_t key = keys[p], rank = 0;
    for (int64_t q = begin; q < end; ++q)
      rank += keys[q] < key;
    tColIdx[begin + rank] = Index(rows[p]);
    tValues[begin + rank] = values[key];
  }
}

} // namespace

#define LATHE_CSR_TRANSPOSE_KERNELS(SUFFIX, Index)                             \
  extern "C" __global__ void lathe_csr_transpose_count##SUFFIX(                \
      const Index *rowPtr, const Index *colIdx, int64_t numRows,               \
      int64_t numCols, int64_t nnzLimit, unsigned long long *counts,           \
      long long *error) {                                                      \
    csrCountColumns(rowPtr, colIdx, numRows, numCols, nnzLimit, counts,        \
                    error);                                                    \
  }                                                                            \
  extern "C" __global__ void lathe_csr_transpose_scan##SUFFIX(                 \
      unsigned long long *counts, Index *tRowPtr, int64_t numCols) {           \
    csrScanColumns(counts, tRowPtr, numCols);                                  \
  }                                                                            \
  extern "C" __global__ void lathe_csr_transpose_scatter##SUFFIX(              \
      const Index *rowPtr, const Index *colIdx, int64_t numRows,               \
      unsigned long long *cursor, int64_t *keys, int64_t *rows) {              \
    csrScatterColumns(rowPtr, colIdx, numRows, cursor, keys, rows);            \
  }                                                                            \
  extern "C" __global__ void lathe_csr_transpose_order##SUFFIX(                \
      const Index *tRowPtr, const int64_t *keys, const int64_t *rows,          \
      const float *values, Index *tColIdx, float *tValues, int64_t numCols) {  \
    csrOrderColumns(tRowPtr, keys, rows, values, tColIdx, tValues, numCols);   \
  }

LATHE_CSR_TRANSPOSE_KERNELS(, int64_t)
LATHE_CSR_TRANSPOSE_KERNELS(_i32, int32_t)
#undef LATHE_CSR_TRANSPOSE_KERNELS

// One step of an LSTM/GRU layer over [N, H]: xp = x_t W^T + b and hp =
// h_{t-1} R^T (+ rb) as [N, G*H] (gate block gates[g] holds canonical gate
// g: LSTM i, f, c, o; GRU z, r, h). Writes h_t (to hOut and y_t) and c_t.
// For a plain GRU, `phase` 0 computes z, r and r * h_{t-1} (into rh) and
// phase 1 takes hp's h block as (r * h_{t-1}) R_h^T + rb_h.
extern "C" __global__ void lathe_rnn_gates(lathe_cuda::RnnStepParams p) {
  int64_t total = p.n * p.h;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total;
       t += (int64_t)gridDim.x * blockDim.x) {
    int64_t b = t / p.h, u = t % p.h;
    int64_t gh = p.gateCount * p.h;
    const float *xp = p.xp + b * gh, *hp = p.hp + b * gh;
    auto X = [&](int g) { return xp[p.gates[g] * p.h + u]; };
    auto R = [&](int g) { return hp[p.gates[g] * p.h + u]; };
    float hPrev = p.hPrev[b * p.hPrevStride + u];
    float hNew;
    if (p.cell == 0) {
      float i = sigmoidf(X(0) + R(0)), f = sigmoidf(X(1) + R(1)),
            g = tanhf(X(2) + R(2)), o = sigmoidf(X(3) + R(3));
      float c = f * p.cPrev[b * p.cPrevStride + u] + i * g;
      p.cOut[b * p.h + u] = c;
      hNew = o * tanhf(c);
    } else if (p.cell == 2 || p.phase == 1) {
      float z = sigmoidf(X(0) + R(0));
      float hh;
      if (p.cell == 2) {
        float r = sigmoidf(X(1) + R(1));
        hh = tanhf(X(2) + r * R(2));
      } else {
        z = p.z[b * p.h + u];
        hh = tanhf(X(2) + R(2));
      }
      hNew = (1.f - z) * hh + z * hPrev;
    } else {
      float z = sigmoidf(X(0) + R(0)), r = sigmoidf(X(1) + R(1));
      p.z[b * p.h + u] = z;
      p.rh[b * p.h + u] = r * hPrev;
      continue;
    }
    p.hOut[b * p.h + u] = hNew;
    p.y[b * p.yStride + u] = hNew;
  }
}

// Max pooling of `in` surrounded by -inf padding (lathe.max_pool2d).
extern "C" __global__ void
lathe_pool2d_padded(const float *in, float *out, int64_t n, int64_t c,
                    int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t wh,
                    int64_t ww, int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                    int64_t pt, int64_t pl, int nhwc, int accumulate) {
  int64_t total = n * c * oh * ow;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total;
       t += (int64_t)gridDim.x * blockDim.x) {
    PoolPosition at = poolPosition(t, c, oh, ow, nhwc);
    float v = -INFINITY;
    for (int64_t i = 0; i < wh; ++i) {
      int64_t iy = at.y * sh + i * dh - pt;
      if (iy < 0 || iy >= h)
        continue;
      for (int64_t j = 0; j < ww; ++j) {
        int64_t ix = at.x * sw + j * dw - pl;
        if (ix < 0 || ix >= w)
          continue;
        v = maximumNaN(poolInput(in, nhwc, c, h, w, at, iy, ix), v);
      }
    }
    out[t] = accumulate ? fmaxf(out[t], v) : v;
  }
}
