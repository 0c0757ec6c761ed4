//===- Attention.cpp - Chunked attention and cross-modal reduction --------===//
//
// lathe_rt_chunked_attention_f32 is the FlashAttention / Evoformer recurrence
// on a CPU: one task per (batch element, block of query rows); each task
// walks the keys in blocks, computing a block of scores with oneDNN's sgemm
// (alpha = scale), adding the biases, updating the running row maximum m and
// sum l, rescaling its output accumulator by exp(m_old - m_new) and adding
// P·V of the block with a second sgemm (beta = 1). The L x L score matrix
// never exists: each worker thread owns one qChunk x kvChunk block, one
// qChunk x Dv accumulator and the row statistics (runtime scratch, counted in
// the high-water mark).
//
// Threads: the GOMP_parallel entry point oneDNN uses, looked up at run time
// rather than compiled with -fopenmp (the project builds with clang, whose
// -fopenmp would add a libomp dependency to the runtime library, and a
// -fopenmp=libgomp build is ignored by clang): in lathe-run that symbol is
// libomp's GOMP layer, the one pool generated code and oneDNN share; two
// OpenMP pools on the same 2 cores would spin against each other. sgemm
// called inside the parallel region runs on the calling thread.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/Attention.h"
#include "BankSelect.h"

#include "Session.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <dlfcn.h>
#include <immintrin.h>
#include <limits>
#include <optional>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

using namespace lathe::rt;
using namespace lathe::bank_select;

namespace {

//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

using GompParallelFn = void (*)(void (*)(void *), void *, unsigned, unsigned);

/// The process's GOMP_parallel: lathe-run loads LLVM's libomp first, whose
/// GOMP compatibility layer then serves oneDNN, generated loops and this
/// kernel from one pool; elsewhere (unit tests) it is libgomp's.
GompParallelFn gompParallel() {
  static GompParallelFn fn = [] {
    void *sym = dlsym(RTLD_DEFAULT, "GOMP_parallel");
    if (!sym)
      if (void *gomp = dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD))
        sym = dlsym(gomp, "GOMP_parallel");
    return reinterpret_cast<GompParallelFn>(sym);
  }();
  return fn;
}

/// Runs task(worker, index) for index in [0, n) on up to `threads` workers,
/// tasks handed out dynamically. makeWorker() runs once per worker thread
/// (it allocates that worker's scratch) and may throw; the first exception
/// is rethrown on the caller after the region.
template <typename MakeWorker, typename Task>
void parallelTasks(int64_t n, const MakeWorker &makeWorker, const Task &task) {
  int threads = std::max(1, lathe_rt_get_num_threads());
  GompParallelFn parallel = gompParallel();
  struct Context {
    const MakeWorker *make;
    const Task *task;
    std::atomic<int64_t> next{0};
    int64_t n;
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::atomic_flag errorLock = ATOMIC_FLAG_INIT;
    Session *session = nullptr;
  } ctx;
  ctx.make = &makeWorker;
  ctx.task = &task;
  ctx.n = n;
  ctx.session = &currentSession();
  auto worker = [](void *p) {
    auto *c = static_cast<Context *>(p);
    // The worker's scratch is counted in the caller's session.
    SessionBinding binding(c->session);
    try {
      // Scratch only for workers that get a task (see the team size below).
      std::optional<decltype((*c->make)())> state;
      for (;;) {
        if (c->failed.load(std::memory_order_relaxed))
          return;
        int64_t i = c->next.fetch_add(1, std::memory_order_relaxed);
        if (i >= c->n)
          return;
        if (!state)
          state.emplace((*c->make)());
        (*c->task)(*state, i);
      }
    } catch (...) {
      if (!c->errorLock.test_and_set())
        c->error = std::current_exception();
      c->failed = true;
    }
  };
  // With fewer tasks than threads the team is still `threads` wide (the
  // idle workers return at once): sgemm called outside a parallel region
  // would start its own OpenMP team for every small block product, which
  // costs far more than the product.
  unsigned team = static_cast<unsigned>(n > 0 ? threads : 1);
  if (team <= 1 || !parallel) {
    worker(&ctx);
  } else {
    applyThreadSettings();
    parallel(worker, &ctx, team, 0);
  }
  if (ctx.error)
    std::rethrow_exception(ctx.error);
}

//===----------------------------------------------------------------------===//
// Vectorisable exp
//===----------------------------------------------------------------------===//

/// exp(x) for x <= 0 (softmax arguments), Cephes' expf polynomial: a few ulp,
/// no library call, so the loops around it vectorise. Arguments below -87
/// (including -inf) give 0; NaN gives NaN.
inline float expNonPositive(float x) {
  const bool under = x < -87.0f;
  const float arg = x;
  x = x > -87.0f ? x : -87.0f; // NaN too: keeps the integer conversion defined
  float fx = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = x - fx * 0.693359375f + fx * 2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(fx) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return arg != arg ? arg : under ? 0.0f : y * scale;
}

/// Lanes of the explicit accumulators below: strict FP semantics keep a
/// plain max/sum reduction scalar; W independent partial results let the
/// compiler use vector registers without reassociating anything else.
constexpr int64_t kLanes = 16;

#define LATHE_VECTOR_CLONES                                                    \
  __attribute__((target_clones("avx512f", "avx2", "default")))

/// arith.maximumf: NaN wins (the reference's softmax maximum).
inline float maximumf(float a, float b) { return a > b || a != a ? a : b; }

LATHE_VECTOR_CLONES float rowMax(const float *x, int64_t n) {
  float lanes[kLanes];
  for (int64_t l = 0; l < kLanes; ++l)
    lanes[l] = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l)
      lanes[l] = maximumf(x[j + l], lanes[l]);
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t l = 0; l < kLanes; ++l)
    m = maximumf(lanes[l], m);
  for (; j < n; ++j)
    m = maximumf(x[j], m);
  return m;
}

/// x[j] = exp(x[j] - m) for all j; returns the sum of the new values.
/// (target_clones: the runtime is built for the baseline x86-64; the
/// AVX-512 / AVX2 variant is picked at load time.)
LATHE_VECTOR_CLONES float expInPlaceAndSum(float *x, int64_t n, float m) {
  float lanes[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) {
      float p = expNonPositive(x[j + l] - m);
      x[j + l] = p;
      lanes[l] += p;
    }
  float sum = 0.0f;
  for (int64_t l = 0; l < kLanes; ++l)
    sum += lanes[l];
  for (; j < n; ++j) {
    float p = expNonPositive(x[j] - m);
    x[j] = p;
    sum += p;
  }
  return sum;
}

//===----------------------------------------------------------------------===//
// Operands
//===----------------------------------------------------------------------===//

/// A dense row-major copy of `original` in `copy` (runtime scratch).
MemRefView denseCopy(const MemRefView &original, ScratchBuffer &copy) {
  copy = ScratchBuffer(std::max<int64_t>(1, original.numel()) * sizeof(float));
  MemRefView dense = original;
  dense.data = copy.floats();
  int64_t stride = 1;
  for (int64_t d = original.rank - 1; d >= 0; --d) {
    dense.strides[d] = stride;
    stride *= original.sizes[d];
  }
  copyStrided(original, dense);
  return dense;
}

/// An operand with row-major rows (last stride 1): the original memory when
/// it already is, otherwise a dense copy in runtime scratch.
struct RowOperand {
  MemRefView view;
  ScratchBuffer copy;

  RowOperand(const MemRefView &original) : view(original) {
    int64_t r = original.rank;
    if (original.strides[r - 1] == 1 || original.sizes[r - 1] <= 1)
      return;
    view = denseCopy(original, copy);
  }

  /// Element offset of batch element `b` (row-major over the leading dims
  /// of `batchSizes`); dimensions of size 1 here broadcast.
  int64_t
  batchOffset(int64_t b,
              const std::array<int64_t, LATHE_MAX_RANK> &batchSizes) const {
    int64_t offset = 0;
    for (int64_t d = view.rank - 3; d >= 0; --d) {
      int64_t idx = b % batchSizes[d];
      b /= batchSizes[d];
      if (view.sizes[d] != 1)
        offset += idx * view.strides[d];
    }
    return offset;
  }
  int64_t rowStride() const {
    return view.sizes[view.rank - 2] == 1 ? 0 : view.strides[view.rank - 2];
  }
  int64_t colStride() const {
    return view.sizes[view.rank - 1] == 1 ? 0 : view.strides[view.rank - 1];
  }
};

void sgemm(char transA, char transB, int64_t m, int64_t n, int64_t k,
           float alpha, const float *a, int64_t lda, const float *b,
           int64_t ldb, float beta, float *c, int64_t ldc) {
  dnnl_status_t status = dnnl_sgemm(
      transA, transB, m, n, k, alpha, a, std::max<int64_t>(lda, 1), b,
      std::max<int64_t>(ldb, 1), beta, c, std::max<int64_t>(ldc, 1));
  if (status != dnnl_success)
    fail(LATHE_ERR_BACKEND, "chunked attention: oneDNN sgemm failed (status ",
         static_cast<int>(status), ")");
}

/// Per-worker scratch of the attention kernel.
struct AttentionWorker {
  ScratchBuffer scores, acc, rowMax, rowSum;
};

/// The validated operands of an attention kernel: q [..., Lq, D],
/// k [..., Lk, D], v [..., Lk, Dv] (same leading dimensions) and up to two
/// biases broadcastable to the scores [..., Lq, Lk].
struct AttentionShapes {
  MemRefView q, k, v;
  std::vector<MemRefView> biases;
  int64_t r = 0, lq = 0, lk = 0, d = 0, dv = 0, batch = 1;
  std::array<int64_t, LATHE_MAX_RANK> batchSizes{};

