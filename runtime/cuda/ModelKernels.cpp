//===- ModelKernels.cpp - lathe_cuda_* kernels beyond matmul and conv -----===//
//
// Host sides of ModelKernels.cu: chunked attention (memred), CSR SpMM
// (sparsegcn), LSTM/GRU layers (lathe.rnn: one cuBLASLt GEMM for the input
// projection of all steps, then per step a recurrent GEMM and a fused gate
// kernel), softmax / masked softmax / layer norm rows, padded max pooling,
// and the device side of generated code's index checks. Same arguments as
// the CPU runtime's lathe_rt_* kernels, on device memory; errors become the
// pending error (generated code cannot take a status).
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/CUDA.h"
#include "lathe/runtime/CUDAKernels.h"
#include "lathe/runtime/Runtime.h"
#include "lathe/runtime/Sparse.h"

#include "CudaInternal.h"
#include "LaunchGeometry.h"

#include <algorithm>
#include <string>

using namespace lathe_cuda;

void lathe_cuda::launchShared(const char *name, CUfunction fn, const Launch &l,
                              void **params) {
  TimedRegion timed(name);
  check(drv.launchKernel(fn, l.grid, 1, 1, l.block, 1, 1, l.sharedBytes,
                         theStream(), params, nullptr),
        name);
}

