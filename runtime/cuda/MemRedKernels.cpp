//===- MemRedKernels.cpp - memred's cross-modal reduction on the GPU ------===//
//
// Host sides of MemRedKernels.cu: memred.cross_modal_reduce and
// memred.bank_append (every policy) with the arguments of the CPU runtime's
// lathe_rt_cross_modal_reduce_f32 / lathe_rt_bank_append_policy_f32, on
// device memory. The shapes, fractions, count and policy are checked here
// with the CPU runtime's messages (the pending error); the bank's new count
// is known on the host without reading the device. Scratch comes from the
// caching allocator (counted in the peak).
//
//===----------------------------------------------------------------------===//

#include "BankSelect.h"
#include "lathe/runtime/CUDA.h"
#include "lathe/runtime/CUDAKernels.h"

#include "CudaInternal.h"
#include "LaunchGeometry.h"
#include "MemRedParams.h"

#include <sstream>
#include <string>

using namespace lathe_cuda;
using namespace lathe::bank_select;

namespace {

/// "fractions must be in (0, 1], ..." with the fractions printed as the CPU
/// runtime's messages print them (ostream defaults).
std::string fractionsMessage(double recent, double keep) {
  std::ostringstream os;
  os << "fractions must be in (0, 1], got recent " << recent << " and keep "
     << keep;
  return os.str();
}

/// One scratch block of the caching allocator, freed (stream-ordered) at
/// the end of the scope.
struct Scratch {
  void *ptr = nullptr;
  bool make(size_t bytes, const char *what) {
    if (lathe_cuda_alloc(bytes ? bytes : 1, &ptr) == LATHE_CUDA_OK)
      return true;
    setPending(std::string(what) + ": out of device memory for " +
               std::to_string(bytes) + " bytes of scratch");
    ptr = nullptr;
    return false;
  }
  char *at(size_t offset) const { return static_cast<char *>(ptr) + offset; }
  ~Scratch() {
    if (ptr)
      lathe_cuda_free(ptr);
  }
};

void launchGrid(const char *kernel, int64_t n, void *param) {
  CUfunction fn = ownKernel(kernel);
  if (!fn)
    return;
  Launch l = gridStrideLaunch(n);
  void *params[] = {param};
  launch("memred", fn, l.grid, l.block, params);
}

/// Marks the kept tokens of `p` (scores, or the random policy's
/// priorities), with scratch for p.heads x p.lq query rows and p.n tokens.
bool selectTokens(SelectParams &p, Scratch &scratch, const char *what) {
  int64_t rows = p.heads * p.lq;
  size_t rowBytes = size_t(rows) * 16, tokenBytes = size_t(p.n) * 16;
  if (!scratch.make(rowBytes + tokenBytes, what))
    return false;
  p.rowSum = reinterpret_cast<double *>(scratch.at(0));
  p.rowMax = reinterpret_cast<float *>(scratch.at(size_t(rows) * 8));
  p.total = reinterpret_cast<double *>(scratch.at(rowBytes));
  p.kept =
      reinterpret_cast<unsigned char *>(scratch.at(rowBytes + size_t(p.n) * 8));
  if (!p.random) {
    launchGrid("lathe_memred_row_stats", rows, &p);
    launchGrid("lathe_memred_scores", p.n, &p);
  }
  launchGrid("lathe_memred_select", p.n, &p);
  return true;
}

void compact(CompactParams &p) { launchGrid("lathe_memred_compact", p.c, &p); }

void copyRows(const float *src, int64_t sRow, int64_t sCol, float *dst,
              int64_t dRow, int64_t dCol, int64_t rows, int64_t c) {
  CUfunction fn = ownKernel("lathe_memred_copy_rows");
  if (!fn || rows * c == 0)
    return;
  Launch l = gridStrideLaunch(rows * c);
  void *params[] = {&src, &sRow, &sCol, &dst, &dRow, &dCol, &rows, &c};
  launch("memred", fn, l.grid, l.block, params);
}

/// The queries [Lq, D] or [H, Lq, D] of a selection.
void setQueries(SelectParams &p, const Ref &q) {
  int64_t r = q.rank;
  p.q = q.as<float>();
  p.heads = r == 3 ? q.size(0) : 1;
  p.qHead = r == 3 ? q.stride(0) : 0;
  p.lq = q.size(r - 2);
  p.qRow = q.stride(r - 2);
  p.d = q.size(r - 1);
  p.qCol = q.stride(r - 1);
}

void crossModalReduce(int64_t rankQ, void *qDesc, int64_t rankK, void *kDesc,
                      int64_t rankT, void *tDesc, int64_t rankO, void *oDesc,
                      double recent, double keep, float scale) {
  const std::string name = "cross-modal reduce";
  auto fail = [&](const std::string &why) { setPending(name + ": " + why); };
  Ref q = ref(rankQ, qDesc, 4), k = ref(rankK, kDesc, 4),
      t = ref(rankT, tDesc, 4), o = ref(rankO, oDesc, 4);
  if (q.rank != 3 || k.rank != 3 || t.rank != 2 || o.rank != 2 ||
      k.size(0) != q.size(0) || k.size(2) != q.size(2) ||
      k.size(1) != t.size(0) || o.size(1) != t.size(1))
    return fail("expects queries [H, Lq, D], keys [H, N, D], tokens [N, C], "
                "out [M, C], got " +
                shapeOf(q) + ", " + shapeOf(k) + ", " + shapeOf(t) + ", " +
                shapeOf(o));
  int64_t n = t.size(0), c = t.size(1);
  int64_t m = keptCount(n, recent, keep);
  if (m < 0)
    return fail(fractionsMessage(recent, keep));
  if (o.size(0) != m)
    return fail("keeps " + std::to_string(m) + " of " + std::to_string(n) +
                " tokens but the output has " + std::to_string(o.size(0)) +
                " rows");
  if (n == 0 || c == 0)
    return;
  SelectParams p;
  setQueries(p, q);
  p.kb = k.as<float>();
  p.kbHead = k.stride(0);
  p.kbRow = k.stride(1);
  p.kbCol = k.stride(2);
  p.n = n;
  p.scale = scale;
  p.older = n - recentCount(n, recent);
  p.keepCount = m - recentCount(n, recent);
  Scratch scratch;
  if (!selectTokens(p, scratch, "cross-modal reduce"))
    return;
  CompactParams cp;
  cp.src.b = t.as<float>();
  cp.src.bRow = t.stride(0);
  cp.src.bCol = t.stride(1);
  cp.dst = o.as<float>();
  cp.dRow = o.stride(0);
  cp.dCol = o.stride(1);
  cp.n = n;
  cp.c = c;
  cp.kept = p.kept;
  compact(cp);
}

/// The rows of `bank` below `count` followed by the frame's, as tokens.
TokenRows bankTokens(const Ref &b, const Ref &f, int64_t count) {
  TokenRows rows;
  rows.a = b.as<float>();
  rows.aRow = b.stride(0);
  rows.aCol = b.stride(1);
  rows.b = f.as<float>();
  rows.bRow = f.stride(0);
  rows.bCol = f.stride(1);
  rows.split = count;
  return rows;
}

/// The merge policy: the frame copied to scratch (every row writable), then
/// one block merges (MemRedKernels.cu).
void mergeRows(const Ref &b, const Ref &f, int64_t count, int64_t n,
               int64_t m) {
  int64_t c = b.size(1), frameRows = f.size(0);
  Scratch scratch;
  if (!scratch.make(size_t(24 * n + 4 * frameRows * c), "bank append"))
    return;
  MergeParams p;
  p.bank = b.as<float>();
  p.bRow = b.stride(0);
  p.bCol = b.stride(1);
  p.sim = reinterpret_cast<double *>(scratch.at(0));
  p.next = reinterpret_cast<int64_t *>(scratch.at(8 * n));
  p.prev = reinterpret_cast<int64_t *>(scratch.at(16 * n));
  p.copy = reinterpret_cast<float *>(scratch.at(24 * n));
  p.count = count;
  p.n = n;
  p.m = m;
  p.c = c;
  copyRows(f.as<float>(), f.stride(0), f.stride(1), p.copy, c, 1, frameRows, c);
  CUfunction fn = ownKernel("lathe_memred_merge");
  if (!fn)
    return;
  void *params[] = {&p};
  launch("memred", fn, 1, kMergeThreads, params);
}

int64_t bankAppend(int64_t rankF, void *fDesc, int64_t rankQ, void *qDesc,
                   int64_t rankB, void *bDesc, int64_t count, double recent,
                   double keep, float scale, int64_t policy, int64_t seed,
                   int64_t step) {
  const std::string name = "bank append";
  auto fail = [&](const std::string &why) {
    setPending(name + ": " + why);
    return count;
  };
  Ref f = ref(rankF, fDesc, 4), q = ref(rankQ, qDesc, 4),
      b = ref(rankB, bDesc, 4);
  if (b.rank != 2 || f.rank != 2 || (q.rank != 2 && q.rank != 3) ||
      f.size(1) != b.size(1))
    return fail("expects frame [F, C], queries [Lq, D] or [H, Lq, D] and bank "
                "[capacity, C], got " +
                shapeOf(f) + ", " + shapeOf(q) + ", " + shapeOf(b));
  int64_t cap = b.size(0), c = b.size(1), frameRows = f.size(0);
  SelectParams p;
  setQueries(p, q);
  if (p.heads * p.d > c)
    return fail("queries " + shapeOf(q) + " need keys of " +
                std::to_string(p.heads * p.d) +
                " columns, but bank rows have " + std::to_string(c));
  if (count < 0 || count > cap)
    return fail("count " + std::to_string(count) + " is outside [0, capacity " +
                std::to_string(cap) + "]");
  int64_t n = count + frameRows;
  if (n <= cap) {
    copyRows(f.as<float>(), f.stride(0), f.stride(1),
             b.as<float>() + count * b.stride(0), b.stride(0), b.stride(1),
             frameRows, c);
    return n;
  }
  int64_t m = keptCount(n, recent, keep);
  if (m < 0)
    return fail(fractionsMessage(recent, keep));
  if (m > cap)
    return fail("keeps " + std::to_string(m) + " of " + std::to_string(n) +
                " rows, more than the capacity " + std::to_string(cap));
  if (policy < kPolicyAdaCM2 || policy > kPolicyMerge)
    return fail("unknown policy " + std::to_string(policy) +
                " (0 adacm2, 1 recent, 2 random, 3 merge)");
  if (c == 0)
    return m;
  if (policy == kPolicyMerge) {
    mergeRows(b, f, count, n, m);
    return m;
  }
  CompactParams cp;
  cp.src = bankTokens(b, f, count);
  cp.dst = b.as<float>();
  cp.dRow = b.stride(0);
  cp.dCol = b.stride(1);
  cp.n = n;
  cp.c = c;
  Scratch scratch;
  if (policy == kPolicyRecent) {
    // The newest m rows to the front.
    cp.firstKept = n - m;
    compact(cp);
    return m;
  }
  // Row j's key for head h: columns [h·D, (h+1)·D) of its row.
  TokenRows rows = bankTokens(b, f, count);
  p.ka = rows.a;
  p.kaRow = rows.aRow;
  p.kaCol = rows.aCol;
  p.kaHead = p.d * rows.aCol;
  p.kb = rows.b;
  p.kbRow = rows.bRow;
  p.kbCol = rows.bCol;
  p.kbHead = p.d * rows.bCol;
  p.split = count;
  p.n = n;
  p.scale = scale;
  p.older = n - recentCount(n, recent);
  p.keepCount = m - recentCount(n, recent);
  p.random = policy == kPolicyRandom;
  p.key = randomKey(seed, step);
  if (!selectTokens(p, scratch, "bank append"))
    return m;
  cp.kept = p.kept;
  compact(cp);
  return m;
}

} // namespace

extern "C" void lathe_cuda_cross_modal_reduce_f32(int64_t rankQ, void *queries,
                                                  int64_t rankK, void *keys,
                                                  int64_t rankT, void *tokens,
                                                  int64_t rankO, void *out,
                                                  double recent, double keep,
                                                  float scale) {
  crossModalReduce(rankQ, queries, rankK, keys, rankT, tokens, rankO, out,
                   recent, keep, scale);
}

extern "C" int64_t lathe_cuda_bank_append_policy_f32(
    int64_t rankF, void *frame, int64_t rankQ, void *queries, int64_t rankB,
    void *bank, int64_t count, double recent, double keep, float scale,
    int64_t policy, int64_t seed, int64_t step) {
  return bankAppend(rankF, frame, rankQ, queries, rankB, bank, count, recent,
                    keep, scale, policy, seed, step);
}