  AttentionShapes(const char *name, int64_t rankQ, void *qDesc, int64_t rankK,
                  void *kDesc, int64_t rankV, void *vDesc, int64_t rankB0,
                  void *b0Desc, int64_t rankB1, void *b1Desc,
                  int64_t numBiases) {
    q = decodeMemRef(rankQ, qDesc, "attention: query");
    k = decodeMemRef(rankK, kDesc, "attention: key");
    v = decodeMemRef(rankV, vDesc, "attention: value");
    if (numBiases < 0 || numBiases > 2)
      fail(LATHE_ERR_INVALID, name, ": expects 0 to 2 biases, got ", numBiases);
    r = q.rank;
    if (r < 2 || r > 5)
      fail(LATHE_ERR_SHAPE, name, ": expects rank 2 to 5, got query ",
           shapeString(q));
    if (k.rank != r || v.rank != r)
      fail(LATHE_ERR_SHAPE, name, ": rank mismatch: query ", shapeString(q),
           ", key ", shapeString(k), ", value ", shapeString(v));
    lq = q.sizes[r - 2];
    d = q.sizes[r - 1];
    lk = k.sizes[r - 2];
    dv = v.sizes[r - 1];
    bool ok = k.sizes[r - 1] == d && v.sizes[r - 2] == lk;
    for (int64_t i = 0; i < r - 2; ++i) {
      ok = ok && k.sizes[i] == q.sizes[i] && v.sizes[i] == q.sizes[i];
      batchSizes[i] = q.sizes[i];
      batch *= q.sizes[i];
    }
    if (!ok)
      fail(LATHE_ERR_SHAPE, name, ": mismatched shapes: query ", shapeString(q),
           ", key ", shapeString(k), ", value ", shapeString(v));
    for (int64_t i = 0; i < numBiases; ++i) {
      MemRefView b = i == 0 ? decodeMemRef(rankB0, b0Desc, "attention: bias 0")
                            : decodeMemRef(rankB1, b1Desc, "attention: bias 1");
      if (!broadcastsToScores(b))
        fail(LATHE_ERR_SHAPE, name, ": bias ", i, " ", shapeString(b),
             " does not broadcast to the scores [.., ", lq, ", ", lk, "]");
      biases.push_back(b);
    }
  }

  bool broadcastsToScores(const MemRefView &b) const {
    bool fits = b.rank == r;
    for (int64_t dim = 0; fits && dim < r; ++dim) {
      int64_t want = dim == r - 2 ? lq : dim == r - 1 ? lk : q.sizes[dim];
      fits = b.sizes[dim] == 1 || b.sizes[dim] == want;
    }
    return fits;
  }

  /// `view` has exactly the sizes [leading..., rows, cols].
  bool hasShape(const MemRefView &view, int64_t rows, int64_t cols) const {
    if (view.rank != r || view.sizes[r - 2] != rows ||
        view.sizes[r - 1] != cols)
      return false;
    for (int64_t i = 0; i < r - 2; ++i)
      if (view.sizes[i] != q.sizes[i])
        return false;
    return true;
  }

  /// `view` is the per-row statistic [leading..., Lq].
  bool isRowVector(const MemRefView &view) const {
    if (view.rank != r - 1 || view.sizes[r - 2] != lq)
      return false;
    for (int64_t i = 0; i < r - 2; ++i)
      if (view.sizes[i] != q.sizes[i])
        return false;
    return true;
  }

  /// Element offset of batch element `b` in a view with the leading
  /// dimensions (size-1 dimensions broadcast).
  int64_t batchOffset(const MemRefView &view, int64_t b) const {
    int64_t offset = 0;
    for (int64_t dim = r - 3; dim >= 0; --dim) {
      int64_t idx = b % batchSizes[dim];
      b /= batchSizes[dim];
      if (view.sizes[dim] != 1)
        offset += idx * view.strides[dim];
    }
    return offset;
  }
};

/// s[i, j] += bias[i0 + i, j0 + j] for a rows x cols block (row stride of s:
/// ld) of batch element b.
void addBiasBlock(const RowOperand &bias, int64_t biasOffset, float *s,
                  int64_t ld, int64_t i0, int64_t rows, int64_t j0,
                  int64_t cols) {
  const float *bp = bias.view.data + biasOffset;
  int64_t rs = bias.rowStride(), cs = bias.colStride();
  for (int64_t i = 0; i < rows; ++i) {
    const float *brow = bp + (i0 + i) * rs + j0 * cs;
    float *srow = s + i * ld;
    if (cs == 1) {
      for (int64_t j = 0; j < cols; ++j)
        srow[j] += brow[j];
    } else {
      for (int64_t j = 0; j < cols; ++j)
        srow[j] += brow[j * cs];
    }
  }
}

/// Writes a dense rows x cols block (row stride ld) into rows [i0, i0+rows)
/// of a strided [..., R, C] view at `offset`.
void storeRows(const MemRefView &view, int64_t offset, int64_t i0, int64_t rows,
               int64_t cols, const float *src, int64_t ld,
               float factor = 1.0f) {
  int64_t r = view.rank, rs = view.strides[r - 2], cs = view.strides[r - 1];
  for (int64_t i = 0; i < rows; ++i) {
    float *dst = view.data + offset + (i0 + i) * rs;
    const float *row = src + i * ld;
    if (cs == 1) {
      for (int64_t c = 0; c < cols; ++c)
        dst[c] = row[c] * factor;
    } else {
      for (int64_t c = 0; c < cols; ++c)
        dst[c * cs] = row[c] * factor;
    }
  }
}

/// Sets every element of a strided view to zero.
void zeroView(const MemRefView &view) {
  if (view.numel() == 0)
    return;
  std::array<int64_t, LATHE_MAX_RANK> idx{};
  int64_t r = view.rank;
  if (r == 0) {
    view.data[0] = 0.0f;
    return;
  }
  for (;;) {
    int64_t offset = 0;
    for (int64_t dim = 0; dim < r - 1; ++dim)
      offset += idx[dim] * view.strides[dim];
    for (int64_t c = 0; c < view.sizes[r - 1]; ++c)
      view.data[offset + c * view.strides[r - 1]] = 0.0f;
    int64_t dim = r - 2;
    for (; dim >= 0; --dim) {
      if (++idx[dim] < view.sizes[dim])
        break;
      idx[dim] = 0;
    }
    if (dim < 0)
      return;
  }
}

void chunkedAttention(int64_t rankQ, void *qDesc, int64_t rankK, void *kDesc,
                      int64_t rankV, void *vDesc, int64_t rankB0, void *b0Desc,
                      int64_t rankB1, void *b1Desc, int64_t rankO, void *oDesc,
                      int64_t rankL, void *lseDesc, float scale, int64_t qChunk,
                      int64_t kvChunk, int64_t numBiases) {
  static const int profileKind = getProfileKind("attention");
  ProfileScope profile(profileKind);
  if (traceEnabled())
    profile.setDetail(describeOperands(
        {{rankQ, qDesc}, {rankK, kDesc}, {rankV, vDesc}, {rankO, oDesc}}));
  constexpr const char *kName = "chunked attention";
  AttentionShapes shapes(kName, rankQ, qDesc, rankK, kDesc, rankV, vDesc,
                         rankB0, b0Desc, rankB1, b1Desc, numBiases);
  MemRefView o = decodeMemRef(rankO, oDesc, "chunked attention: output");
  int64_t r = shapes.r, lq = shapes.lq, d = shapes.d, lk = shapes.lk,
          dv = shapes.dv, batch = shapes.batch;
  if (!shapes.hasShape(o, lq, dv))
    fail(LATHE_ERR_SHAPE, kName, ": mismatched shapes: query ",
         shapeString(shapes.q), ", key ", shapeString(shapes.k), ", value ",
         shapeString(shapes.v), ", output ", shapeString(o));
  MemRefView lse;
  bool withLse = lseDesc != nullptr;
  if (withLse) {
    lse = decodeMemRef(rankL, lseDesc, "chunked attention: log-sum-exp");
    if (!shapes.isRowVector(lse))
      fail(LATHE_ERR_SHAPE, kName, ": the log-sum-exp ", shapeString(lse),
           " is not [..., Lq] for the query ", shapeString(shapes.q));
  }
  if (batch == 0 || lq == 0 || (dv == 0 && !withLse))
    return;
  const std::array<int64_t, LATHE_MAX_RANK> &batchSizes = shapes.batchSizes;

  applyThreadSettings();
  int64_t bq = std::min(lq, qChunk > 0 ? qChunk : int64_t(64));
  int64_t bk =
      std::max<int64_t>(1, std::min(lk, kvChunk > 0 ? kvChunk : int64_t(256)));
  RowOperand qs(shapes.q), ks(shapes.k), vs(shapes.v);
  std::vector<RowOperand> bs;
  bs.reserve(shapes.biases.size());
  for (const MemRefView &b : shapes.biases)
    bs.emplace_back(b);
  int64_t qBlocks = (lq + bq - 1) / bq;

  auto makeWorker = [&] {
    AttentionWorker w;
    w.scores = ScratchBuffer(bq * bk * sizeof(float));
    w.acc = ScratchBuffer(std::max<int64_t>(1, bq * dv) * sizeof(float));
    w.rowMax = ScratchBuffer(bq * sizeof(float));
    w.rowSum = ScratchBuffer(bq * sizeof(float));
    return w;
  };
  auto task = [&](AttentionWorker &w, int64_t t) {
    int64_t b = t / qBlocks, i0 = (t % qBlocks) * bq;
    int64_t rows = std::min(bq, lq - i0);
    float *s = w.scores.floats(), *acc = w.acc.floats();
    float *m = w.rowMax.floats(), *l = w.rowSum.floats();
    const float negInf = -std::numeric_limits<float>::infinity();
    std::fill(m, m + rows, negInf);
    std::fill(l, l + rows, 0.0f);
    std::fill(acc, acc + rows * dv, 0.0f);
    const float *qp =
        qs.view.data + qs.batchOffset(b, batchSizes) + i0 * qs.rowStride();
    const float *kBase = ks.view.data + ks.batchOffset(b, batchSizes);
    const float *vBase = vs.view.data + vs.batchOffset(b, batchSizes);
    for (int64_t j0 = 0; j0 < lk; j0 += bk) {
      int64_t cols = std::min(bk, lk - j0);
      // s = scale * q_blk . k_blk^T
      sgemm('N', 'T', rows, cols, d, scale, qp, qs.rowStride(),
            kBase + j0 * ks.rowStride(), ks.rowStride(), 0.0f, s, bk);
      for (const RowOperand &bias : bs)
        addBiasBlock(bias, bias.batchOffset(b, batchSizes), s, bk, i0, rows, j0,
                     cols);
      for (int64_t i = 0; i < rows; ++i) {
        float *srow = s + i * bk;
        float blockMax = rowMax(srow, cols);
        // NaN or +Inf scores make the row NaN (x - max is NaN), as in the
        // reference's softmax.
        float mNew = maximumf(blockMax, m[i]);
        if (mNew == negInf) {
          // Every score so far is -inf: nothing to add yet.
          std::fill(srow, srow + cols, 0.0f);
          continue;
        }
        float sum = expInPlaceAndSum(srow, cols, mNew);
        float correction = expNonPositive(m[i] - mNew);
        l[i] = l[i] * correction + sum;
        m[i] = mNew;
        if (correction != 1.0f) {
          float *arow = acc + i * dv;
          for (int64_t c = 0; c < dv; ++c)
            arow[c] *= correction;
        }
      }
      // acc += p_blk . v_blk
      if (dv > 0)
        sgemm('N', 'N', rows, dv, cols, 1.0f, s, bk,
              vBase + j0 * vs.rowStride(), vs.rowStride(), 1.0f, acc, dv);
    }
    int64_t oOffset = shapes.batchOffset(o, b);
    for (int64_t i = 0; i < rows; ++i) {
      // l = 0: every score was -inf (a fully masked row gives 0, not the
      // reference's 0/0; see docs/Architecture.md); l = NaN stays NaN.
      float inv = l[i] > 0.0f ? 1.0f / l[i] : l[i] == 0.0f ? 0.0f : l[i];
      storeRows(o, oOffset, i0 + i, 1, dv, acc + i * dv, dv, inv);
    }
    if (withLse) {
      // lse = m + log l: -inf for a fully masked row (l = 0), NaN stays NaN.
      float *lp = lse.data + shapes.batchOffset(lse, b);
      int64_t ls = lse.strides[r - 2];
      for (int64_t i = 0; i < rows; ++i)
        lp[(i0 + i) * ls] = l[i] > 0.0f    ? m[i] + std::log(l[i])
                            : l[i] == 0.0f ? negInf
                                           : l[i];
    }
  };
  parallelTasks(batch * qBlocks, makeWorker, task);
}

