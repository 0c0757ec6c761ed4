//===- MemRedParams.h - Parameter blocks of the memred kernels ------------===//
//
// Shared by MemRedKernels.cu (device) and MemRedKernels.cpp (host): what the
// cross-modal reduction and memory-bank kernels take by value. Plain C++ (no
// CUDA header). Strides are in elements.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_CUDA_MEMREDPARAMS_H
#define LATHE_RUNTIME_CUDA_MEMREDPARAMS_H

#include <stdint.h>

namespace lathe_cuda {

/// Token rows of two buffers seen as one sequence: token j is row j of `a`
/// when j < split, else row j - split of `b` (a bank's valid rows followed
/// by a frame; a cross-modal reduction's tokens alone, split = 0).
struct TokenRows {
  float *a = nullptr;
  int64_t aRow = 0, aCol = 0;
  const float *b = nullptr;
  int64_t bRow = 0, bCol = 0;
  int64_t split = 0;
};

/// AdaCM²'s scores and the selection of the rows kept.
struct SelectParams {
  /// Queries [H, Lq, D] (a rank-2 query is one head: qHead = 0).
  const float *q = nullptr;
  int64_t qHead = 0, qRow = 0, qCol = 0;
  int64_t heads = 0, lq = 0, d = 0;
  /// Token j's key for head h, element e: j < split ? ka + j * kaRow +
  /// h * kaHead + e * kaCol : kb + (j - split) * kbRow + ...
  const float *ka = nullptr;
  int64_t kaRow = 0, kaHead = 0, kaCol = 0;
  const float *kb = nullptr;
  int64_t kbRow = 0, kbHead = 0, kbCol = 0;
  int64_t split = 0;
  int64_t n = 0; ///< tokens
  float scale = 1.f;
  /// The older tokens [0, older) compete for keepCount slots; the newer
  /// ones are kept.
  int64_t older = 0, keepCount = 0;
  int random = 0;   ///< 1: splitmix64 priorities keyed by `key`, no scores
  uint64_t key = 0; ///< lathe::bank_select::randomKey(seed, step)
  /// Scratch: per query row (h, i) the score maximum and the sum of
  /// exponentials; per token its total score and kept flag.
  float *rowMax = nullptr;
  double *rowSum = nullptr;
  double *total = nullptr;
  unsigned char *kept = nullptr;
};

/// Kept tokens to the front of `dst`, in order (token j lands at row
/// out <= j, so a bank compacts in place). Kept: kept[j] != 0, or
/// j >= firstKept without flags.
struct CompactParams {
  TokenRows src;
  float *dst = nullptr;
  int64_t dRow = 0, dCol = 0;
  int64_t n = 0, c = 0;
  const unsigned char *kept = nullptr;
  int64_t firstKept = 0;
};

/// The merge policy (MA-LMM): the most cosine-similar adjacent pair
/// averaged into the older row until `m` rows remain, then the survivors to
/// the front of the bank. Rows below `count` are the bank's; the frame's are
/// a dense copy (`copy`, [F, c]) so that every row is writable.
struct MergeParams {
  float *bank = nullptr;
  int64_t bRow = 0, bCol = 0;
  float *copy = nullptr;
  int64_t count = 0, n = 0, m = 0, c = 0;
  double *sim = nullptr; ///< sim[j]: row j against the row after it
  int64_t *next = nullptr, *prev = nullptr;
};

/// Threads of the merge kernel's one block.
constexpr unsigned kMergeThreads = 256;

} // namespace lathe_cuda

#endif // LATHE_RUNTIME_CUDA_MEMREDPARAMS_H
