// The memred dialect's cross-modal reduction and memory-bank kernels
// (memred.cross_modal_reduce, memred.bank_append): included by Kernels.cu,
// launched by MemRedKernels.cpp. The same selection as the CPU runtime's
// (runtime/lib/Attention.cpp, through runtime/internal/BankSelect.h).

#include "MemRedParams.h"
#include "BankSelect.h"

namespace memred_dev {

using namespace lathe_cuda;

/// Token j's key element e for head h.
__device__ inline float keyAt(const SelectParams &p, int64_t h, int64_t j,
                              int64_t e) {
  return j < p.split ? p.ka[j * p.kaRow + h * p.kaHead + e * p.kaCol]
                     : p.kb[(j - p.split) * p.kbRow + h * p.kbHead +
                            e * p.kbCol];
}

/// scale · q[h, i] · key(h, j), accumulated in f32 over e in order (as the
/// CPU runtime does).
__device__ inline float scoreAt(const SelectParams &p, int64_t h, int64_t i,
                                int64_t j) {
  const float *qi = p.q + h * p.qHead + i * p.qRow;
  float dot = 0.f;
  for (int64_t e = 0; e < p.d; ++e)
    dot += qi[e * p.qCol] * keyAt(p, h, j, e);
  return dot * p.scale;
}

__device__ inline const float *tokenRow(const TokenRows &t, int64_t j,
                                        int64_t &colStride) {
  if (j < t.split) {
    colStride = t.aCol;
    return t.a + j * t.aRow;
  }
  colStride = t.bCol;
  return t.b + (j - t.split) * t.bRow;
}

} // namespace memred_dev

// One thread per query row (h, i): the maximum of its n scores (NaN scores
// ignored, as std::max(max, s) does) and the f64 sum of exp(s - max) in
// token order.
extern "C" __global__ void lathe_memred_row_stats(lathe_cuda::SelectParams p) {
  int64_t rows = p.heads * p.lq;
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows;
       r += (int64_t)gridDim.x * blockDim.x) {
    int64_t h = r / p.lq, i = r % p.lq;
    float mx = -INFINITY;
    for (int64_t j = 0; j < p.n; ++j) {
      float s = memred_dev::scoreAt(p, h, i, j);
      mx = mx < s ? s : mx;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < p.n; ++j)
      sum += expf(memred_dev::scoreAt(p, h, i, j) - mx);
    p.rowMax[r] = mx;
    p.rowSum[r] = sum;
  }
}

// One thread per token j: its total score, the softmax weight it gets summed
// over heads and query rows (in that order, in f64).
extern "C" __global__ void lathe_memred_scores(lathe_cuda::SelectParams p) {
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < p.n;
       j += (int64_t)gridDim.x * blockDim.x) {
    double total = 0.0;
    for (int64_t h = 0; h < p.heads; ++h)
      for (int64_t i = 0; i < p.lq; ++i) {
        int64_t r = h * p.lq + i;
        float e = expf(memred_dev::scoreAt(p, h, i, j) - p.rowMax[r]);
        total += e / p.rowSum[r];
      }
    p.total[j] = total;
  }
}

// One thread per token j: kept when it is among the newest (j >= older) or
// when fewer than keepCount older tokens rank before it (by score, or by
// the random policy's priority). Quadratic in the older tokens, exact, and
// the same order as the CPU runtime's sort.
extern "C" __global__ void lathe_memred_select(lathe_cuda::SelectParams p) {
  using namespace lathe::bank_select;
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < p.n;
       j += (int64_t)gridDim.x * blockDim.x) {
    if (j >= p.older) {
      p.kept[j] = 1;
      continue;
    }
    int64_t before = 0;
    if (p.random) {
      uint64_t mine = splitmix64(p.key + uint64_t(j));
      for (int64_t a = 0; a < p.older && before < p.keepCount; ++a)
        before += priorityBefore(splitmix64(p.key + uint64_t(a)), a, mine, j);
    } else {
      double mine = p.total[j];
      for (int64_t a = 0; a < p.older && before < p.keepCount; ++a)
        before += scoreBefore(p.total[a], a, mine, j);
    }
    p.kept[j] = before < p.keepCount;
  }
}

// One thread per column: walks the tokens in order and writes the kept ones
// to the front of dst. Each column is written by one thread in token order,
// so compacting a bank in place never overwrites a row before it is read.
extern "C" __global__ void lathe_memred_compact(lathe_cuda::CompactParams p) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < p.c;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t out = 0;
    for (int64_t j = 0; j < p.n; ++j) {
      if (p.kept ? !p.kept[j] : j < p.firstKept)
        continue;
      int64_t cs;
      const float *row = memred_dev::tokenRow(p.src, j, cs);
      float *dst = p.dst + out * p.dRow + e * p.dCol;
      const float *src = row + e * cs;
      if (dst != src)
        *dst = *src;
      ++out;
    }
  }
}