//===----------------------------------------------------------------------===//
// Masked attention (select mask, exact softmax)
//===----------------------------------------------------------------------===//

/// A rows x cols matrix at `data` with strides (rs, cs) as an sgemm operand:
/// 'N' with leading dimension ld when its rows are contiguous, 'T' when its
/// columns are; false when neither (the caller copies).
bool gemmLayout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, char &trans,
                int64_t &ld) {
  if ((cs == 1 || cols <= 1) &&
      (rows <= 1 || rs >= std::max<int64_t>(cols, 1))) {
    trans = 'N';
    ld = rows <= 1 ? std::max<int64_t>(cols, 1) : rs;
    return true;
  }
  if ((rs == 1 || rows <= 1) &&
      (cols <= 1 || cs >= std::max<int64_t>(rows, 1))) {
    trans = 'T';
    ld = cols <= 1 ? std::max<int64_t>(rows, 1) : cs;
    return true;
  }
  return false;
}

/// An attention operand [..., R, C] as sgemm sees each batch element's
/// matrix: the original memory when its rows or columns are contiguous,
/// otherwise a dense row-major copy in runtime scratch.
struct GemmOperand {
  MemRefView view;
  ScratchBuffer copy;
  char trans = 'N';
  int64_t ld = 1;

  explicit GemmOperand(const MemRefView &original) : view(original) {
    int64_t r = view.rank;
    if (gemmLayout(view.sizes[r - 2], view.sizes[r - 1], view.strides[r - 2],
                   view.strides[r - 1], trans, ld))
      return;
    view = denseCopy(original, copy);
    trans = 'N';
    ld = std::max<int64_t>(1, view.sizes[r - 1]);
  }

  /// Element (i, j) of the matrix of a batch element at `base`.
  const float *at(const float *base, int64_t i, int64_t j) const {
    int64_t r = view.rank;
    return base + i * view.strides[r - 2] + j * view.strides[r - 1];
  }
};

//===----------------------------------------------------------------------===//
// bf16 block products (AVX512-BF16)
//===----------------------------------------------------------------------===//

#define LATHE_BF16_TARGET                                                      \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/// dst[j] = bf16(src[j * stride]) for j < n.
LATHE_BF16_TARGET void toBf16Row(const float *src, int64_t stride,
                                 uint16_t *dst, int64_t n) {
  if (stride != 1) {
    for (int64_t j = 0; j < n; ++j)
      dst[j] = floatToBf16(src[j * stride]);
    return;
  }
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + j));
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + j),
                        reinterpret_cast<__m256i &>(h));
  }
  if (j < n) {
    __mmask16 m = static_cast<__mmask16>((1u << (n - j)) - 1);
    __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + j));
    _mm256_mask_storeu_epi16(dst + j, m, reinterpret_cast<__m256i &>(h));
  }
}

/// dst[c] = the pair (a[c], b[c]) for c < n: b[c] in the high half, as the
/// bf16 dot products read a pair of rows.
LATHE_BF16_TARGET void interleavePairs(const uint16_t *a, const uint16_t *b,
                                       uint32_t *dst, int64_t n) {
  for (int64_t c = 0; c < n; ++c)
    dst[c] = uint32_t(a[c]) | uint32_t(b[c]) << 16;
}

#define LATHE_AMX_TARGET                                                       \
  __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl")))

/// The AMX tile configuration (palette 1): tiles 0-3 accumulate a 32 x 32
/// f32 block of c, tiles 4-5 hold two 16 x 32 bf16 row blocks of a, tiles
/// 6-7 two 16-pair x 16 column blocks of b; every tile 16 rows of 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette = 1, startRow = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

/// c = alpha · a · b for the m x n block, f32 accumulation on AMX: a bf16
/// [roundUp(m, 32), 32 · kChunks] (row stride lda elements; rows past m
/// zero), b bf16 in row pairs [16 · kChunks][nb][2] with nb a multiple of
/// 32 >= n (columns past n zero); c f32 (row stride ldc).
LATHE_AMX_TARGET void gemmAmx(int64_t m, int64_t n, int64_t kChunks,
                              const uint16_t *a, int64_t lda, const uint16_t *b,
                              int64_t nb, float *c, int64_t ldc, float alpha) {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.colsb[t] = 64;
    config.rows[t] = 16;
  }
  _tile_loadconfig(&config);
  alignas(64) float block[4][16][16];
  for (int64_t i0 = 0; i0 < m; i0 += 32) {
    for (int64_t j0 = 0; j0 < n; j0 += 32) {
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int64_t k = 0; k < kChunks; ++k) {
        _tile_loadd(4, a + i0 * lda + 32 * k, lda * 2);
        _tile_loadd(5, a + (i0 + 16) * lda + 32 * k, lda * 2);
        _tile_loadd(6, b + (16 * k * nb + j0) * 2, nb * 4);
        _tile_loadd(7, b + (16 * k * nb + j0 + 16) * 2, nb * 4);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      _tile_stored(0, block[0], 64);
      _tile_stored(1, block[1], 64);
      _tile_stored(2, block[2], 64);
      _tile_stored(3, block[3], 64);
      __m512 scale = _mm512_set1_ps(alpha);
      for (int t = 0; t < 4; ++t) {
        int64_t r0 = i0 + 16 * (t / 2), c0 = j0 + 16 * (t % 2);
        if (r0 >= m || c0 >= n)
          continue;
        int64_t left = std::min<int64_t>(16, n - c0);
        __mmask16 mask = static_cast<__mmask16>((1u << left) - 1);
        for (int64_t r = 0; r < std::min<int64_t>(16, m - r0); ++r)
          _mm512_mask_storeu_ps(
              c + (r0 + r) * ldc + c0, mask,
              _mm512_mul_ps(_mm512_load_ps(block[t][r]), scale));
      }
    }
  }
  _tile_release();
}

/// gemmAmx's product with AVX512-BF16 dot products (vdpbf16ps) on the same
/// operands: blocks of 8 rows x 32 columns, one broadcast pair of a per row
/// and two 16-column vectors of b's pairs per step.
LATHE_BF16_TARGET void gemmAvx512Bf16(int64_t m, int64_t n, int64_t kChunks,
                                      const uint16_t *a, int64_t lda,
                                      const uint16_t *b, int64_t nb, float *c,
                                      int64_t ldc, float alpha) {
  constexpr int64_t kRows = 8;
  const auto *bWords = reinterpret_cast<const uint32_t *>(b);
  int64_t pairs = 16 * kChunks;
  __m512 scale = _mm512_set1_ps(alpha);
  for (int64_t i0 = 0; i0 < m; i0 += kRows) {
    // a's rows are zero up to roundUp(m, 32): whole blocks read only those.
    const auto *aWords = reinterpret_cast<const uint32_t *>(a + i0 * lda);
    for (int64_t j0 = 0; j0 < n; j0 += 32) {
      __m512 acc[kRows][2];
      for (auto &row : acc)
        row[0] = row[1] = _mm512_setzero_ps();
      for (int64_t p = 0; p < pairs; ++p) {
        __m512bh b0 = reinterpret_cast<__m512bh>(
            _mm512_loadu_si512(bWords + p * nb + j0));
        __m512bh b1 = reinterpret_cast<__m512bh>(
            _mm512_loadu_si512(bWords + p * nb + j0 + 16));
        for (int64_t r = 0; r < kRows; ++r) {
          __m512bh pair = reinterpret_cast<__m512bh>(
              _mm512_set1_epi32(static_cast<int>(aWords[r * lda / 2 + p])));
          acc[r][0] = _mm512_dpbf16_ps(acc[r][0], pair, b0);
          acc[r][1] = _mm512_dpbf16_ps(acc[r][1], pair, b1);
        }
      }
      for (int64_t r = 0; r < std::min(kRows, m - i0); ++r)
        for (int64_t h = 0; h < 2; ++h) {
          int64_t c0 = j0 + 16 * h;
          if (c0 >= n)
            break;
          int64_t left = std::min<int64_t>(16, n - c0);
          __mmask16 mask = static_cast<__mmask16>((1u << left) - 1);
          _mm512_mask_storeu_ps(c + (i0 + r) * ldc + c0, mask,
                                _mm512_mul_ps(acc[r][h], scale));
        }
    }
  }
}