namespace {

/// A small device record kernels write their first error into: four
/// int64 {code, a, b, c}, zero when nothing failed.
struct ErrorRecord {
  long long *device = nullptr;
  bool make() {
    void *p = nullptr;
    if (lathe_cuda_alloc(4 * sizeof(long long), &p) != LATHE_CUDA_OK) {
      setPending("lathe_cuda: out of device memory for an error record");
      return false;
    }
    device = static_cast<long long *>(p);
    drv.memsetD32Async(reinterpret_cast<CUdeviceptr>(p), 0, 8, theStream());
    return true;
  }
  /// Copies the record back (waits for the stream); frees it.
  bool read(long long out[4]) {
    out[0] = out[1] = out[2] = out[3] = 0;
    bool ok = lathe_cuda_copy_to_host(out, device, 4 * sizeof(long long)) ==
              LATHE_CUDA_OK;
    lathe_cuda_free(device);
    device = nullptr;
    return ok;
  }
};

//===----------------------------------------------------------------------===//
// Row kernels
//===----------------------------------------------------------------------===//

void rowKernel(const char *kernel, const char *profileName, RowParams &p,
               void **extra, int numExtra) {
  if (p.rows == 0 || p.n == 0)
    return;
  CUfunction fn = ownKernel(kernel);
  if (!fn)
    return;
  void *params[8] = {&p};
  for (int i = 0; i < numExtra; ++i)
    params[1 + i] = extra[i];
  launchShared(profileName, fn, warpPerRowLaunch(p.rows), params);
}

bool sameShape(const Ref &a, const Ref &b) {
  if (a.rank != b.rank)
    return false;
  for (int64_t i = 0; i < a.rank; ++i)
    if (a.size(i) != b.size(i))
      return false;
  return true;
}

void softmax(const char *name, int64_t rankIn, void *in, int64_t rankMask,
             void *mask, int64_t rankOut, void *out, float fill, int64_t axis,
             int64_t maskDims, int64_t maskedWhen) {
  Ref I = ref(rankIn, in, 4), O = ref(rankOut, out, 4);
  if (!sameShape(I, O)) {
    setPending(std::string(name) + ": the output " + shapeOf(O) +
               " is not the input's shape " + shapeOf(I));
    return;
  }
  RowParams p;
  if (!makeRowParams(I.rank, I.sizes, I.strides, O.strides, axis, p)) {
    setPending(std::string(name) + ": axis " + std::to_string(axis) +
               " of a rank-" + std::to_string(I.rank) +
               " tensor (at most rank " + std::to_string(kMaxRowDims) + ")");
    return;
  }
  p.in = I.as<float>();
  p.out = O.as<float>();
  if (mask) {
    Ref M = ref(rankMask, mask, 1);
    if (!addRowMask(I.rank, I.sizes, axis, M.rank, M.sizes, M.strides, maskDims,
                    p)) {
      setPending(std::string(name) + ": the mask " + shapeOf(M) +
                 " does not broadcast onto the input " + shapeOf(I));
      return;
    }
    p.mask = M.as<signed char>();
    p.fill = fill;
    p.maskedWhen = int(maskedWhen);
  }
  rowKernel("lathe_softmax_rows", "softmax", p, nullptr, 0);
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

void launchAttention(const std::string &name, AttentionParams &p,
                     int64_t batch) {
  if (!attentionTiles(p.lq, p.lk, p.d, p.dv, 48 * 1024, p.bq, p.bk)) {
    setPending(name + ": head dimensions " + std::to_string(p.d) + " and " +
               std::to_string(p.dv) + " do not fit the kernel's shared memory");
    return;
  }
  CUfunction fn = ownKernel("lathe_attention");
  if (!fn)
    return;
  void *params[] = {&p};
  launchShared("attention", fn,
               attentionLaunch(batch, p.lq, p.bq, p.bk, p.d, p.dv), params);
}

void attention(int64_t rankQ, void *q, int64_t rankK, void *k, int64_t rankV,
               void *v, int64_t rankB0, void *b0, int64_t rankB1, void *b1,
               int64_t rankO, void *o, int64_t rankL, void *lse, float scale,
               int64_t numBiases) {
  const std::string name = "lathe_cuda_chunked_attention_f32";
  auto fail = [&](const std::string &why) { setPending(name + ": " + why); };
  Ref Q = ref(rankQ, q, 4), K = ref(rankK, k, 4), V = ref(rankV, v, 4),
      O = ref(rankO, o, 4);
  int64_t r = Q.rank;
  if (r < 2 || r > 2 + kAttnMaxBatch)
    return fail("expects rank 2 to 5, got query " + shapeOf(Q));
  if (numBiases < 0 || numBiases > 2)
    return fail("expects 0 to 2 biases, got " + std::to_string(numBiases));
  if (K.rank != r || V.rank != r || O.rank != r)
    return fail("rank mismatch: query " + shapeOf(Q) + ", key " + shapeOf(K) +
                ", value " + shapeOf(V) + ", output " + shapeOf(O));
  AttentionParams p;
  p.lq = Q.size(r - 2);
  p.d = Q.size(r - 1);
  p.lk = K.size(r - 2);
  p.dv = V.size(r - 1);
  bool ok = K.size(r - 1) == p.d && V.size(r - 2) == p.lk &&
            O.size(r - 2) == p.lq && O.size(r - 1) == p.dv;
  int64_t batch = 1;
  p.numBatch = int(r - 2);
  for (int64_t i = 0; i < r - 2; ++i) {
    ok = ok && K.size(i) == Q.size(i) && V.size(i) == Q.size(i) &&
         O.size(i) == Q.size(i);
    p.batchSizes[i] = Q.size(i);
    batch *= Q.size(i);
  }
  if (!ok)
    return fail("mismatched shapes: query " + shapeOf(Q) + ", key " +
                shapeOf(K) + ", value " + shapeOf(V) + ", output " +
                shapeOf(O));
  auto operand = [&](const Ref &x, AttnOperand &a) {
    a.data = x.as<float>();
    for (int64_t i = 0; i < r - 2; ++i)
      a.batchStrides[i] = x.size(i) == 1 ? 0 : x.stride(i);
    a.rowStride = x.size(r - 2) == 1 ? 0 : x.stride(r - 2);
    a.colStride = x.size(r - 1) == 1 ? 0 : x.stride(r - 1);
  };
  operand(Q, p.ops[0]);
  operand(K, p.ops[1]);
  operand(V, p.ops[2]);
  operand(O, p.ops[5]);
  for (int64_t i = 0; i < numBiases; ++i) {
    Ref B = i == 0 ? ref(rankB0, b0, 4) : ref(rankB1, b1, 4);
    bool fits = B.rank == r;
    for (int64_t dim = 0; fits && dim < r; ++dim) {
      int64_t want = dim == r - 2 ? p.lq : dim == r - 1 ? p.lk : Q.size(dim);
      fits = B.size(dim) == 1 || B.size(dim) == want;
    }
    if (!fits)
      return fail("bias " + std::to_string(i) + " " + shapeOf(B) +
                  " does not broadcast to the scores [.., " +
                  std::to_string(p.lq) + ", " + std::to_string(p.lk) + "]");
    operand(B, p.ops[3 + i]);
  }
  if (lse) {
    Ref L = ref(rankL, lse, 4);
    bool fits = L.rank == r - 1 && L.size(r - 2) == p.lq;
    for (int64_t i = 0; fits && i < r - 2; ++i)
      fits = L.size(i) == Q.size(i);
    if (!fits)
      return fail("the log-sum-exp " + shapeOf(L) +
                  " is not [..., Lq] for "
                  "the query " +
                  shapeOf(Q));
    AttnOperand &a = p.ops[6];
    a.data = L.as<float>();
    for (int64_t i = 0; i < r - 2; ++i)
      a.batchStrides[i] = L.stride(i);
    a.rowStride = L.stride(r - 2);
  }
  p.scale = scale;
  p.numBiases = int(numBiases);
  if (batch == 0 || p.lq == 0 || (p.dv == 0 && !lse))
    return;
  launchAttention(name, p, batch);
}

void maskedAttention(int64_t rankQ, void *q, int64_t rankKT, void *kt,
                     int64_t rankV, void *v, int64_t rankM, void *mask,
                     int64_t rankO, void *o, float scale, float fill,
                     int64_t maskDims, int64_t flags) {
  const std::string name = "lathe_cuda_masked_attention_f32";
  auto fail = [&](const std::string &why) { setPending(name + ": " + why); };
  Ref Q = ref(rankQ, q, 4), KT = ref(rankKT, kt, 4), V = ref(rankV, v, 4),
      O = ref(rankO, o, 4);
  int64_t r = Q.rank;
  if (r < 2 || r > 2 + kAttnMaxBatch)
    return fail("expects rank 2 to 5, got query " + shapeOf(Q));
  if (KT.rank != r || V.rank != r || O.rank != r)
    return fail("rank mismatch: query " + shapeOf(Q) + ", transposed key " +
                shapeOf(KT) + ", value " + shapeOf(V) + ", output " +
                shapeOf(O));
  AttentionParams p;
  p.lq = Q.size(r - 2);
  p.d = Q.size(r - 1);
  p.lk = KT.size(r - 1);
  p.dv = V.size(r - 1);
  bool ok = KT.size(r - 2) == p.d && V.size(r - 2) == p.lk &&
            O.size(r - 2) == p.lq && O.size(r - 1) == p.dv;
  int64_t batch = 1;
  p.numBatch = int(r - 2);
  int64_t scoreSizes[2 + kAttnMaxBatch];
  for (int64_t i = 0; i < r - 2; ++i) {
    ok = ok && KT.size(i) == Q.size(i) && V.size(i) == Q.size(i) &&
         O.size(i) == Q.size(i);
    p.batchSizes[i] = Q.size(i);
    scoreSizes[i] = Q.size(i);
    batch *= Q.size(i);
  }
  scoreSizes[r - 2] = p.lq;
  scoreSizes[r - 1] = p.lk;
  if (!ok)
    return fail("mismatched shapes: query " + shapeOf(Q) + ", transposed key " +
                shapeOf(KT) + ", value " + shapeOf(V) + ", output " +
                shapeOf(O));
  auto operand = [&](const Ref &x, AttnOperand &a, bool transposed) {
    a.data = x.as<float>();
    for (int64_t i = 0; i < r - 2; ++i)
      a.batchStrides[i] = x.size(i) == 1 ? 0 : x.stride(i);
    int64_t rowDim = transposed ? r - 1 : r - 2;
    int64_t colDim = transposed ? r - 2 : r - 1;
    a.rowStride = x.size(rowDim) == 1 ? 0 : x.stride(rowDim);
    a.colStride = x.size(colDim) == 1 ? 0 : x.stride(colDim);
  };
  operand(Q, p.ops[0], false);
  operand(KT, p.ops[1], true);
  operand(V, p.ops[2], false);
  operand(O, p.ops[5], false);
  if (flags & LATHE_CUDA_ATTN_HAS_MASK) {
    Ref M = ref(rankM, mask, 1);
    if (!attentionMaskStrides(r, scoreSizes, M.rank, M.sizes, M.strides,
                              maskDims, p.ops[kAttnMask]))
      return fail("the mask " + shapeOf(M) +
                  " does not broadcast onto the scores");
    p.mask = M.as<signed char>();
    p.fill = fill;
    p.maskedWhen = (flags & LATHE_CUDA_ATTN_MASKED_WHEN_TRUE) ? 1 : 0;
  }
  p.scale = scale;
  p.decomposedSoftmax = 1;
  if (batch == 0 || p.lq == 0 || p.dv == 0)
    return;
  launchAttention(name, p, batch);
}

//===----------------------------------------------------------------------===//
// SpMM
//===----------------------------------------------------------------------===//

template <typename Index>
void spmm(const char *name, int64_t rRp, void *rp, int64_t rCi, void *ci,
          int64_t rV, void *v, int64_t rPerm, void *permDesc, int64_t rX,
          void *x, int64_t rY, void *y, int64_t numRows, int64_t numCols) {
  auto fail = [&](const std::string &why) {
    setPending(std::string(name) + ": " + why);
  };
  Ref RP = ref(rRp, rp, sizeof(Index)), CI = ref(rCi, ci, sizeof(Index)),
      VA = ref(rV, v, 4), X = ref(rX, x, 4), Y = ref(rY, y, 4);
  if (numRows <= 0 || numCols <= 0)
    return fail("empty graph: the adjacency is " + std::to_string(numRows) +
                " x " + std::to_string(numCols) +
                " (a graph needs at least one node)");
  if (RP.rank != 1 || CI.rank != 1 || VA.rank != 1 || X.rank != 2 ||
      Y.rank != 2)
    return fail("expects rank-1 CSR arrays and rank-2 features");
  if (RP.size(0) != numRows + 1)
    return fail(
        "row_ptr has " + std::to_string(RP.size(0)) +
        " elements, expected num_rows + 1 = " + std::to_string(numRows + 1));
  if (RP.stride(0) != 1 || CI.stride(0) != 1 || VA.stride(0) != 1)
    return fail("CSR arrays must be contiguous");
  if (X.size(0) != numCols)
    return fail("the feature matrix has " + std::to_string(X.size(0)) +
                " rows, expected one per node (num_cols = " +
                std::to_string(numCols) + ")");
  if (Y.size(0) != numRows || Y.size(1) != X.size(1))
    return fail("the output is [" + std::to_string(Y.size(0)) + "x" +
                std::to_string(Y.size(1)) + "], expected [" +
                std::to_string(numRows) + "x" + std::to_string(X.size(1)) +
                "]");
  const Index *perm = nullptr;
  if (permDesc) {
    Ref P = ref(rPerm, permDesc, sizeof(Index));
    if (P.rank != 1 || P.size(0) != numRows || P.stride(0) != 1)
      return fail("the permutation has " + shapeOf(P) + " elements, expected " +
                  std::to_string(numRows));
    perm = P.as<Index>();
  }
  CUfunction fn =
      ownKernel(sizeof(Index) == 4 ? "lathe_spmm_csr_i32" : "lathe_spmm_csr");
  ErrorRecord record;
  if (!fn || !record.make())
    return;
  const Index *rowPtr = RP.as<Index>(), *colIdx = CI.as<Index>();
  const float *values = VA.as<float>(), *xd = X.as<float>();
  float *yd = Y.as<float>();
  int64_t xr = X.stride(0), xc = X.stride(1), yr = Y.stride(0),
          yc = Y.stride(1), features = X.size(1),
          nnzLimit = std::min(CI.size(0), VA.size(0));
  void *params[] = {&rowPtr,  &colIdx,  &values,   &perm,     &xd,
                    &xr,      &xc,      &yd,       &yr,       &yc,
                    &numRows, &numCols, &features, &nnzLimit, &record.device};
  launchShared("spmm", fn, warpPerRowLaunch(numRows), params);
  long long e[4];
  if (!record.read(e) || e[0] == 0)
    return;
  if (e[0] == 1)
    fail("column index " + std::to_string(e[2]) + " at position " +
         std::to_string(e[1]) + " (row " + std::to_string(e[3]) +
         ") is out of range [0, " + std::to_string(numCols) + ")");
  else if (e[0] == 2)
    fail("the permutation is not a permutation of [0, " +
         std::to_string(numRows) + "): entry " + std::to_string(e[1]) + " is " +
         std::to_string(e[2]));
  else if (e[0] == 3)
    fail("row_ptr is not non-decreasing or does not start at 0: row " +
         std::to_string(e[1]) + " spans [" + std::to_string(e[2]) + ", " +
         std::to_string(e[3]) + ")");
  else
    fail("row_ptr[" + std::to_string(e[1] + 1) + "] = " + std::to_string(e[2]) +
         " exceeds the number of column indices or values (" +
         std::to_string(e[3]) + ")");
}

//===----------------------------------------------------------------------===//
// CSR transpose
//===----------------------------------------------------------------------===//

/// Aᵀ in CSR by a counting sort on the device, the CPU runtime's result
/// exactly: each column's entries counted (atomics), an exclusive prefix sum
/// in one block gives t_row_ptr, entries scattered into their column's slots,
/// then each column's entries put back in row order (one warp a column,
/// ranking by stored position). Slots past nnz are zeroed, as on the CPU.
template <typename Index>
void csrTranspose(const char *name, int64_t rRp, void *rp, int64_t rCi,
                  void *ci, int64_t rV, void *v, int64_t rTRp, void *trp,
                  int64_t rTCi, void *tci, int64_t rTV, void *tv,
                  int64_t numRows, int64_t numCols) {
  auto fail = [&](const std::string &why) {
    setPending(std::string(name) + ": " + why);
  };
  Ref RP = ref(rRp, rp, sizeof(Index)), CI = ref(rCi, ci, sizeof(Index)),
      VA = ref(rV, v, 4), TRP = ref(rTRp, trp, sizeof(Index)),
      TCI = ref(rTCi, tci, sizeof(Index)), TVA = ref(rTV, tv, 4);
  if (numRows <= 0 || numCols <= 0)
    return fail("empty graph: the adjacency is " + std::to_string(numRows) +
                " x " + std::to_string(numCols) +
                " (a graph needs at least one node)");
  if (RP.rank != 1 || CI.rank != 1 || VA.rank != 1 || TRP.rank != 1 ||
      TCI.rank != 1 || TVA.rank != 1)
    return fail("expects rank-1 CSR arrays");
  if (RP.size(0) != numRows + 1)
    return fail(
        "row_ptr has " + std::to_string(RP.size(0)) +
        " elements, expected num_rows + 1 = " + std::to_string(numRows + 1));
  if (RP.stride(0) != 1 || CI.stride(0) != 1 || VA.stride(0) != 1 ||
      TRP.stride(0) != 1 || TCI.stride(0) != 1 || TVA.stride(0) != 1)
    return fail("CSR arrays must be contiguous");
  const Index *rowPtr = RP.as<Index>(), *colIdx = CI.as<Index>();
  const float *values = VA.as<float>();
  Index *tRowPtr = TRP.as<Index>(), *tColIdx = TCI.as<Index>();
  float *tValues = TVA.as<float>();
  int64_t nnzLimit = std::min(CI.size(0), VA.size(0));
  const char *suffix = sizeof(Index) == 4 ? "_i32" : "";
  CUfunction count =
      ownKernel((std::string("lathe_csr_transpose_count") + suffix).c_str());
  CUfunction scan =
      ownKernel((std::string("lathe_csr_transpose_scan") + suffix).c_str());
  CUfunction scatter =
      ownKernel((std::string("lathe_csr_transpose_scatter") + suffix).c_str());
  CUfunction order =
      ownKernel((std::string("lathe_csr_transpose_order") + suffix).c_str());
  if (!count || !scan || !scatter || !order)
    return;
  void *countsPtr = nullptr;
  if (lathe_cuda_alloc(size_t(numCols) * 8, &countsPtr) != LATHE_CUDA_OK)
    return fail("out of device memory for " + std::to_string(numCols) +
                " column counts");
  auto *counts = static_cast<unsigned long long *>(countsPtr);
  drv.memsetD32Async(reinterpret_cast<CUdeviceptr>(countsPtr), 0,
                     size_t(numCols) * 2, theStream());
  ErrorRecord record;
  if (!record.make()) {
    lathe_cuda_free(countsPtr);
    return;
  }
  {
    void *params[] = {&rowPtr,   &colIdx, &numRows,      &numCols,
                      &nnzLimit, &counts, &record.device};
    Launch l = gridStrideLaunch(numRows);
    launch("csr_transpose", count, l.grid, l.block, params);
  }
  long long e[4];
  Index nnzIndex = 0;
  if (!record.read(e)) {
    lathe_cuda_free(countsPtr);
    return;
  }
  if (e[0] == 0 && lathe_cuda_copy_to_host(&nnzIndex, rowPtr + numRows,
                                           sizeof(Index)) != LATHE_CUDA_OK) {
    lathe_cuda_free(countsPtr);
    return fail(std::string("reading nnz: ") + lathe_cuda_last_error());
  }
  if (e[0] != 0) {
    lathe_cuda_free(countsPtr);
    if (e[0] == 1)
      return fail("column index " + std::to_string(e[2]) + " at position " +
                  std::to_string(e[1]) + " (row " + std::to_string(e[3]) +
                  ") is out of range [0, " + std::to_string(numCols) + ")");
    if (e[0] == 3)
      return fail("row_ptr is not non-decreasing or does not start at 0: "
                  "row " +
                  std::to_string(e[1]) + " spans [" + std::to_string(e[2]) +
                  ", " + std::to_string(e[3]) + ")");
    return fail("row_ptr[" + std::to_string(e[1] + 1) +
                "] = " + std::to_string(e[2]) +
                " exceeds the number of column indices or values (" +
                std::to_string(e[3]) + ")");
  }
  int64_t nnz = nnzIndex;
  if (TRP.size(0) != numCols + 1 || TCI.size(0) < nnz || TVA.size(0) < nnz) {
    lathe_cuda_free(countsPtr);
    return fail(
        "the transpose's outputs hold " + std::to_string(TRP.size(0)) + ", " +
        std::to_string(TCI.size(0)) + " and " + std::to_string(TVA.size(0)) +
        " elements, expected num_cols + 1 = " + std::to_string(numCols + 1) +
        " and nnz = " + std::to_string(nnz));
  }
  {
    void *params[] = {&counts, &tRowPtr, &numCols};
    launch("csr_transpose", scan, 1, 1024, params);
  }
  void *scratch = nullptr;
  if (nnz > 0) {
    if (lathe_cuda_alloc(size_t(nnz) * 16, &scratch) != LATHE_CUDA_OK) {
      lathe_cuda_free(countsPtr);
      return fail("out of device memory for " + std::to_string(nnz) +
                  " entries' scratch");
    }
    int64_t *keys = static_cast<int64_t *>(scratch), *rows = keys + nnz;
    void *scatterParams[] = {&rowPtr, &colIdx, &numRows, &counts, &keys, &rows};
    Launch l = gridStrideLaunch(numRows);
    launch("csr_transpose", scatter, l.grid, l.block, scatterParams);
    void *orderParams[] = {&tRowPtr, &keys,    &rows,   &values,
                           &tColIdx, &tValues, &numCols};
    launchShared("csr_transpose", order, warpPerRowLaunch(numCols),
                 orderParams);
  }
  // Slots past nnz hold zeros (index 0, value +0.0: all-zero bits).
  int64_t tailIdx = TCI.size(0) - nnz, tailVal = TVA.size(0) - nnz;
  if (tailIdx > 0)
    drv.memsetD32Async(reinterpret_cast<CUdeviceptr>(tColIdx + nnz), 0,
                       size_t(tailIdx) * sizeof(Index) / 4, theStream());
  if (tailVal > 0)
    drv.memsetD32Async(reinterpret_cast<CUdeviceptr>(tValues + nnz), 0,
                       size_t(tailVal), theStream());
  // Frees are stream-ordered: later work on the one stream reuses them.
  if (scratch)
    lathe_cuda_free(scratch);
  lathe_cuda_free(countsPtr);
}

//===----------------------------------------------------------------------===//
// RNN
//===----------------------------------------------------------------------===//

/// A rank-R f32 memref descriptor built here for lathe_cuda_matmul_f32.
template <int R> struct Desc {
  float *allocated, *aligned;
  int64_t offset;
  int64_t sizes[R], strides[R];
};

template <int R>
Desc<R> desc(float *data, std::initializer_list<int64_t> sizes,
             std::initializer_list<int64_t> strides) {
  Desc<R> d{data, data, 0, {}, {}};
  std::copy(sizes.begin(), sizes.end(), d.sizes);
  std::copy(strides.begin(), strides.end(), d.strides);
  return d;
}

void rnn(int64_t rankX, void *x, int64_t rankW, void *w, int64_t rankR, void *r,
         int64_t rankB, void *bias, int64_t rankRb, void *rbDesc,
         int64_t rankH0, void *h0, int64_t rankC0, void *c0, int64_t rankY,
         void *y, int64_t rankHT, void *hT, int64_t rankCT, void *cT,
         int64_t flags, int64_t gatesCode) {
  auto fail = [](const std::string &why) {
    setPending("lathe_cuda_rnn_f32: " + why);
  };
  int cell = int(flags & LATHE_RNN_CELL_MASK);
  if (cell != LATHE_RNN_LSTM && cell != LATHE_RNN_GRU &&
      cell != LATHE_RNN_LBR_GRU)
    return fail("unknown cell " + std::to_string(cell));
  bool lstm = cell == LATHE_RNN_LSTM;
  bool reverse = flags & LATHE_RNN_REVERSE;
  bool batchFirst = flags & LATHE_RNN_BATCH_FIRST;
  bool hasRb = flags & LATHE_RNN_HAS_RECURRENT_BIAS;
  int g = lstm ? 4 : 3;
  RnnStepParams p;
  p.cell = cell;
  p.gateCount = g;
  bool seen[4] = {false, false, false, false};
  for (int i = 0; i < g; ++i) {
    p.gates[i] = int((gatesCode >> (4 * i)) & 0xF);
    if (p.gates[i] >= g || seen[p.gates[i]])
      return fail("gate blocks are not a permutation of 0.." +
                  std::to_string(g - 1));
    seen[p.gates[i]] = true;
  }
  Ref X = ref(rankX, x, 4), W = ref(rankW, w, 4), R = ref(rankR, r, 4),
      B = ref(rankB, bias, 4), H0 = ref(rankH0, h0, 4), Y = ref(rankY, y, 4),
      HT = ref(rankHT, hT, 4);
  if (X.rank != 3 || R.rank != 2 || W.rank != 2 || B.rank != 1 ||
      H0.rank != 2 || Y.rank != 3 || HT.rank != 2)
    return fail("x " + shapeOf(X) + " must be [T, N, I] and R " + shapeOf(R) +
                " [G*H, H]");
  int64_t t = X.size(batchFirst ? 1 : 0), n = X.size(batchFirst ? 0 : 1),
          in = X.size(2), h = R.size(1), gh = g * h;
  // [T, N, *] strides of x and y whatever the layout.
  int64_t xt = X.stride(batchFirst ? 1 : 0), xn = X.stride(batchFirst ? 0 : 1);
  int64_t yt = Y.stride(batchFirst ? 1 : 0), yn = Y.stride(batchFirst ? 0 : 1);
  bool ok = W.size(0) == gh && W.size(1) == in && R.size(0) == gh &&
            B.size(0) == gh && H0.size(0) == n && H0.size(1) == h &&
            HT.size(0) == n && HT.size(1) == h &&
            Y.size(batchFirst ? 1 : 0) == t &&
            Y.size(batchFirst ? 0 : 1) == n && Y.size(2) == h;
  Ref RB, C0, CT;
  if (hasRb) {
    RB = ref(rankRb, rbDesc, 4);
    ok = ok && RB.rank == 1 && RB.size(0) == gh;
  }
  if (lstm) {
    C0 = ref(rankC0, c0, 4);
    CT = ref(rankCT, cT, 4);
    ok = ok && C0.rank == 2 && C0.size(0) == n && C0.size(1) == h &&
         CT.rank == 2 && CT.size(0) == n && CT.size(1) == h;
  }
  if (!ok)
    return fail("mismatched shapes: x " + shapeOf(X) + ", W " + shapeOf(W) +
                ", R " + shapeOf(R) + ", bias " + shapeOf(B) + ", h0 " +
                shapeOf(H0) + ", y " + shapeOf(Y));
  if (n == 0 || h == 0)
    return;
  bool unit =
      H0.stride(1) == 1 && HT.stride(1) == 1 && Y.stride(2) == 1 &&
      HT.stride(0) == h &&
      (!lstm || (C0.stride(1) == 1 && CT.stride(0) == h && CT.stride(1) == 1));
  if (!unit)
    return fail("strided states (h0, hT, c0, cT, y) are not supported");
  float *hTd = HT.as<float>(), *cTd = lstm ? CT.as<float>() : nullptr;
  if (t == 0) {
    for (int64_t b = 0; b < n; ++b) {
      drv.memcpyAsync(
          reinterpret_cast<CUdeviceptr>(hTd + b * h),
          reinterpret_cast<CUdeviceptr>(H0.as<float>() + b * H0.stride(0)),
          h * 4, theStream());
      if (lstm)
        drv.memcpyAsync(
            reinterpret_cast<CUdeviceptr>(cTd + b * h),
            reinterpret_cast<CUdeviceptr>(C0.as<float>() + b * C0.stride(0)),
            h * 4, theStream());
    }
    return;
  }
  CUfunction fn = ownKernel("lathe_rnn_gates");
  if (!fn)
    return;
  void *xpMem = nullptr, *hpMem = nullptr, *zMem = nullptr, *rhMem = nullptr;
  bool plainGru = cell == LATHE_RNN_GRU;
  if (lathe_cuda_alloc(size_t(t * n * gh) * 4, &xpMem) ||
      lathe_cuda_alloc(size_t(n * gh) * 4, &hpMem) ||
      (plainGru && (lathe_cuda_alloc(size_t(n * h) * 4, &zMem) ||
                    lathe_cuda_alloc(size_t(n * h) * 4, &rhMem)))) {
    fail("out of device memory");
    for (void *m : {xpMem, hpMem, zMem, rhMem})
      if (m)
        lathe_cuda_free(m);
    return;
  }
  auto *xp = static_cast<float *>(xpMem), *hp = static_cast<float *>(hpMem);
  constexpr int64_t kBias = LATHE_MM_HAS_BIAS;
  // xp[T, N, G*H] = x W^T + bias, all steps in one batched GEMM.
  {
    auto A = desc<3>(X.as<float>(), {t, n, in}, {xt, xn, X.stride(2)});
    auto Bm = desc<2>(W.as<float>(), {in, gh}, {W.stride(1), W.stride(0)});
    auto Bias = desc<1>(B.as<float>(), {gh}, {B.stride(0)});
    auto C = desc<3>(xp, {t, n, gh}, {n * gh, gh, 1});
    lathe_cuda_matmul_f32(3, &A, 2, &Bm, 1, &Bias, 3, &C, 3, &C, kBias);
  }
  auto Rt = desc<2>(R.as<float>(), {h, gh}, {R.stride(1), R.stride(0)});
  auto Rb = hasRb ? desc<1>(RB.as<float>(), {gh}, {RB.stride(0)})
                  : desc<1>(B.as<float>(), {gh}, {B.stride(0)});
  int64_t hk = p.gates[2];
  auto Rh = desc<2>(R.as<float>() + hk * h * R.stride(0), {h, h},
                    {R.stride(1), R.stride(0)});
  auto RbH = desc<1>(Rb.aligned + hk * h * Rb.strides[0], {h}, {Rb.strides[0]});
  p.n = n;
  p.h = h;
  p.z = static_cast<float *>(zMem);
  p.rh = static_cast<float *>(rhMem);
  Launch geometry = gridStrideLaunch(n * h);
  for (int64_t i = 0; i < t; ++i) {
    int64_t s = reverse ? t - 1 - i : i;
    const float *hPrev = i == 0 ? H0.as<float>() : hTd;
    int64_t hPrevStride = i == 0 ? H0.stride(0) : h;
    auto A = desc<2>(const_cast<float *>(hPrev), {n, h}, {hPrevStride, 1});
    auto C = desc<2>(hp, {n, gh}, {gh, 1});
    lathe_cuda_matmul_f32(2, &A, 2, &Rt, 1, &Rb, 2, &C, 2, &C,
                          hasRb ? kBias : 0);
    p.xp = xp + s * n * gh;
    p.hp = hp;
    p.hPrev = hPrev;
    p.hPrevStride = hPrevStride;
    p.cPrev = lstm ? (i == 0 ? C0.as<float>() : cTd) : nullptr;
    p.cPrevStride = lstm ? (i == 0 ? C0.stride(0) : h) : 0;
    p.hOut = hTd;
    p.cOut = cTd;
    p.y = Y.as<float>() + s * yt;
    p.yStride = yn;
    p.phase = 0;
    void *params[] = {&p};
    launchShared("rnn_gates", fn, geometry, params);
    if (plainGru) {
      // The h gate's recurrent product takes r * h_{t-1}.
      auto RH = desc<2>(p.rh, {n, h}, {h, 1});
      auto CH = desc<2>(hp + hk * h, {n, h}, {gh, 1});
      lathe_cuda_matmul_f32(2, &RH, 2, &Rh, 1, &RbH, 2, &CH, 2, &CH,
                            hasRb ? kBias : 0);
      p.phase = 1;
      launchShared("rnn_gates", fn, geometry, params);
    }
  }
  for (void *m : {xpMem, hpMem, zMem, rhMem})
    if (m)
      lathe_cuda_free(m);
}

} // namespace

extern "C" {

void lathe_cuda_softmax_f32(int64_t rankIn, void *in, int64_t rankOut,
                            void *out, int64_t axis) {
  softmax("lathe_cuda_softmax_f32", rankIn, in, 0, nullptr, rankOut, out, 0.f,
          axis, 0, 0);
}

void lathe_cuda_masked_softmax_f32(int64_t rankIn, void *in, int64_t rankMask,
                                   void *mask, int64_t rankOut, void *out,
                                   float fill, int64_t axis, int64_t maskDims,
                                   int64_t maskedWhen) {
  softmax("lathe_cuda_masked_softmax_f32", rankIn, in, rankMask, mask, rankOut,
          out, fill, axis, maskDims, maskedWhen);
}

void lathe_cuda_layer_norm_f32(int64_t rankX, void *x, int64_t rankGamma,
                               void *gamma, int64_t rankBeta, void *beta,
                               int64_t rankOut, void *out, float eps,
                               int64_t flags) {
  Ref X = ref(rankX, x, 4), O = ref(rankOut, out, 4);
  if (!sameShape(X, O) || X.rank < 1) {
    setPending("lathe_cuda_layer_norm_f32: the output " + shapeOf(O) +
               " is not the input's shape " + shapeOf(X));
    return;
  }
  RowParams p;
  if (!makeRowParams(X.rank, X.sizes, X.strides, O.strides, X.rank - 1, p)) {
    setPending("lathe_cuda_layer_norm_f32: rank " + std::to_string(X.rank) +
               " (at most " + std::to_string(kMaxRowDims) + ")");
    return;
  }
  p.in = X.as<float>();
  p.out = O.as<float>();
  const float *g = nullptr, *b = nullptr;
  int64_t gs = 0, bs = 0;
  if (flags & LATHE_LN_HAS_GAMMA) {
    Ref G = ref(rankGamma, gamma, 4);
    if (G.rank != 1 || G.size(0) != p.n) {
      setPending("lathe_cuda_layer_norm_f32: gamma " + shapeOf(G) +
                 " is not [" + std::to_string(p.n) + "]");
      return;
    }
    g = G.as<float>();
    gs = G.stride(0);
  }
  if (flags & LATHE_LN_HAS_BETA) {
    Ref B = ref(rankBeta, beta, 4);
    if (B.rank != 1 || B.size(0) != p.n) {
      setPending("lathe_cuda_layer_norm_f32: beta " + shapeOf(B) + " is not [" +
                 std::to_string(p.n) + "]");
      return;
    }
    b = B.as<float>();
    bs = B.stride(0);
  }
  void *extra[] = {&g, &gs, &b, &bs, &eps};
  rowKernel("lathe_layer_norm_rows", "layer_norm", p, extra, 5);
}

void lathe_cuda_chunked_attention_f32(int64_t rankQ, void *q, int64_t rankK,
                                      void *k, int64_t rankV, void *v,
                                      int64_t rankB0, void *b0, int64_t rankB1,
                                      void *b1, int64_t rankO, void *o,
                                      float scale, int64_t /*qChunk*/,
                                      int64_t /*kvChunk*/, int64_t numBiases) {
  attention(rankQ, q, rankK, k, rankV, v, rankB0, b0, rankB1, b1, rankO, o, 0,
            nullptr, scale, numBiases);
}

void lathe_cuda_chunked_attention_lse_f32(
    int64_t rankQ, void *q, int64_t rankK, void *k, int64_t rankV, void *v,
    int64_t rankB0, void *b0, int64_t rankB1, void *b1, int64_t rankO, void *o,
    int64_t rankL, void *lse, float scale, int64_t /*qChunk*/,
    int64_t /*kvChunk*/, int64_t numBiases) {
  attention(rankQ, q, rankK, k, rankV, v, rankB0, b0, rankB1, b1, rankO, o,
            rankL, lse, scale, numBiases);
}

void lathe_cuda_masked_attention_f32(int64_t rankQ, void *q, int64_t rankKT,
                                     void *kt, int64_t rankV, void *v,
                                     int64_t rankM, void *mask, int64_t rankO,
                                     void *o, float scale, float fill,
                                     int64_t maskDims, int64_t flags) {
  maskedAttention(rankQ, q, rankKT, kt, rankV, v, rankM, mask, rankO, o, scale,
                  fill, maskDims, flags);
}

void lathe_cuda_spmm_csr_f32(int64_t rankRowPtr, void *rowPtr,
                             int64_t rankColIdx, void *colIdx,
                             int64_t rankValues, void *values, int64_t rankX,
                             void *x, int64_t rankY, void *y, int64_t numRows,
                             int64_t numCols, int64_t /*flags*/) {
  spmm<int64_t>("lathe_cuda_spmm_csr_f32", rankRowPtr, rowPtr, rankColIdx,
                colIdx, rankValues, values, 0, nullptr, rankX, x, rankY, y,
                numRows, numCols);
}

void lathe_cuda_spmm_csr_f32_i32(int64_t rankRowPtr, void *rowPtr,
                                 int64_t rankColIdx, void *colIdx,
                                 int64_t rankValues, void *values,
                                 int64_t rankX, void *x, int64_t rankY, void *y,
                                 int64_t numRows, int64_t numCols,
                                 int64_t /*flags*/) {
  spmm<int32_t>("lathe_cuda_spmm_csr_f32_i32", rankRowPtr, rowPtr, rankColIdx,
                colIdx, rankValues, values, 0, nullptr, rankX, x, rankY, y,
                numRows, numCols);
}

void lathe_cuda_spmm_tiled_f32(int64_t rankRowPtr, void *rowPtr,
                               int64_t rankColIdx, void *colIdx,
                               int64_t rankValues, void *values,
                               int64_t /*rankClasses*/, void * /*classes*/,
                               int64_t rankPerm, void *perm, int64_t rankX,
                               void *x, int64_t rankY, void *y, int64_t numRows,
                               int64_t numCols, int64_t /*tileSize*/,
                               int64_t /*thresholdPpm*/, int64_t flags) {
  // The tiles are a CPU layout decision: on the GPU every row is a CSR row.
  spmm<int64_t>("lathe_cuda_spmm_tiled_f32", rankRowPtr, rowPtr, rankColIdx,
                colIdx, rankValues, values, rankPerm,
                (flags & LATHE_SPMM_PERMUTED) ? perm : nullptr, rankX, x, rankY,
                y, numRows, numCols);
}

void lathe_cuda_spmm_tiled_f32_i32(
    int64_t rankRowPtr, void *rowPtr, int64_t rankColIdx, void *colIdx,
    int64_t rankValues, void *values, int64_t /*rankClasses*/,
    void * /*classes*/, int64_t rankPerm, void *perm, int64_t rankX, void *x,
    int64_t rankY, void *y, int64_t numRows, int64_t numCols,
    int64_t /*tileSize*/, int64_t /*thresholdPpm*/, int64_t flags) {
  spmm<int32_t>("lathe_cuda_spmm_tiled_f32_i32", rankRowPtr, rowPtr, rankColIdx,
                colIdx, rankValues, values, rankPerm,
                (flags & LATHE_SPMM_PERMUTED) ? perm : nullptr, rankX, x, rankY,
                y, numRows, numCols);
}

void lathe_cuda_csr_transpose(int64_t rankRowPtr, void *rowPtr,
                              int64_t rankColIdx, void *colIdx,
                              int64_t rankValues, void *values,
                              int64_t rankTRowPtr, void *tRowPtr,
                              int64_t rankTColIdx, void *tColIdx,
                              int64_t rankTValues, void *tValues,
                              int64_t numRows, int64_t numCols) {
  csrTranspose<int64_t>("lathe_cuda_csr_transpose", rankRowPtr, rowPtr,
                        rankColIdx, colIdx, rankValues, values, rankTRowPtr,
                        tRowPtr, rankTColIdx, tColIdx, rankTValues, tValues,
                        numRows, numCols);
}

void lathe_cuda_csr_transpose_i32(int64_t rankRowPtr, void *rowPtr,
                                  int64_t rankColIdx, void *colIdx,
                                  int64_t rankValues, void *values,
                                  int64_t rankTRowPtr, void *tRowPtr,
                                  int64_t rankTColIdx, void *tColIdx,
                                  int64_t rankTValues, void *tValues,
                                  int64_t numRows, int64_t numCols) {
  csrTranspose<int32_t>("lathe_cuda_csr_transpose_i32", rankRowPtr, rowPtr,
                        rankColIdx, colIdx, rankValues, values, rankTRowPtr,
                        tRowPtr, rankTColIdx, tColIdx, rankTValues, tValues,
                        numRows, numCols);
}

void lathe_cuda_rnn_f32(int64_t rankX, void *x, int64_t rankW, void *w,
                        int64_t rankR, void *r, int64_t rankB, void *bias,
                        int64_t rankRb, void *recurrentBias, int64_t rankH0,
                        void *h0, int64_t rankC0, void *c0, int64_t rankY,
                        void *y, int64_t rankHT, void *hT, int64_t rankCT,
                        void *cT, int64_t flags, int64_t gates) {
  rnn(rankX, x, rankW, w, rankR, r, rankB, bias, rankRb, recurrentBias, rankH0,
      h0, rankC0, c0, rankY, y, rankHT, hT, rankCT, cT, flags, gates);
}

void lathe_cuda_pool2d_padded_f32(int64_t rankIn, void *in, int64_t rankOut,
                                  void *out, int64_t layout, int64_t /*kind*/,
                                  int64_t windowH, int64_t windowW,
                                  int64_t strideH, int64_t strideW,
                                  int64_t dilationH, int64_t dilationW,
                                  int64_t padTop, int64_t padLeft,
                                  int64_t flags) {
  Ref I = ref(rankIn, in, 4), O = ref(rankOut, out, 4);
  if (I.rank != 4 || O.rank != 4 || (layout & ~int64_t(1))) {
    setPending("lathe_cuda_pool2d_padded_f32: expects rank-4 NCHW or NHWC "
               "operands (blocked layouts are CPU-only)");
    return;
  }
  int nhwc = int(layout & 1), accumulate = int(flags & 1);
  int64_t n = I.size(0), c = nhwc ? I.size(3) : I.size(1),
          h = nhwc ? I.size(1) : I.size(2), w = nhwc ? I.size(2) : I.size(3),
          oh = nhwc ? O.size(1) : O.size(2), ow = nhwc ? O.size(2) : O.size(3);
  const float *src = I.as<float>();
  float *dst = O.as<float>();
  CUfunction fn = ownKernel("lathe_pool2d_padded");
  if (!fn)
    return;
  void *params[] = {&src,     &dst,     &n,         &c,         &h,
                    &w,       &oh,      &ow,        &windowH,   &windowW,
                    &strideH, &strideW, &dilationH, &dilationW, &padTop,
                    &padLeft, &nhwc,    &accumulate};
  launchShared("pool2d", fn, gridStrideLaunch(n * c * oh * ow), params);
}

} // extern "C"

namespace {
/// Copies a device-side check record ({failed, value, lo, hi}) to the host;
/// false when nothing failed (or the copy did).
bool readFailureRecord(int64_t rank, void *record, long long e[4]) {
  Ref R = ref(rank, record, 8);
  e[0] = e[1] = e[2] = e[3] = 0;
  return lathe_cuda_copy_to_host(e, R.data, 4 * sizeof(long long)) ==
             LATHE_CUDA_OK &&
         e[0] != 0;
}

/// The message a check carries as a rank-1 i8 memref (up to its NUL).
std::string recordMessage(int64_t rankWhat, void *what) {
  std::string message;
  if (rankWhat != 1 || !what)
    return message;
  Ref W = ref(1, what, 1);
  for (int64_t i = 0; i < W.size(0) && i < (1 << 16); ++i) {
    char ch = W.data[i * W.stride(0)];
    if (!ch)
      break;
    message.push_back(ch);
  }
  return message;
}
} // namespace

extern "C" {

void lathe_cuda_index_check_begin(int64_t rank, void *record) {
  Ref R = ref(rank, record, 8);
  drv.memsetD32Async(reinterpret_cast<CUdeviceptr>(R.data), 0, 8, theStream());
}

void lathe_cuda_index_check_end(int64_t rankWhat, void *what, int64_t rank,
                                void *record) {
  long long e[4];
  if (!readFailureRecord(rank, record, e))
    return;
  std::string message = recordMessage(rankWhat, what);
  if (message.empty())
    message = "run-time index check failed";
  setPending(message + ": index " + std::to_string(e[1]) + " out of range [" +
             std::to_string(e[2]) + ", " + std::to_string(e[3]) + ")");
}

void lathe_cuda_assert_check_end(int64_t rankWhat, void *what, int64_t rank,
                                 void *record) {
  long long e[4];
  if (!readFailureRecord(rank, record, e))
    return;
  std::string message = recordMessage(rankWhat, what);
  setPending(message.empty() ? "assertion failed in generated code" : message);
}

void lathe_cuda_shape_check_failed(int64_t rankWhat, void *what,
                                   int64_t expected, int64_t given) {
  std::string message = recordMessage(rankWhat, what);
  if (message.empty())
    message = "run-time shape check failed";
  setPending(message + ": expected " + std::to_string(expected) + ", given " +
             std::to_string(given));
}

} // extern "C"