// rows x c elements from src to dst (distinct buffers), one per thread.
extern "C" __global__ void lathe_memred_copy_rows(const float *src,
                                                  int64_t sRow, int64_t sCol,
                                                  float *dst, int64_t dRow,
                                                  int64_t dCol, int64_t rows,
                                                  int64_t c) {
  int64_t total = rows * c;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total;
       t += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = t / c, e = t % c;
    dst[i * dRow + e * dCol] = src[i * sRow + e * sCol];
  }
}

namespace memred_dev {

__device__ inline float *slot(const lathe_cuda::MergeParams &p, int64_t j,
                              int64_t &stride) {
  if (j < p.count) {
    stride = p.bCol;
    return p.bank + j * p.bRow;
  }
  stride = 1;
  return p.copy + (j - p.count) * p.c;
}

__device__ inline double similarity(const lathe_cuda::MergeParams &p,
                                    int64_t a, int64_t z) {
  int64_t sa, sz;
  const float *ra = slot(p, a, sa), *rz = slot(p, z, sz);
  return lathe::bank_select::cosine(ra, sa, rz, sz, p.c);
}

} // namespace memred_dev

// The merge policy in one block of kMergeThreads threads. Each step merges
// the linked pair (j, next[j]) of highest similarity, the first in order on
// ties, as the CPU runtime's scan does (which keeps the head when its
// similarity is NaN and never picks another NaN); an unlinked row gets
// next = -1, so the live pairs are the rows with next >= 0.
extern "C" __global__ void __launch_bounds__(lathe_cuda::kMergeThreads)
    lathe_memred_merge(lathe_cuda::MergeParams p) {
  using lathe_cuda::kMergeThreads;
  __shared__ double bestSim[kMergeThreads];
  __shared__ int64_t bestRow[kMergeThreads];
  int64_t tid = threadIdx.x;
  for (int64_t j = tid; j < p.n; j += kMergeThreads) {
    p.next[j] = j + 1 < p.n ? j + 1 : -1;
    p.prev[j] = j - 1;
    if (j + 1 < p.n)
      p.sim[j] = memred_dev::similarity(p, j, j + 1);
  }
  __syncthreads();
  for (int64_t rows = p.n; rows > p.m; --rows) {
    double best = 0.0;
    int64_t at = -1;
    for (int64_t j = tid; j < p.n; j += kMergeThreads) {
      double s = p.sim[j];
      if (p.next[j] >= 0 && !isnan(s) && (at < 0 || s > best)) {
        best = s;
        at = j;
      }
    }
    bestSim[tid] = best;
    bestRow[tid] = at;
    __syncthreads();
    for (unsigned half = kMergeThreads / 2; half > 0; half /= 2) {
      if (tid < half) {
        double s = bestSim[tid + half];
        int64_t j = bestRow[tid + half];
        int64_t mine = bestRow[tid];
        if (j >= 0 && (mine < 0 || s > bestSim[tid] ||
                       (s == bestSim[tid] && j < mine))) {
          bestSim[tid] = s;
          bestRow[tid] = j;
        }
      }
      __syncthreads();
    }
    // The head (row 0) always has a successor here (rows >= 2).
    int64_t a = isnan(p.sim[0]) || bestRow[0] < 0 ? 0 : bestRow[0];
    int64_t z = p.next[a];
    int64_t sa, sz;
    float *dst = memred_dev::slot(p, a, sa);
    const float *src = memred_dev::slot(p, z, sz);
    for (int64_t e = tid; e < p.c; e += kMergeThreads)
      dst[e * sa] = (dst[e * sa] + src[e * sz]) * 0.5f;
    __syncthreads();
    if (tid == 0) {
      int64_t after = p.next[z];
      p.next[a] = after;
      if (after >= 0)
        p.prev[after] = a;
      p.next[z] = -1;
      if (after >= 0)
        p.sim[a] = memred_dev::similarity(p, a, after);
      if (p.prev[a] >= 0)
        p.sim[p.prev[a]] = memred_dev::similarity(p, p.prev[a], a);
    }
    __syncthreads();
  }
  // Survivors to the front in order, one thread per column (a bank row j
  // lands at out <= j).
  for (int64_t e = tid; e < p.c; e += kMergeThreads) {
    int64_t out = 0;
    for (int64_t j = 0; j >= 0; j = p.next[j], ++out) {
      int64_t s;
      const float *row = memred_dev::slot(p, j, s);
      const float *src = row + e * s;
      float *dst = p.bank + out * p.bRow + e * p.bCol;
      if (dst != src)
        *dst = *src;
    }
  }
}