/// Asks Linux for the AMX tile state (oneDNN does the same before its AMX
/// kernels); false when refused.
bool requestAmx() {
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

/// How the bf16 block products of a bf16 session run: with AMX-BF16 tiles
/// where the CPU has them, else with AVX512-BF16 dot products, each only
/// where oneDNN uses that ISA too (ONEDNN_MAX_CPU_ISA caps both); without
/// either the attention products stay f32. On an AMD EPYC (Zen 5, no AMX)
/// the AVX512-BF16 products took masked_attn's attention (bench/realmodels,
/// batch 8 x 4 heads, 128 x 128 scores, 2 threads) from 0.40-0.41 ms in f32
/// to 0.33-0.35 ms; not measured on an Intel CPU without AMX.
enum class Bf16Products { None, Amx, Avx512 };

Bf16Products bf16Products() {
  static const Bf16Products cpu = [] {
    if (lathe_rt_cpu_has_bf16() == 0)
      return Bf16Products::None;
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if (__builtin_cpu_supports("amx-bf16") &&
        isa == dnnl_cpu_isa_avx512_core_amx && requestAmx())
      return Bf16Products::Amx;
    if (__builtin_cpu_supports("avx512bf16"))
      return Bf16Products::Avx512;
    return Bf16Products::None;
  }();
  return currentSession().precision == LATHE_PRECISION_BF16
             ? cpu
             : Bf16Products::None;
}

/// c = alpha · a · b with gemmAmx's operands, by `how` (not None).
void bf16Gemm(Bf16Products how, int64_t m, int64_t n, int64_t kChunks,
              const uint16_t *a, int64_t lda, const uint16_t *b, int64_t nb,
              float *c, int64_t ldc, float alpha) {
  if (how == Bf16Products::Amx)
    gemmAmx(m, n, kChunks, a, lda, b, nb, c, ldc, alpha);
  else
    gemmAvx512Bf16(m, n, kChunks, a, lda, b, nb, c, ldc, alpha);
}

inline int64_t roundUp(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/// AVX-512 forms of maskRowMax and expInPlaceAndSum for the masked
/// attention rows (the clones above leave the byte mask and the exp
/// polynomial partly scalar): the same arithmetic, 16 lanes at a time.
#define LATHE_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))

LATHE_AVX512_TARGET float maskRowMaxAvx512(float *x, const uint8_t *m,
                                           int64_t n, float fill,
                                           uint8_t maskedBit) {
  __m512 fillv = _mm512_set1_ps(fill);
  __m512 acc = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __mmask16 nan = 0;
  __m512i one = _mm512_set1_epi32(1);
  for (int64_t j = 0; j < n; j += 16) {
    int64_t left = std::min<int64_t>(16, n - j);
    __mmask16 live = static_cast<__mmask16>((1u << left) - 1);
    __m512i bits = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(live, m + j));
    __mmask16 set = _mm512_test_epi32_mask(bits, one);
    __mmask16 masked = maskedBit ? set : static_cast<__mmask16>(~set);
    __m512 y =
        _mm512_mask_blend_ps(masked, _mm512_maskz_loadu_ps(live, x + j), fillv);
    _mm512_mask_storeu_ps(x + j, live, y);
    nan |= _mm512_mask_cmp_ps_mask(live, y, y, _CMP_UNORD_Q);
    acc = _mm512_mask_max_ps(acc, live, acc, y);
  }
  if (nan)
    return std::numeric_limits<float>::quiet_NaN();
  return _mm512_reduce_max_ps(acc);
}

/// exp(x - m) in place (x - m <= 0 or NaN), Cephes' polynomial as
/// expNonPositive; returns the sum.
LATHE_AVX512_TARGET float expInPlaceAndSumAvx512(float *x, int64_t n, float m) {
  const __m512 mv = _mm512_set1_ps(m), lo = _mm512_set1_ps(-87.0f);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    int64_t left = std::min<int64_t>(16, n - j);
    __mmask16 live = static_cast<__mmask16>((1u << left) - 1);
    __m512 arg = _mm512_sub_ps(_mm512_maskz_loadu_ps(live, x + j), mv);
    __mmask16 nan = _mm512_cmp_ps_mask(arg, arg, _CMP_UNORD_Q);
    __mmask16 under = _mm512_cmp_ps_mask(arg, lo, _CMP_LT_OQ);
    __m512 v = _mm512_max_ps(arg, lo);
    __m512 fx = _mm512_roundscale_ps(
        _mm512_fmadd_ps(v, _mm512_set1_ps(1.44269504088896341f),
                        _mm512_set1_ps(0.5f)),
        _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), v);
    r = _mm512_fmadd_ps(fx, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(_mm512_mul_ps(y, r), r,
                        _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    y = _mm512_scalef_ps(y, fx);
    y = _mm512_mask_mov_ps(y, under, _mm512_setzero_ps());
    y = _mm512_mask_mov_ps(y, nan, arg);
    _mm512_mask_storeu_ps(x + j, live, y);
    sum = _mm512_mask_add_ps(sum, live, sum, y);
  }
  return _mm512_reduce_add_ps(sum);
}

bool cpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return has;
}

/// Per-worker scratch of the masked attention kernel.
struct MaskedAttentionWorker {
  ScratchBuffer scores, out, rowScale;
  // bf16: the query block, keys and values in row pairs, the probabilities
  // and one row of conversions.
  ScratchBuffer q16, k16, v16, p16, row16;
};

/// x[j] = (m[j] & 1) == maskedBit ? fill : x[j] for all j; returns the
/// maximum of the new values (NaN wins).
LATHE_VECTOR_CLONES float maskRowMax(float *x, const uint8_t *m, int64_t n,
                                     float fill, uint8_t maskedBit) {
  float lanes[kLanes];
  for (int64_t l = 0; l < kLanes; ++l)
    lanes[l] = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) {
      float y = (m[j + l] & 1) == maskedBit ? fill : x[j + l];
      x[j + l] = y;
      lanes[l] = maximumf(y, lanes[l]);
    }
  float result = -std::numeric_limits<float>::infinity();
  for (int64_t l = 0; l < kLanes; ++l)
    result = maximumf(lanes[l], result);
  for (; j < n; ++j) {
    float y = (m[j] & 1) == maskedBit ? fill : x[j];
    x[j] = y;
    result = maximumf(y, result);
  }
  return result;
}

/// x[j] *= factor for all j.
LATHE_VECTOR_CLONES void scaleRow(float *x, int64_t n, float factor) {
  for (int64_t j = 0; j < n; ++j)
    x[j] *= factor;
}

