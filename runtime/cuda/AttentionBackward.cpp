//===- AttentionBackward.cpp - lathe_cuda_chunked_attention_backward_f32 --===//
//
// Host side of AttentionBackward.cu: the CPU runtime's
// lathe_rt_chunked_attention_backward_f32 ABI on device memory. Checks the
// operands as the CPU kernel does (same wording, prefixed with the entry
// point's name), then one delta kernel (D = rowsum(dO ∘ O) into runtime
// scratch), the dQ kernel (a block per query tile), the dK/dV kernel (a
// block per key tile) and one dbias kernel per requested bias gradient.
// Every output element is written (zero where nothing contributes), so the
// outputs need not be cleared first. qChunk/kvChunk are CPU layout choices.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/CUDA.h"
#include "lathe/runtime/CUDAKernels.h"

#include "AttentionBackward.h"
#include "CudaInternal.h"

#include <string>

using namespace lathe_cuda;

namespace {

constexpr const char *kName = "lathe_cuda_chunked_attention_backward_f32";

struct Failure {
  std::string message;
  bool failed(const std::string &why) {
    message = std::string(kName) + ": " + why;
    return true;
  }
};

/// `x` as a backward operand of scores of rank `r` (strides 0 where a
/// dimension has size 1: it broadcasts).
void operand(const Ref &x, int64_t r, AttnOperand &a) {
  a.data = x.as<float>();
  for (int64_t i = 0; i < r - 2; ++i)
    a.batchStrides[i] = x.size(i) == 1 ? 0 : x.stride(i);
  a.rowStride = x.size(r - 2) == 1 ? 0 : x.stride(r - 2);
  a.colStride = x.rank == r && x.size(r - 1) == 1 ? 0 : x.stride(x.rank - 1);
}

/// Whether `x` is [leading..., rows, cols] with q's leading dimensions.
bool hasShape(const Ref &x, const Ref &q, int64_t rows, int64_t cols) {
  int64_t r = q.rank;
  if (x.rank != r || x.size(r - 2) != rows || x.size(r - 1) != cols)
    return false;
  for (int64_t i = 0; i < r - 2; ++i)
    if (x.size(i) != q.size(i))
      return false;
  return true;
}

/// Checks every operand as the CPU kernel does and fills `p` (but its tiles
/// and scratch) and the requested bias gradients. True on failure, with
/// the message in `f`.
bool prepare(int64_t rankQ, void *q, int64_t rankK, void *k, int64_t rankV,
             void *v, int64_t rankO, void *o, int64_t rankDO, void *dO,
             int64_t rankL, void *lse, int64_t rankB0, void *b0, int64_t rankB1,
             void *b1, int64_t rankDQ, void *dq, int64_t rankDK, void *dk,
             int64_t rankDV, void *dv, int64_t rankDB0, void *db0,
             int64_t rankDB1, void *db1, float scale, int64_t numBiases,
             int64_t biasGradMask, AttentionBackwardParams &p,
             BiasGradParams grads[2], int &numGrads, int64_t &batch,
             Failure &f) {
  Ref Q = ref(rankQ, q, 4), K = ref(rankK, k, 4), V = ref(rankV, v, 4);
  if (numBiases < 0 || numBiases > 2)
    return f.failed("expects 0 to 2 biases, got " + std::to_string(numBiases));
  int64_t r = Q.rank;
  if (r < 2 || r > 2 + kAttnMaxBatch)
    return f.failed("expects rank 2 to 5, got query " + shapeOf(Q));
  if (K.rank != r || V.rank != r)
    return f.failed("rank mismatch: query " + shapeOf(Q) + ", key " +
                    shapeOf(K) + ", value " + shapeOf(V));
  p.lq = Q.size(r - 2);
  p.d = Q.size(r - 1);
  p.lk = K.size(r - 2);
  p.dv = V.size(r - 1);
  bool ok = K.size(r - 1) == p.d && V.size(r - 2) == p.lk;
  batch = 1;
  p.numBatch = int(r - 2);
  int64_t scoreSizes[2 + kAttnMaxBatch];
  for (int64_t i = 0; i < r - 2; ++i) {
    ok = ok && K.size(i) == Q.size(i) && V.size(i) == Q.size(i);
    p.batchSizes[i] = scoreSizes[i] = Q.size(i);
    batch *= Q.size(i);
  }
  scoreSizes[r - 2] = p.lq;
  scoreSizes[r - 1] = p.lk;
  if (!ok)
    return f.failed("mismatched shapes: query " + shapeOf(Q) + ", key " +
                    shapeOf(K) + ", value " + shapeOf(V));
  Ref B[2];
  for (int64_t i = 0; i < numBiases; ++i) {
    B[i] = i == 0 ? ref(rankB0, b0, 4) : ref(rankB1, b1, 4);
    bool fits = B[i].rank == r;
    for (int64_t dim = 0; fits && dim < r; ++dim)
      fits = B[i].size(dim) == 1 || B[i].size(dim) == scoreSizes[dim];
    if (!fits)
      return f.failed("bias " + std::to_string(i) + " " + shapeOf(B[i]) +
                      " does not broadcast to the scores [.., " +
                      std::to_string(p.lq) + ", " + std::to_string(p.lk) + "]");
    operand(B[i], r, p.ops[kBwdB0 + i]);
  }
  Ref O = ref(rankO, o, 4), DO = ref(rankDO, dO, 4), L = ref(rankL, lse, 4),
      DQ = ref(rankDQ, dq, 4), DK = ref(rankDK, dk, 4), DV = ref(rankDV, dv, 4);
  if (!hasShape(O, Q, p.lq, p.dv) || !hasShape(DO, Q, p.lq, p.dv) ||
      !hasShape(DQ, Q, p.lq, p.d) || !hasShape(DK, Q, p.lk, p.d) ||
      !hasShape(DV, Q, p.lk, p.dv))
    return f.failed("mismatched shapes: query " + shapeOf(Q) + ", key " +
                    shapeOf(K) + ", value " + shapeOf(V) + ", output " +
                    shapeOf(O) + ", output gradient " + shapeOf(DO) +
                    ", gradients " + shapeOf(DQ) + ", " + shapeOf(DK) + ", " +
                    shapeOf(DV));
  bool lseFits = L.rank == r - 1 && L.size(r - 2) == p.lq;
  for (int64_t i = 0; lseFits && i < r - 2; ++i)
    lseFits = L.size(i) == Q.size(i);
  if (!lseFits)
    return f.failed("the log-sum-exp " + shapeOf(L) +
                    " is not [..., Lq] for the query " + shapeOf(Q));
  if (biasGradMask < 0 || biasGradMask >= (int64_t(1) << numBiases))
    return f.failed("bias gradient mask " + std::to_string(biasGradMask) +
                    " names a bias beyond the " + std::to_string(numBiases) +
                    " given");
  numGrads = 0;
  for (int64_t i = 0; i < numBiases; ++i) {
    if (!(biasGradMask & (int64_t(1) << i)))
      continue;
    Ref G = i == 0 ? ref(rankDB0, db0, 4) : ref(rankDB1, db1, 4);
    bool same = G.rank == B[i].rank;
    for (int64_t dim = 0; same && dim < G.rank; ++dim)
      same = G.size(dim) == B[i].size(dim);
    if (!same)
      return f.failed("the gradient of bias " + std::to_string(i) + " " +
                      shapeOf(G) + " does not have the bias' shape " +
                      shapeOf(B[i]));
    BiasGradParams &g = grads[numGrads++];
    g.data = G.as<float>();
    g.rank = int(r);
    for (int64_t dim = 0; dim < r; ++dim) {
      g.sizes[dim] = G.size(dim);
      g.strides[dim] = G.stride(dim);
      g.scoreSizes[dim] = scoreSizes[dim];
    }
  }
  operand(Q, r, p.ops[kBwdQ]);
  operand(K, r, p.ops[kBwdK]);
  operand(V, r, p.ops[kBwdV]);
  operand(O, r, p.ops[kBwdO]);
  operand(DO, r, p.ops[kBwdDO]);
  operand(L, r, p.ops[kBwdLse]);
  operand(DQ, r, p.ops[kBwdDQ]);
  operand(DK, r, p.ops[kBwdDK]);
  operand(DV, r, p.ops[kBwdDV]);
  p.scale = scale;
  p.numBiases = int(numBiases);
  return false;
}

void backward(int64_t rankQ, void *q, int64_t rankK, void *k, int64_t rankV,
              void *v, int64_t rankO, void *o, int64_t rankDO, void *dO,
              int64_t rankL, void *lse, int64_t rankB0, void *b0,
              int64_t rankB1, void *b1, int64_t rankDQ, void *dq,
              int64_t rankDK, void *dk, int64_t rankDV, void *dv,
              int64_t rankDB0, void *db0, int64_t rankDB1, void *db1,
              float scale, int64_t numBiases, int64_t biasGradMask) {
  AttentionBackwardParams p;
  BiasGradParams grads[2];
  int numGrads = 0;
  int64_t batch = 0;
  Failure f;
  if (prepare(rankQ, q, rankK, k, rankV, v, rankO, o, rankDO, dO, rankL, lse,
              rankB0, b0, rankB1, b1, rankDQ, dq, rankDK, dk, rankDV, dv,
              rankDB0, db0, rankDB1, db1, scale, numBiases, biasGradMask, p,
              grads, numGrads, batch, f))
    return setPending(f.message);
  if (!attentionBwdTiles(p.lq, p.lk, p.d, p.dv, 48 * 1024, p.bq, p.bk))
    return setPending(std::string(kName) + ": head dimensions " +
                      std::to_string(p.d) + " and " + std::to_string(p.dv) +
                      " do not fit the kernel's shared memory");
  CUfunction deltaFn = ownKernel("lathe_attention_bwd_delta"),
             dqFn = ownKernel("lathe_attention_bwd_dq"),
             dkdvFn = ownKernel("lathe_attention_bwd_dkdv"),
             dbiasFn = ownKernel("lathe_attention_bwd_dbias");
  if (!deltaFn || !dqFn || !dkdvFn || !dbiasFn)
    return;
  int64_t rows = batch * p.lq;
  void *scratch = nullptr;
  if (lathe_cuda_alloc(size_t(rows > 0 ? rows : 1) * 4, &scratch) !=
      LATHE_CUDA_OK)
    return setPending(std::string(kName) + ": out of device memory");
  p.delta = static_cast<float *>(scratch);
  void *params[] = {&p};
  if (rows > 0)
    launchShared("attention_backward", deltaFn, warpPerRowLaunch(rows), params);
  auto tileLaunch = [](int64_t blocks, int64_t floats) {
    Launch l;
    l.block = 128;
    l.grid = unsigned(blocks);
    l.sharedBytes = unsigned(4 * floats);
    return l;
  };
  if (rows > 0 && p.d > 0)
    launchShared("attention_backward", dqFn,
                 tileLaunch(batch * ((p.lq + p.bq - 1) / p.bq),
                            attentionBwdDqFloats(p.bq, p.bk, p.d, p.dv)),
                 params);
  if (batch > 0 && p.lk > 0 && (p.d > 0 || p.dv > 0))
    launchShared("attention_backward", dkdvFn,
                 tileLaunch(batch * ((p.lk + p.bk - 1) / p.bk),
                            attentionBwdDkdvFloats(p.bq, p.bk, p.d, p.dv)),
                 params);
  for (int i = 0; i < numGrads; ++i) {
    BiasGradParams &g = grads[i];
    int64_t elements = 1;
    for (int dim = 0; dim < g.rank; ++dim)
      elements *= g.sizes[dim];
    int64_t terms = biasGradTerms(g);
    if (elements == 0)
      continue;
    void *gradParams[] = {&p, &g, &elements, &terms};
    launchShared("attention_backward", dbiasFn, warpPerRowLaunch(elements),
                 gradParams);
  }
  lathe_cuda_free(scratch);
}

} // namespace

void lathe_cuda_chunked_attention_backward_f32(
    int64_t rankQ, void *q, int64_t rankK, void *k, int64_t rankV, void *v,
    int64_t rankO, void *o, int64_t rankDO, void *dO, int64_t rankL, void *lse,
    int64_t rankB0, void *b0, int64_t rankB1, void *b1, int64_t rankDQ,
    void *dq, int64_t rankDK, void *dk, int64_t rankDV, void *dv,
    int64_t rankDB0, void *db0, int64_t rankDB1, void *db1, float scale,
    int64_t /*qChunk*/, int64_t /*kvChunk*/, int64_t numBiases,
    int64_t biasGradMask) {
  backward(rankQ, q, rankK, k, rankV, v, rankO, o, rankDO, dO, rankL, lse,
           rankB0, b0, rankB1, b1, rankDQ, dq, rankDK, dk, rankDV, dv, rankDB0,
           db0, rankDB1, db1, scale, numBiases, biasGradMask);
}