void maskedAttention(int64_t rankQ, void *qDesc, int64_t rankKT, void *ktDesc,
                     int64_t rankV, void *vDesc, int64_t rankM, void *mDesc,
                     int64_t rankO, void *oDesc, float scale, float fill,
                     int64_t maskDims, int64_t flags) {
  static const int profileKind = getProfileKind("attention");
  static const int bf16Kind = getProfileKind("attention_bf16");
  ProfileScope profile(profileKind);
  if (traceEnabled())
    profile.setDetail(describeOperands(
        {{rankQ, qDesc}, {rankKT, ktDesc}, {rankV, vDesc}, {rankO, oDesc}}));
  constexpr const char *kName = "masked attention";
  MemRefView q = decodeMemRef(rankQ, qDesc, "masked attention: query");
  MemRefView kt = decodeMemRef(rankKT, ktDesc, "masked attention: key");
  MemRefView v = decodeMemRef(rankV, vDesc, "masked attention: value");
  MemRefView o = decodeMemRef(rankO, oDesc, "masked attention: output");
  int64_t r = q.rank;
  if (r < 2 || kt.rank != r || v.rank != r || o.rank != r)
    fail(LATHE_ERR_SHAPE, kName,
         ": expects operands of one rank >= 2, got "
         "query ",
         shapeString(q), ", keys ", shapeString(kt), ", value ", shapeString(v),
         ", output ", shapeString(o));
  int64_t lq = q.sizes[r - 2], d = q.sizes[r - 1], lk = kt.sizes[r - 1],
          dv = v.sizes[r - 1];
  bool ok = kt.sizes[r - 2] == d && v.sizes[r - 2] == lk &&
            o.sizes[r - 2] == lq && o.sizes[r - 1] == dv;
  int64_t batch = 1;
  std::array<int64_t, LATHE_MAX_RANK> batchSizes{};
  for (int64_t i = 0; i < r - 2; ++i) {
    ok = ok && kt.sizes[i] == q.sizes[i] && v.sizes[i] == q.sizes[i] &&
         o.sizes[i] == q.sizes[i];
    batchSizes[i] = q.sizes[i];
    batch *= q.sizes[i];
  }
  if (!ok)
    fail(LATHE_ERR_SHAPE, kName, ": mismatched shapes: query ", shapeString(q),
         ", keys (transposed) ", shapeString(kt), ", value ", shapeString(v),
         ", output ", shapeString(o));
  // The mask: i1 bytes broadcast onto the score dimensions [..., Lq, Lk]
  // (maskDims: 4 bits per mask dimension, a score dimension or 0xF for a
  // unit dimension).
  bool hasMask = (flags & LATHE_ATTN_HAS_MASK) != 0;
  bool maskedWhen = (flags & LATHE_ATTN_MASKED_WHEN_TRUE) != 0;
  const uint8_t *maskData = nullptr;
  std::array<int64_t, LATHE_MAX_RANK> maskStrides{};
  if (hasMask) {
    MemRefView mv = decodeMemRef(rankM, mDesc, "masked attention: mask");
    // decodeMemRef counts the offset in floats; the mask's elements are
    // bytes.
    const auto *words = static_cast<const int64_t *>(mDesc);
    const uint8_t *aligned;
    std::memcpy(&aligned, &words[1], sizeof(aligned));
    maskData = aligned ? aligned + words[2] : nullptr;
    for (int64_t i = 0; i < mv.rank; ++i) {
      int64_t dim = (maskDims >> (4 * i)) & 0xF;
      if (dim == 0xF) {
        if (mv.sizes[i] != 1)
          fail(LATHE_ERR_SHAPE, kName, ": mask ", shapeString(mv),
               " dimension ", i, " is broadcast but has size ", mv.sizes[i]);
        continue;
      }
      int64_t want = dim == r - 2   ? lq
                     : dim == r - 1 ? lk
                     : dim < r - 2  ? q.sizes[dim]
                                    : -1;
      if (dim >= r || mv.sizes[i] != want)
        fail(LATHE_ERR_SHAPE, kName, ": mask ", shapeString(mv), " dimension ",
             i, " does not match the scores' dimension ", dim);
      maskStrides[dim] += mv.strides[i];
    }
    if (!maskData && batch * lq * lk != 0)
      fail(LATHE_ERR_INVALID, kName, ": mask has a null data pointer");
  }
  if (batch == 0 || lq == 0 || dv == 0)
    return;
  applyThreadSettings();

  GemmOperand qs(q), ks(kt), vs(v);
  char oTrans;
  int64_t oLd;
  bool directOut =
      gemmLayout(lq, dv, o.strides[r - 2], o.strides[r - 1], oTrans, oLd) &&
      oTrans == 'N';
  // Blocks of query rows whose scores stay in the core's cache; at least two
  // tasks per thread when the batch alone gives fewer.
  int64_t threads = std::max(1, lathe_rt_get_num_threads());
  int64_t bq = std::clamp<int64_t>(16384 / std::max<int64_t>(lk, 1), 8, 256);
  bq = std::min(bq, lq);
  if (batch * ((lq + bq - 1) / bq) < 2 * threads) {
    int64_t perBatch = (2 * threads + batch - 1) / batch;
    bq = std::max<int64_t>(std::min<int64_t>(8, lq),
                           (lq + perBatch - 1) / perBatch);
  }
  int64_t qBlocks = (lq + bq - 1) / bq;
  auto offsetOf = [&](const MemRefView &view, int64_t b) {
    int64_t offset = 0;
    for (int64_t dim = r - 3; dim >= 0; --dim) {
      int64_t idx = b % batchSizes[dim];
      b /= batchSizes[dim];
      offset += idx * view.strides[dim];
    }
    return offset;
  };
  auto maskOffsetOf = [&](int64_t b) {
    int64_t offset = 0;
    for (int64_t dim = r - 3; dim >= 0; --dim) {
      int64_t idx = b % batchSizes[dim];
      b /= batchSizes[dim];
      offset += idx * maskStrides[dim];
    }
    return offset;
  };
  const float negInf = -std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Masked scores become `fill`; with a -inf fill the masked keys after the
  // last unmasked one of a block's rows contribute exactly 0 to every row
  // whose maximum is finite (and nothing to a row that is NaN anyway), so
  // they are skipped when the values there are finite (0 · Inf is NaN).
  bool canSkip = hasMask && fill == negInf;
  int64_t mqs = maskStrides[r - 2], mks = maskStrides[r - 1];

  // bf16 products (f32 accumulation, softmax and output) in a bf16 session.
  Bf16Products products = bf16Products();
  bool bf16 = products != Bf16Products::None;
  bool avx512 = cpuHasAvx512();
  // AMX tiles: head channels and keys in chunks of 32, rows in pairs of
  // 16-row tiles (zero padded).
  int64_t dE = roundUp(d, 32);
  if (bf16)
    profile.setKind(bf16Kind);
  auto makeWorker = [&] {
    MaskedAttentionWorker w;
    w.scores = ScratchBuffer(std::max<int64_t>(1, bq * lk) * sizeof(float));
    if (!directOut)
      w.out = ScratchBuffer(std::max<int64_t>(1, bq * dv) * sizeof(float));
    w.rowScale = ScratchBuffer(bq * sizeof(float));
    if (bf16) {
      int64_t bqPad = roundUp(bq, 32), lkPad = roundUp(lk, 32);
      w.q16 = ScratchBuffer(bqPad * dE * 2);
      w.k16 = ScratchBuffer(dE * lkPad * 2);
      w.p16 = ScratchBuffer(bqPad * lkPad * 2);
      w.v16 = ScratchBuffer(lkPad * roundUp(dv, 32) * 2);
      w.row16 = ScratchBuffer(2 * (std::max(dE, roundUp(dv, 32)) + 2) * 2);
    }
    return w;
  };
  auto task = [&](MaskedAttentionWorker &w, int64_t t) {
    int64_t b = t / qBlocks, i0 = (t % qBlocks) * bq;
    int64_t rows = std::min(bq, lq - i0);
    const uint8_t *mb = hasMask ? maskData + maskOffsetOf(b) : nullptr;
    auto masked = [&](int64_t i, int64_t j) {
      return ((mb[(i0 + i) * mqs + j * mks] & 1) != 0) == maskedWhen;
    };
    const float *vb = vs.view.data + offsetOf(vs.view, b);
    int64_t n = lk;
    if (canSkip) {
      n = 0;
      for (int64_t i = 0; i < (mqs == 0 ? 1 : rows); ++i) {
        int64_t j = lk;
        while (j > n && masked(i, j - 1))
          --j;
        n = std::max(n, j);
      }
      n = std::max<int64_t>(n, 1);
      for (int64_t j = n; j < lk; ++j)
        if (!allFinite(maxAbsOnThisThread(vs.at(vb, j, 0),
                                          vs.view.strides[r - 1], dv))) {
          n = lk;
          break;
        }
    }
    float *s = w.scores.floats(), *rowScale = w.rowScale.floats();
    const float *qb = qs.view.data + offsetOf(qs.view, b);
    const float *kb = ks.view.data + offsetOf(ks.view, b);
    if (bf16) {
      // q rows and k rows (pairs of head channels interleaved per key) in
      // bf16, zero padded to whole tiles.
      auto *q16 = static_cast<uint16_t *>(w.q16.get());
      auto *k16 = static_cast<uint16_t *>(w.k16.get());
      auto *row16 = static_cast<uint16_t *>(w.row16.get());
      int64_t qcs = qs.view.strides[r - 1], kds = ks.view.strides[r - 2];
      int64_t nb = roundUp(n, 32), rowsPad = roundUp(rows, 32);
      for (int64_t i = 0; i < rows; ++i) {
        toBf16Row(qs.at(qb, i0 + i, 0), qcs, q16 + i * dE, d);
        std::fill(q16 + i * dE + d, q16 + (i + 1) * dE, uint16_t(0));
      }
      std::fill(q16 + rows * dE, q16 + rowsPad * dE, uint16_t(0));
      auto *kWords = reinterpret_cast<uint32_t *>(k16);
      const int64_t kPairs = dE / 2;
      std::fill(row16 + d, row16 + dE, uint16_t(0));
      for (int64_t j = 0; j < n; ++j) {
        toBf16Row(ks.at(kb, 0, j), kds, row16, d);
        for (int64_t p = 0; p < kPairs; ++p) {
          uint32_t pair;
          std::memcpy(&pair, row16 + 2 * p, sizeof(pair));
          kWords[p * nb + j] = pair;
        }
      }
      for (int64_t p = 0; p < kPairs; ++p)
        std::fill(kWords + p * nb + n, kWords + (p + 1) * nb, 0u);
      bf16Gemm(products, rows, n, dE / 32, q16, dE, k16, nb, s, n, scale);
    } else {
      sgemm(qs.trans, ks.trans, rows, n, d, scale, qs.at(qb, i0, 0), qs.ld, kb,
            ks.ld, 0.0f, s, n);
    }
    for (int64_t i = 0; i < rows; ++i) {
      float *srow = s + i * n;
      float m;
      if (hasMask && mks == 1) {
        m = avx512 ? maskRowMaxAvx512(srow, mb + (i0 + i) * mqs, n, fill,
                                      maskedWhen ? 1 : 0)
                   : maskRowMax(srow, mb + (i0 + i) * mqs, n, fill,
                                maskedWhen ? 1 : 0);
      } else {
        if (hasMask)
          for (int64_t j = 0; j < n; ++j)
            if (masked(i, j))
              srow[j] = fill;
        m = rowMax(srow, n);
      }
      // The reference's softmax: m = max (NaN wins), e = exp(x - m),
      // e / sum(e). A row of -inf only (m = -inf), or with NaN or +Inf
      // (m NaN or +Inf), is NaN there (x - m is NaN somewhere, or the sum
      // is). The division is applied to the row of P · V.
      if (!std::isfinite(m)) {
        std::fill(srow, srow + n, nan);
        rowScale[i] = 1.0f;
        continue;
      }
      rowScale[i] = 1.0f / (avx512 ? expInPlaceAndSumAvx512(srow, n, m)
                                   : expInPlaceAndSum(srow, n, m));
    }
    // out = P · v (rows x dv): sgemm, or bf16 P and v rows in key pairs.
    auto pv = [&](float *out, int64_t ldo) {
      if (!bf16) {
        sgemm('N', vs.trans, rows, dv, n, 1.0f, s, n, vb, vs.ld, 0.0f, out,
              ldo);
        return;
      }
      auto *p16 = static_cast<uint16_t *>(w.p16.get());
      auto *v16 = static_cast<uint16_t *>(w.v16.get());
      auto *row16 = static_cast<uint16_t *>(w.row16.get());
      int64_t nE = roundUp(n, 32), dvb = roundUp(dv, 32);
      int64_t rowsPad = roundUp(rows, 32);
      for (int64_t i = 0; i < rows; ++i) {
        toBf16Row(s + i * n, 1, p16 + i * nE, n);
        std::fill(p16 + i * nE + n, p16 + (i + 1) * nE, uint16_t(0));
      }
      std::fill(p16 + rows * nE, p16 + rowsPad * nE, uint16_t(0));
      int64_t vcs = vs.view.strides[r - 1];
      uint16_t *second = row16 + dvb + 2;
      for (int64_t p = 0; p < nE / 2; ++p) {
        uint16_t *dst = v16 + p * dvb * 2;
        if (2 * p >= n) {
          std::fill(dst, dst + 2 * dvb, uint16_t(0));
          continue;
        }
        toBf16Row(vs.at(vb, 2 * p, 0), vcs, row16, dv);
        if (2 * p + 1 < n)
          toBf16Row(vs.at(vb, 2 * p + 1, 0), vcs, second, dv);
        else
          std::fill(second, second + dv, uint16_t(0));
        interleavePairs(row16, second, reinterpret_cast<uint32_t *>(dst), dv);
        std::fill(dst + 2 * dv, dst + 2 * dvb, uint16_t(0));
      }
      bf16Gemm(products, rows, dv, nE / 32, p16, nE, v16, dvb, out, ldo, 1.0f);
    };
    if (directOut) {
      float *out = o.data + offsetOf(o, b) + i0 * o.strides[r - 2];
      pv(out, oLd);
      for (int64_t i = 0; i < rows; ++i)
        scaleRow(out + i * oLd, dv, rowScale[i]);
      return;
    }
    float *out = w.out.floats();
    pv(out, dv);
    for (int64_t i = 0; i < rows; ++i)
      storeRows(o, offsetOf(o, b), i0 + i, 1, dv, out + i * dv, dv,
                rowScale[i]);
  };
  parallelTasks(batch * qBlocks, makeWorker, task);
}

//===----------------------------------------------------------------------===//
// Attention backward
//===----------------------------------------------------------------------===//

/// Per-worker scratch of the backward kernel: a block of probabilities and
/// one of their gradients, the dK/dV accumulators of one key block, dQ and
/// D = rowsum(dO ∘ O) of one batch element.
struct AttentionBackwardWorker {
  ScratchBuffer probs, dprobs, dk, dv, dq, delta;
};

/// Σ_c a[c] · b[c] with explicit lanes (vectorised like rowMax).
LATHE_VECTOR_CLONES float dotLanes(const float *a, int64_t as, const float *b,
                                   int64_t bs, int64_t n) {
  if (as == 1 && bs == 1) {
    float lanes[kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes)
      for (int64_t l = 0; l < kLanes; ++l)
        lanes[l] += a[j + l] * b[j + l];
    float sum = 0.0f;
    for (int64_t l = 0; l < kLanes; ++l)
      sum += lanes[l];
    for (; j < n; ++j)
      sum += a[j] * b[j];
    return sum;
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j)
    sum += a[j * as] * b[j * bs];
  return sum;
}

/// p[j] = exp(s[j] - lse) in place (the forward's probabilities).
LATHE_VECTOR_CLONES void probsInPlace(float *s, int64_t n, float lse) {
  for (int64_t j = 0; j < n; ++j)
    s[j] = expNonPositive(s[j] - lse);
}

/// ds[j] = p[j] · (dp[j] - delta) in place in dp.
LATHE_VECTOR_CLONES void scoreGrad(const float *p, float *dp, int64_t n,
                                   float delta) {
  for (int64_t j = 0; j < n; ++j)
    dp[j] = p[j] * (dp[j] - delta);
}

void chunkedAttentionBackward(
    int64_t rankQ, void *qDesc, int64_t rankK, void *kDesc, int64_t rankV,
    void *vDesc, int64_t rankO, void *oDesc, int64_t rankDO, void *doDesc,
    int64_t rankL, void *lseDesc, int64_t rankB0, void *b0Desc, int64_t rankB1,
    void *b1Desc, int64_t rankDQ, void *dqDesc, int64_t rankDK, void *dkDesc,
    int64_t rankDV, void *dvDesc, int64_t rankDB0, void *db0Desc,
    int64_t rankDB1, void *db1Desc, float scale, int64_t qChunk,
    int64_t kvChunk, int64_t numBiases, int64_t biasGradMask) {
  static const int profileKind = getProfileKind("attention_backward");
  ProfileScope profile(profileKind);
  constexpr const char *kName = "chunked attention backward";
  AttentionShapes shapes(kName, rankQ, qDesc, rankK, kDesc, rankV, vDesc,
                         rankB0, b0Desc, rankB1, b1Desc, numBiases);
  int64_t r = shapes.r, lq = shapes.lq, d = shapes.d, lk = shapes.lk,
          dv = shapes.dv, batch = shapes.batch;
  MemRefView o = decodeMemRef(rankO, oDesc, "attention backward: output");
  MemRefView dO =
      decodeMemRef(rankDO, doDesc, "attention backward: output gradient");
  MemRefView lse =
      decodeMemRef(rankL, lseDesc, "attention backward: log-sum-exp");
  MemRefView dQ =
      decodeMemRef(rankDQ, dqDesc, "attention backward: query gradient");
  MemRefView dK =
      decodeMemRef(rankDK, dkDesc, "attention backward: key gradient");
  MemRefView dV =
      decodeMemRef(rankDV, dvDesc, "attention backward: value gradient");
  if (!shapes.hasShape(o, lq, dv) || !shapes.hasShape(dO, lq, dv) ||
      !shapes.hasShape(dQ, lq, d) || !shapes.hasShape(dK, lk, d) ||
      !shapes.hasShape(dV, lk, dv))
    fail(LATHE_ERR_SHAPE, kName, ": mismatched shapes: query ",
         shapeString(shapes.q), ", key ", shapeString(shapes.k), ", value ",
         shapeString(shapes.v), ", output ", shapeString(o),
         ", output gradient ", shapeString(dO), ", gradients ", shapeString(dQ),
         ", ", shapeString(dK), ", ", shapeString(dV));
  if (!shapes.isRowVector(lse))
    fail(LATHE_ERR_SHAPE, kName, ": the log-sum-exp ", shapeString(lse),
         " is not [..., Lq] for the query ", shapeString(shapes.q));
  if (biasGradMask < 0 || biasGradMask >= (int64_t(1) << numBiases))
    fail(LATHE_ERR_INVALID, kName, ": bias gradient mask ", biasGradMask,
         " names a bias beyond the ", numBiases, " given");
  // Gradients of the biases: same shape as their bias (broadcast dimensions
  // are summed over).
  struct BiasGrad {
    int64_t bias;
    MemRefView view;
  };
  std::vector<BiasGrad> biasGrads;
  for (int64_t i = 0; i < numBiases; ++i) {
    if (!(biasGradMask & (int64_t(1) << i)))
      continue;
    MemRefView g =
        i == 0 ? decodeMemRef(rankDB0, db0Desc, "attention backward: dbias 0")
               : decodeMemRef(rankDB1, db1Desc, "attention backward: dbias 1");
    bool same = g.rank == shapes.biases[i].rank;
    for (int64_t dim = 0; same && dim < g.rank; ++dim)
      same = g.sizes[dim] == shapes.biases[i].sizes[dim];
    if (!same)
      fail(LATHE_ERR_SHAPE, kName, ": the gradient of bias ", i, " ",
           shapeString(g), " does not have the bias' shape ",
           shapeString(shapes.biases[i]));
    biasGrads.push_back({i, g});
  }
  zeroView(dQ);
  zeroView(dK);
  zeroView(dV);
  for (const BiasGrad &g : biasGrads)
    zeroView(g.view);
  if (batch == 0 || lq == 0 || lk == 0)
    return;
  const std::array<int64_t, LATHE_MAX_RANK> &batchSizes = shapes.batchSizes;

  applyThreadSettings();
  int64_t bq = std::min(lq, qChunk > 0 ? qChunk : int64_t(64));
  int64_t bk = std::min(lk, kvChunk > 0 ? kvChunk : int64_t(128));
  RowOperand qs(shapes.q), ks(shapes.k), vs(shapes.v), os(o), dos(dO);
  std::vector<RowOperand> bs;
  bs.reserve(shapes.biases.size());
  for (const MemRefView &b : shapes.biases)
    bs.emplace_back(b);

  // One task per group of batch elements: a leading dimension along which a
  // bias gradient broadcasts is summed over inside one task (so each
  // gradient element has one writer and the sums have a fixed order); the
  // other leading dimensions are spread over the workers.
  std::array<bool, LATHE_MAX_RANK> inner{};
  for (int64_t dim = 0; dim < r - 2; ++dim)
    for (const BiasGrad &g : biasGrads)
      inner[dim] =
          inner[dim] || (g.view.sizes[dim] == 1 && batchSizes[dim] > 1);
  auto groupOf = [&](int64_t b) {
    int64_t group = 0, stride = 1;
    for (int64_t dim = r - 3; dim >= 0; --dim) {
      int64_t idx = b % batchSizes[dim];
      b /= batchSizes[dim];
      if (!inner[dim]) {
        group += idx * stride;
        stride *= batchSizes[dim];
      }
    }
    return group;
  };
  int64_t groups = 1;
  for (int64_t dim = 0; dim < r - 2; ++dim)
    if (!inner[dim])
      groups *= batchSizes[dim];
  std::vector<int64_t> order(batch), start(groups + 1, 0);
  for (int64_t b = 0; b < batch; ++b)
    ++start[groupOf(b) + 1];
  for (int64_t g = 0; g < groups; ++g)
    start[g + 1] += start[g];
  {
    std::vector<int64_t> fillPos(start.begin(), start.end() - 1);
    for (int64_t b = 0; b < batch; ++b)
      order[fillPos[groupOf(b)]++] = b;
  }

  auto makeWorker = [&] {
    AttentionBackwardWorker w;
    w.probs = ScratchBuffer(bq * bk * sizeof(float));
    w.dprobs = ScratchBuffer(bq * bk * sizeof(float));
    w.dk = ScratchBuffer(std::max<int64_t>(1, bk * d) * sizeof(float));
    w.dv = ScratchBuffer(std::max<int64_t>(1, bk * dv) * sizeof(float));
    w.dq = ScratchBuffer(std::max<int64_t>(1, lq * d) * sizeof(float));
    w.delta = ScratchBuffer(lq * sizeof(float));
    return w;
  };
  const float negInf = -std::numeric_limits<float>::infinity();
  auto runBatchElement = [&](AttentionBackwardWorker &w, int64_t b) {
    float *p = w.probs.floats(), *dp = w.dprobs.floats();
    float *dkAcc = w.dk.floats(), *dvAcc = w.dv.floats();
    float *dq = w.dq.floats(), *delta = w.delta.floats();
    const float *qBase = qs.view.data + qs.batchOffset(b, batchSizes);
    const float *kBase = ks.view.data + ks.batchOffset(b, batchSizes);
    const float *vBase = vs.view.data + vs.batchOffset(b, batchSizes);
    const float *oBase = os.view.data + os.batchOffset(b, batchSizes);
    const float *doBase = dos.view.data + dos.batchOffset(b, batchSizes);
    const float *lseBase = lse.data + shapes.batchOffset(lse, b);
    int64_t lseStride = lse.strides[r - 2];
    int64_t qld = qs.rowStride(), kld = ks.rowStride(), vld = vs.rowStride(),
            dold = dos.rowStride();
    // D_i = Σ_c dO[i, c] · O[i, c] (FlashAttention-2's rowsum(dO ∘ O)).
    for (int64_t i = 0; i < lq; ++i)
      delta[i] = dotLanes(doBase + i * dold, dos.colStride(),
                          oBase + i * os.rowStride(), os.colStride(), dv);
    std::fill(dq, dq + lq * d, 0.0f);
    for (int64_t j0 = 0; j0 < lk; j0 += bk) {
      int64_t cols = std::min(bk, lk - j0);
      std::fill(dkAcc, dkAcc + cols * d, 0.0f);
      std::fill(dvAcc, dvAcc + cols * dv, 0.0f);
      const float *kj = kBase + j0 * kld, *vj = vBase + j0 * vld;
      for (int64_t i0 = 0; i0 < lq; i0 += bq) {
        int64_t rows = std::min(bq, lq - i0);
        const float *qi = qBase + i0 * qld, *doi = doBase + i0 * dold;
        // Recompute the block of probabilities: p = exp(s - lse).
        sgemm('N', 'T', rows, cols, d, scale, qi, qld, kj, kld, 0.0f, p, bk);
        for (const RowOperand &bias : bs)
          addBiasBlock(bias, bias.batchOffset(b, batchSizes), p, bk, i0, rows,
                       j0, cols);
        for (int64_t i = 0; i < rows; ++i) {
          float l = lseBase[(i0 + i) * lseStride];
          if (l == negInf) // a fully masked row: its output is constant 0
            std::fill(p + i * bk, p + i * bk + cols, 0.0f);
          else
            probsInPlace(p + i * bk, cols, l);
        }
        // dV_j += pᵀ · dO_i
        if (dv > 0)
          sgemm('T', 'N', cols, dv, rows, 1.0f, p, bk, doi, dold, 1.0f, dvAcc,
                dv);
        // dp = dO_i · V_jᵀ, then ds = p ∘ (dp − D) in place.
        if (dv > 0)
          sgemm('N', 'T', rows, cols, dv, 1.0f, doi, dold, vj, vld, 0.0f, dp,
                bk);
        else
          for (int64_t i = 0; i < rows; ++i)
            std::fill(dp + i * bk, dp + i * bk + cols, 0.0f);
        for (int64_t i = 0; i < rows; ++i) {
          float *dsRow = dp + i * bk;
          if (lseBase[(i0 + i) * lseStride] == negInf)
            std::fill(dsRow, dsRow + cols, 0.0f);
          else
            scoreGrad(p + i * bk, dsRow, cols, delta[i0 + i]);
        }
        // The biases' gradient is ds itself, summed over broadcast axes.
        for (const BiasGrad &g : biasGrads) {
          const MemRefView &gv = g.view;
          float *gp = gv.data + shapes.batchOffset(gv, b);
          int64_t rs = gv.sizes[r - 2] == 1 ? 0 : gv.strides[r - 2];
          int64_t cs = gv.sizes[r - 1] == 1 ? 0 : gv.strides[r - 1];
          for (int64_t i = 0; i < rows; ++i) {
            float *grow = gp + (i0 + i) * rs + j0 * cs;
            const float *dsRow = dp + i * bk;
            if (cs == 1) {
              for (int64_t j = 0; j < cols; ++j)
                grow[j] += dsRow[j];
            } else if (cs == 0) {
              float sum = 0.0f;
              for (int64_t j = 0; j < cols; ++j)
                sum += dsRow[j];
              grow[0] += sum;
            } else {
              for (int64_t j = 0; j < cols; ++j)
                grow[j * cs] += dsRow[j];
            }
          }
        }
        // dQ_i += scale · ds · K_j ;  dK_j += scale · dsᵀ · Q_i
        if (d > 0) {
          sgemm('N', 'N', rows, d, cols, scale, dp, bk, kj, kld, 1.0f,
                dq + i0 * d, d);
          sgemm('T', 'N', cols, d, rows, scale, dp, bk, qi, qld, 1.0f, dkAcc,
                d);
        }
      }
      storeRows(dK, shapes.batchOffset(dK, b), j0, cols, d, dkAcc, d);
      storeRows(dV, shapes.batchOffset(dV, b), j0, cols, dv, dvAcc, dv);
    }
    storeRows(dQ, shapes.batchOffset(dQ, b), 0, lq, d, dq, d);
  };
  auto task = [&](AttentionBackwardWorker &w, int64_t g) {
    for (int64_t n = start[g]; n < start[g + 1]; ++n)
      runBatchElement(w, order[n]);
  };
  parallelTasks(groups, makeWorker, task);
}

//===----------------------------------------------------------------------===//
// Cross-modal reduction
//===----------------------------------------------------------------------===//

/// Scratch of one reduction over n rows, in one runtime allocation (so it is
/// counted in the high-water mark): per row an f64 total score, an i64 index,
/// an f32 softmax entry and a kept flag (memred::BankAppendOp's model).
constexpr int64_t kReduceScratchPerRow = 8 + 8 + 4 + 1;

struct ReduceScratch {
  double *total;
  int64_t *order;
  float *row;
  char *kept;
  ReduceScratch(const ScratchBuffer &buffer, int64_t n) {
    char *base = static_cast<char *>(buffer.get());
    total = reinterpret_cast<double *>(base);
    order = reinterpret_cast<int64_t *>(base + 8 * n);
    row = reinterpret_cast<float *>(base + 16 * n);
    kept = base + 20 * n;
  }
};

/// A token's key for one head: D floats `stride` apart.
struct KeyRow {
  const float *data;
  int64_t stride;
};

/// AdaCM²'s selection over n tokens: score_j = sum over heads and query rows
/// of softmax_j(scale · q[h, r] · key(h, j)); sets work.kept for the newest
/// ceil(recent · n) tokens and the m − that many older ones with the highest
/// score (ties: the newer). `qs` is [Lq, D] (one head) or [H, Lq, D].
template <typename KeyFn>
void selectKept(const RowOperand &qs, int64_t heads, int64_t lq, int64_t d,
                int64_t n, const KeyFn &keyOf, double recent, int64_t m,
                float scale, ReduceScratch &work) {
  double *total = work.total;
  float *row = work.row;
  std::fill(total, total + n, 0.0);
  int64_t headStride = qs.view.rank == 3 ? qs.view.strides[0] : 0;
  for (int64_t h = 0; h < heads; ++h) {
    const float *qh = qs.view.data + h * headStride;
    for (int64_t i = 0; i < lq; ++i) {
      const float *qi = qh + i * qs.rowStride();
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < n; ++j) {
        KeyRow kj = keyOf(h, j);
        float dot = 0.0f;
        for (int64_t e = 0; e < d; ++e)
          dot += qi[e] * kj.data[e * kj.stride];
        row[j] = dot * scale;
        mx = std::max(mx, row[j]);
      }
      double sum = 0.0;
      for (int64_t j = 0; j < n; ++j) {
        row[j] = std::exp(row[j] - mx);
        sum += row[j];
      }
      for (int64_t j = 0; j < n; ++j)
        total[j] += row[j] / sum;
    }
  }
  int64_t newest = recentCount(n, recent);
  int64_t older = n - newest, keepCount = m - newest;
  int64_t *order = work.order;
  for (int64_t j = 0; j < older; ++j)
    order[j] = j;
  std::sort(order, order + older, [&](int64_t a, int64_t b) {
    return scoreBefore(total[a], a, total[b], b);
  });
  std::fill(work.kept, work.kept + n, 0);
  for (int64_t j = 0; j < keepCount; ++j)
    work.kept[order[j]] = 1;
  for (int64_t j = older; j < n; ++j)
    work.kept[j] = 1;
}

void crossModalReduce(int64_t rankQ, void *qDesc, int64_t rankK, void *kDesc,
                      int64_t rankT, void *tDesc, int64_t rankO, void *oDesc,
                      double recent, double keep, float scale) {
  static const int profileKind = getProfileKind("cross_modal_reduce");
  ProfileScope profile(profileKind);
  constexpr const char *kName = "cross-modal reduce";
  MemRefView q = decodeMemRef(rankQ, qDesc, "cross-modal reduce: queries");
  MemRefView k = decodeMemRef(rankK, kDesc, "cross-modal reduce: keys");
  MemRefView t = decodeMemRef(rankT, tDesc, "cross-modal reduce: tokens");
  MemRefView o = decodeMemRef(rankO, oDesc, "cross-modal reduce: output");
  if (q.rank != 3 || k.rank != 3 || t.rank != 2 || o.rank != 2 ||
      k.sizes[0] != q.sizes[0] || k.sizes[2] != q.sizes[2] ||
      k.sizes[1] != t.sizes[0] || o.sizes[1] != t.sizes[1])
    fail(LATHE_ERR_SHAPE, kName, ": expects queries [H, Lq, D], keys [H, N, ",
         "D], tokens [N, C], out [M, C], got ", shapeString(q), ", ",
         shapeString(k), ", ", shapeString(t), ", ", shapeString(o));
  int64_t n = t.sizes[0], c = t.sizes[1];
  int64_t m = keptCount(n, recent, keep);
  if (m < 0)
    fail(LATHE_ERR_INVALID, kName, ": fractions must be in (0, 1], got recent ",
         recent, " and keep ", keep);
  if (o.sizes[0] != m)
    fail(LATHE_ERR_SHAPE, kName, ": keeps ", m, " of ", n,
         " tokens but the output has ", o.sizes[0], " rows");
  int64_t heads = q.sizes[0], lq = q.sizes[1], d = q.sizes[2];
  RowOperand qs(q), ks(k);
  ScratchBuffer scratch(std::max<int64_t>(1, n) * kReduceScratchPerRow);
  ReduceScratch work(scratch, n);
  auto keyOf = [&](int64_t h, int64_t j) {
    return KeyRow{ks.view.data + h * ks.view.strides[0] + j * ks.rowStride(),
                  1};
  };
  selectKept(qs, heads, lq, d, n, keyOf, recent, m, scale, work);
  int64_t outRow = 0;
  for (int64_t j = 0; j < n; ++j) {
    if (!work.kept[j])
      continue;
    for (int64_t e = 0; e < c; ++e)
      o.data[outRow * o.strides[0] + e * o.strides[1]] =
          t.data[j * t.strides[0] + e * t.strides[1]];
    ++outRow;
  }
}

//===----------------------------------------------------------------------===//
// Streaming memory bank
//===----------------------------------------------------------------------===//

/// The random policy: the newest ceil(recent · n) rows and the older rows
/// with the highest priority splitmix64(key + j) (ties: the newer).
void selectRandom(int64_t n, double recent, int64_t m, int64_t seed,
                  int64_t step, ReduceScratch &work) {
  uint64_t key = randomKey(seed, step);
  int64_t newest = recentCount(n, recent);
  int64_t older = n - newest, keepCount = m - newest;
  // The priorities go in the score slots (as u64 bits: compared as such).
  auto *priority = reinterpret_cast<uint64_t *>(work.total);
  int64_t *order = work.order;
  for (int64_t j = 0; j < older; ++j) {
    priority[j] = splitmix64(key + static_cast<uint64_t>(j));
    order[j] = j;
  }
  std::sort(order, order + older, [&](int64_t a, int64_t b) {
    return priorityBefore(priority[a], a, priority[b], b);
  });
  std::fill(work.kept, work.kept + n, 0);
  for (int64_t j = 0; j < keepCount; ++j)
    work.kept[order[j]] = 1;
  for (int64_t j = older; j < n; ++j)
    work.kept[j] = 1;
}

int64_t bankAppend(int64_t rankF, void *fDesc, int64_t rankQ, void *qDesc,
                   int64_t rankB, void *bDesc, int64_t count, double recent,
                   double keep, float scale, int64_t policy, int64_t seed,
                   int64_t step) {
  static const int profileKind = getProfileKind("bank_append");
  ProfileScope profile(profileKind);
  constexpr const char *kName = "bank append";
  MemRefView f = decodeMemRef(rankF, fDesc, "bank append: frame");
  MemRefView q = decodeMemRef(rankQ, qDesc, "bank append: queries");
  MemRefView b = decodeMemRef(rankB, bDesc, "bank append: bank");
  if (b.rank != 2 || f.rank != 2 || (q.rank != 2 && q.rank != 3) ||
      f.sizes[1] != b.sizes[1])
    fail(LATHE_ERR_SHAPE, kName, ": expects frame [F, C], queries [Lq, D] or ",
         "[H, Lq, D] and bank [capacity, C], got ", shapeString(f), ", ",
         shapeString(q), ", ", shapeString(b));
  int64_t cap = b.sizes[0], c = b.sizes[1], frameRows = f.sizes[0];
  int64_t heads = q.rank == 3 ? q.sizes[0] : 1;
  int64_t lq = q.sizes[q.rank - 2], d = q.sizes[q.rank - 1];
  if (heads * d > c)
    fail(LATHE_ERR_SHAPE, kName, ": queries ", shapeString(q), " need keys of ",
         heads * d, " columns, but bank rows have ", c);
  if (count < 0 || count > cap)
    fail(LATHE_ERR_INVALID, kName, ": count ", count,
         " is outside [0, capacity ", cap, "]");
  auto rowOf = [&](int64_t j) {
    return j < count ? b.data + j * b.strides[0]
                     : f.data + (j - count) * f.strides[0];
  };
  auto colStrideOf = [&](int64_t j) {
    return j < count ? b.strides[1] : f.strides[1];
  };
  auto copyRow = [&](int64_t j, int64_t dst) {
    const float *src = rowOf(j);
    int64_t cs = colStrideOf(j);
    float *out = b.data + dst * b.strides[0];
    for (int64_t e = 0; e < c; ++e)
      out[e * b.strides[1]] = src[e * cs];
  };
  int64_t n = count + frameRows;
  if (n <= cap) {
    for (int64_t j = count; j < n; ++j)
      copyRow(j, j);
    return n;
  }
  int64_t m = keptCount(n, recent, keep);
  if (m < 0)
    fail(LATHE_ERR_INVALID, kName, ": fractions must be in (0, 1], got recent ",
         recent, " and keep ", keep);
  if (m > cap)
    fail(LATHE_ERR_INVALID, kName, ": keeps ", m, " of ", n,
         " rows, more than the capacity ", cap);
  if (policy < kPolicyAdaCM2 || policy > kPolicyMerge)
    fail(LATHE_ERR_INVALID, kName, ": unknown policy ", policy,
         " (0 adacm2, 1 recent, 2 random, 3 merge)");
  if (policy == kPolicyRecent) {
    // The newest m rows move to the front (row n - m + i lands at i <= it).
    for (int64_t i = 0; i < m; ++i)
      copyRow(n - m + i, i);
    return m;
  }
  if (policy == kPolicyMerge) {
    // The frame is copied to scratch so that every row is writable: row j
    // lives in the bank (j < count) or in the copy. A merge writes the
    // average into the older row's slot and unlinks the newer one.
    ScratchBuffer scratch(24 * n + 4 * frameRows * c);
    char *base = static_cast<char *>(scratch.get());
    auto *sim = reinterpret_cast<double *>(base);
    auto *next = reinterpret_cast<int64_t *>(base + 8 * n);
    auto *prev = reinterpret_cast<int64_t *>(base + 16 * n);
    auto *copy = reinterpret_cast<float *>(base + 24 * n);
    for (int64_t i = 0; i < frameRows; ++i)
      for (int64_t e = 0; e < c; ++e)
        copy[i * c + e] = f.data[i * f.strides[0] + e * f.strides[1]];
    auto slot = [&](int64_t j) {
      return j < count ? b.data + j * b.strides[0] : copy + (j - count) * c;
    };
    auto slotStride = [&](int64_t j) { return j < count ? b.strides[1] : 1; };
    auto simOf = [&](int64_t a, int64_t z) {
      return cosine(slot(a), slotStride(a), slot(z), slotStride(z), c);
    };
    for (int64_t j = 0; j < n; ++j) {
      next[j] = j + 1 < n ? j + 1 : -1;
      prev[j] = j - 1;
    }
    // sim[j]: similarity of row j and the row after it (when there is one).
    for (int64_t j = 0; j + 1 < n; ++j)
      sim[j] = simOf(j, j + 1);
    for (int64_t rows = n; rows > m; --rows) {
      int64_t best = -1;
      for (int64_t j = 0; j >= 0 && next[j] >= 0; j = next[j])
        if (best < 0 || sim[j] > sim[best])
          best = j;
      int64_t z = next[best];
      float *dst = slot(best);
      const float *src = slot(z);
      int64_t ds = slotStride(best), ss = slotStride(z);
      for (int64_t e = 0; e < c; ++e)
        dst[e * ds] = (dst[e * ds] + src[e * ss]) * 0.5f;
      next[best] = next[z];
      if (next[z] >= 0)
        prev[next[z]] = best;
      if (next[best] >= 0)
        sim[best] = simOf(best, next[best]);
      if (prev[best] >= 0)
        sim[prev[best]] = simOf(prev[best], best);
    }
    // Survivors move to the front in order; a bank slot j lands at out <= j.
    int64_t out = 0;
    for (int64_t j = 0; j >= 0; j = next[j], ++out) {
      if (j < count && out == j)
        continue;
      const float *src = slot(j);
      int64_t ss = slotStride(j);
      float *dst = b.data + out * b.strides[0];
      for (int64_t e = 0; e < c; ++e)
        dst[e * b.strides[1]] = src[e * ss];
    }
    return m;
  }
  RowOperand qs(q);
  ScratchBuffer scratch(n * kReduceScratchPerRow);
  ReduceScratch work(scratch, n);
  auto keyOf = [&](int64_t h, int64_t j) {
    int64_t cs = colStrideOf(j);
    return KeyRow{rowOf(j) + h * d * cs, cs};
  };
  if (policy == kPolicyRandom)
    selectRandom(n, recent, m, seed, step, work);
  else
    selectKept(qs, heads, lq, d, n, keyOf, recent, m, scale, work);
  // Kept rows move to the front in order: row j lands at out <= j, so
  // earlier bank rows are never overwritten before they are read.
  int64_t out = 0;
  for (int64_t j = 0; j < n; ++j) {
    if (!work.kept[j])
      continue;
    if (j >= count || out != j)
      copyRow(j, out);
    ++out;
  }
  return m;
}

} // namespace

extern "C" void lathe_rt_chunked_attention_f32(
    int64_t rankQ, void *q, int64_t rankK, void *k, int64_t rankV, void *v,
    int64_t rankB0, void *b0, int64_t rankB1, void *b1, int64_t rankO, void *o,
    float scale, int64_t qChunk, int64_t kvChunk, int64_t numBiases) {
  guardKernel("lathe_rt_chunked_attention_f32", [&] {
    chunkedAttention(rankQ, q, rankK, k, rankV, v, rankB0, b0, rankB1, b1,
                     rankO, o, 0, nullptr, scale, qChunk, kvChunk, numBiases);
  });
}

extern "C" void
lathe_rt_masked_attention_f32(int64_t rankQ, void *q, int64_t rankKT, void *kt,
                              int64_t rankV, void *v, int64_t rankM, void *mask,
                              int64_t rankO, void *o, float scale, float fill,
                              int64_t maskDims, int64_t flags) {
  guardKernel("lathe_rt_masked_attention_f32", [&] {
    maskedAttention(rankQ, q, rankKT, kt, rankV, v, rankM, mask, rankO, o,
                    scale, fill, maskDims, flags);
  });
}

extern "C" void lathe_rt_chunked_attention_lse_f32(
    int64_t rankQ, void *q, int64_t rankK, void *k, int64_t rankV, void *v,
    int64_t rankB0, void *b0, int64_t rankB1, void *b1, int64_t rankO, void *o,
    int64_t rankL, void *lse, float scale, int64_t qChunk, int64_t kvChunk,
    int64_t numBiases) {
  guardKernel("lathe_rt_chunked_attention_lse_f32", [&] {
    if (!lse)
      fail(LATHE_ERR_INVALID, "chunked attention: null log-sum-exp operand");
    chunkedAttention(rankQ, q, rankK, k, rankV, v, rankB0, b0, rankB1, b1,
                     rankO, o, rankL, lse, scale, qChunk, kvChunk, numBiases);
  });
}

extern "C" void lathe_rt_chunked_attention_backward_f32(
    int64_t rankQ, void *q, int64_t rankK, void *k, int64_t rankV, void *v,
    int64_t rankO, void *o, int64_t rankDO, void *dO, int64_t rankL, void *lse,
    int64_t rankB0, void *b0, int64_t rankB1, void *b1, int64_t rankDQ,
    void *dq, int64_t rankDK, void *dk, int64_t rankDV, void *dv,
    int64_t rankDB0, void *db0, int64_t rankDB1, void *db1, float scale,
    int64_t qChunk, int64_t kvChunk, int64_t numBiases, int64_t biasGradMask) {
  guardKernel("lathe_rt_chunked_attention_backward_f32", [&] {
    chunkedAttentionBackward(rankQ, q, rankK, k, rankV, v, rankO, o, rankDO, dO,
                             rankL, lse, rankB0, b0, rankB1, b1, rankDQ, dq,
                             rankDK, dk, rankDV, dv, rankDB0, db0, rankDB1, db1,
                             scale, qChunk, kvChunk, numBiases, biasGradMask);
  });
}

extern "C" void lathe_rt_cross_modal_reduce_f32(int64_t rankQ, void *queries,
                                                int64_t rankK, void *keys,
                                                int64_t rankT, void *tokens,
                                                int64_t rankO, void *out,
                                                double recent, double keep,
                                                float scale) {
  guardKernel("lathe_rt_cross_modal_reduce_f32", [&] {
    crossModalReduce(rankQ, queries, rankK, keys, rankT, tokens, rankO, out,
                     recent, keep, scale);
  });
}

extern "C" int64_t lathe_rt_bank_append_f32(int64_t rankF, void *frame,
                                            int64_t rankQ, void *queries,
                                            int64_t rankB, void *bank,
                                            int64_t count, double recent,
                                            double keep, float scale) {
  int64_t newCount = count;
  guardKernel("lathe_rt_bank_append_f32", [&] {
    newCount = bankAppend(rankF, frame, rankQ, queries, rankB, bank, count,
                          recent, keep, scale, kPolicyAdaCM2, 0, 0);
  });
  return newCount;
}

extern "C" int64_t lathe_rt_bank_append_policy_f32(
    int64_t rankF, void *frame, int64_t rankQ, void *queries, int64_t rankB,
    void *bank, int64_t count, double recent, double keep, float scale,
    int64_t policy, int64_t seed, int64_t step) {
  int64_t newCount = count;
  guardKernel("lathe_rt_bank_append_policy_f32", [&] {
    newCount = bankAppend(rankF, frame, rankQ, queries, rankB, bank, count,
                          recent, keep, scale, policy, seed, step);
  });
  return newCount;
}

extern "C" int64_t lathe_rt_cross_modal_kept_count(int64_t n, double recent,
                                                   double keep) {
  return keptCount(n, recent, keep);
}
