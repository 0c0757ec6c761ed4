//===- SpMM.cpp - Sparse graph aggregation kernels (sparsegcn) ------------===//
//
// y = A x with A in CSR form, two ways:
// - lathe_rt_spmm_csr_f32: rows split over threads (parallelRows: one
//   contiguous segment per thread), each row's non-zeros accumulated into a
//   register block of up to 128 feature columns (AVX-512 where the CPU has
//   it: target_clones picks the variant at load time; see csrMode for the
//   streamed stores and the blocked columns of large operands);
// - lathe_rt_spmm_tiled_f32 (H-GCN): a "plan" built once per constant
//   adjacency holds the non-zeros of sparse tiles as a filtered CSR and the
//   dense tiles gathered into dense row-major blocks (consecutive dense tiles
//   of a tile row form one block); each tile row then runs the CSR kernel on
//   its sparse part and one oneDNN sgemm (beta = 1) per dense block. Empty
//   tiles appear in neither. A plan without dense tiles runs exactly the
//   first kernel's loop and schedule (runCsr) on its copy of the non-zeros.
//
// Threads: the runtime's pool (Parallel.h) rather than OpenMP's fork-join.
// Inside a job, oneDNN's sgemm runs single-threaded on each thread (through
// libgomp's per-thread setting), so the two never oversubscribe the cores.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/Sparse.h"

#include "lathe/runtime/GraphOrder.h"
#include "lathe/runtime/RowGroups.h"

#include "Parallel.h"
#include "Session.h"

#include <oneapi/dnnl/dnnl.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <vector>

using namespace lathe::rt;

namespace {

//===----------------------------------------------------------------------===//
// Descriptors of any element type
//===----------------------------------------------------------------------===//

struct AnyView {
  char *data = nullptr;
  int64_t rank = 0;
  int64_t sizes[LATHE_MAX_RANK] = {};
  int64_t strides[LATHE_MAX_RANK] = {};
};

AnyView decodeAny(int64_t rank, void *descriptor, size_t elementSize,
                  const char *what) {
  if (!descriptor)
    fail(LATHE_ERR_INVALID, what, ": null memref descriptor");
  if (rank < 0 || rank > LATHE_MAX_RANK)
    fail(LATHE_ERR_SHAPE, what, ": unsupported rank ", rank);
  struct Header {
    void *allocated;
    void *aligned;
    int64_t offset;
  };
  auto *header = static_cast<Header *>(descriptor);
  auto *rest = reinterpret_cast<int64_t *>(static_cast<char *>(descriptor) +
                                           sizeof(Header));
  AnyView view;
  view.rank = rank;
  view.data = static_cast<char *>(header->aligned) +
              header->offset * static_cast<int64_t>(elementSize);
  for (int64_t i = 0; i < rank; ++i) {
    view.sizes[i] = rest[i];
    view.strides[i] = rest[rank + i];
    if (view.sizes[i] < 0)
      fail(LATHE_ERR_SHAPE, what, ": negative size ", view.sizes[i]);
  }
  return view;
}

/// A rank-1 operand as a contiguous array (copied when strided).
template <typename T> class Array1D {
public:
  /// A view of `n` contiguous elements owned by someone else.
  Array1D(const T *data, int64_t n) : ptr(data), size(n) {}
  Array1D(int64_t rank, void *descriptor, const char *what) {
    AnyView v = decodeAny(rank, descriptor, sizeof(T), what);
    if (v.rank != 1)
      fail(LATHE_ERR_SHAPE, what, ": expected rank 1, got rank ", v.rank);
    size = v.sizes[0];
    if (v.strides[0] == 1 || size <= 1) {
      ptr = reinterpret_cast<const T *>(v.data);
      return;
    }
    copy.resize(static_cast<size_t>(size));
    for (int64_t i = 0; i < size; ++i)
      copy[i] = reinterpret_cast<const T *>(v.data)[i * v.strides[0]];
    ptr = copy.data();
  }
  const T *ptr = nullptr;
  int64_t size = 0;

private:
  std::vector<T> copy;
};

/// A rank-2 f32 operand with unit column stride (staged otherwise).
struct Matrix {
  float *data = nullptr;
  int64_t rows = 0, cols = 0, ld = 0;
};

Matrix decodeMatrix(int64_t rank, void *descriptor, const char *what,
                    ScratchBuffer &staging, bool copyIn) {
  AnyView v = decodeAny(rank, descriptor, sizeof(float), what);
  if (v.rank != 2)
    fail(LATHE_ERR_SHAPE, what, ": expected a rank-2 matrix, got rank ",
         v.rank);
  Matrix m{reinterpret_cast<float *>(v.data), v.sizes[0], v.sizes[1],
           v.strides[0]};
  if (v.strides[1] == 1 && (v.strides[0] >= v.sizes[1] || v.sizes[0] <= 1)) {
    m.ld = std::max<int64_t>(v.strides[0], v.sizes[1]);
    return m;
  }
  staging =
      ScratchBuffer(static_cast<size_t>(std::max<int64_t>(1, m.rows * m.cols)) *
                    sizeof(float));
  float *dense = staging.floats();
  if (copyIn)
    for (int64_t i = 0; i < m.rows; ++i)
      for (int64_t j = 0; j < m.cols; ++j)
        dense[i * m.cols + j] = m.data[i * v.strides[0] + j * v.strides[1]];
  m.data = dense;
  m.ld = m.cols;
  return m;
}

/// Copies a staged output back into the strided destination view.
void copyOut(const Matrix &staged, int64_t rank, void *descriptor) {
  AnyView v = decodeAny(rank, descriptor, sizeof(float), "y");
  auto *dst = reinterpret_cast<float *>(v.data);
  if (dst == staged.data)
    return;
  for (int64_t i = 0; i < staged.rows; ++i)
    for (int64_t j = 0; j < staged.cols; ++j)
      dst[i * v.strides[0] + j * v.strides[1]] = staged.data[i * staged.ld + j];
}

//===----------------------------------------------------------------------===//
// The CSR row kernel
//===----------------------------------------------------------------------===//

#define LATHE_ALWAYS_INLINE inline __attribute__((always_inline))

/// y[i, f0:f0+W] = sum_k v_k x[c_k, f0:f0+W] with W a compile-time width, so
/// the accumulators live in registers. U independent accumulator sets take
/// consecutive non-zeros in turn: with one set, every non-zero's FMAs wait
/// for the previous non-zero's (4 cycles of FMA latency), which capped the
/// kernel at a third of the core's FMA throughput at every width.
/// With `stream`, blocks of 16 or more columns that start on a cache line
/// are written with non-temporal stores (see csrMode).
template <int W, int U, typename Index>
LATHE_ALWAYS_INLINE void
csrRowBlock(int64_t begin, int64_t end, const Index *colIdx, const float *vals,
            const float *x, int64_t ldx, float *yRow, int64_t f0, bool stream) {
  float acc[U][W];
  for (int u = 0; u < U; ++u)
    for (int j = 0; j < W; ++j)
      acc[u][j] = 0.f;
  int64_t k = begin;
  for (; k + U <= end; k += U) {
    for (int u = 0; u < U; ++u) {
      const float v = vals[k + u];
      const float *xr = x + static_cast<int64_t>(colIdx[k + u]) * ldx + f0;
      for (int j = 0; j < W; ++j)
        acc[u][j] += v * xr[j];
    }
  }
  for (; k < end; ++k) {     // Fewer than U left: a constant index keeps acc
    const float v = vals[k]; // in registers.
    const float *xr = x + static_cast<int64_t>(colIdx[k]) * ldx + f0;
    for (int j = 0; j < W; ++j)
      acc[0][j] += v * xr[j];
  }
  if constexpr (W >= 16) {
    if (stream && (reinterpret_cast<uintptr_t>(yRow + f0) & 63) == 0) {
      typedef float Line __attribute__((vector_size(64)));
      for (int j0 = 0; j0 < W; j0 += 16) {
        Line line;
        for (int j = 0; j < 16; ++j) {
          float sum = acc[0][j0 + j];
          for (int u = 1; u < U; ++u)
            sum += acc[u][j0 + j];
          line[j] = sum;
        }
        __builtin_nontemporal_store(line,
                                    reinterpret_cast<Line *>(yRow + f0 + j0));
      }
      return;
    }
  }
  for (int j = 0; j < W; ++j) {
    float sum = acc[0][j];
    for (int u = 1; u < U; ++u)
      sum += acc[u][j];
    yRow[f0 + j] = sum;
  }
}

inline bool hasAvx512() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return has;
}

/// How the CSR kernel runs over a range of rows (csrMode).
enum CsrMode : unsigned {
  /// y is written with non-temporal stores (see csrMode).
  kCsrStream = 1,
  /// Feature columns in blocks of kCsrColumnBlock over runs of
  /// kCsrBlockRows rows (see csrMode).
  kCsrBlockColumns = 2,
};
constexpr int64_t kCsrColumnBlock = 64, kCsrBlockRows = 64;

/// Columns [f0, f1) of one row of y: register blocks of 128 (AVX-512), 64,
/// 32, 16, 4 and 1 columns.
template <typename Index>
LATHE_ALWAYS_INLINE void csrRowColumns(int64_t begin, int64_t end,
                                       const Index *colIdx, const float *vals,
                                       const float *x, int64_t ldx, float *yRow,
                                       int64_t f0, int64_t f1, bool stream) {
  // 128 columns (16 zmm accumulators) where the CPU has AVX-512: half the
  // passes over the row's indices; 7-10 % less CPU time per call on
  // bcsstk13 (42 non-zeros a row) at F = 128 and 256, +-2 % on Cora and
  // PubMed. AVX2's 16 registers would spill them.
  if (hasAvx512())
    for (; f0 + 128 <= f1; f0 += 128)
      csrRowBlock<128, 2>(begin, end, colIdx, vals, x, ldx, yRow, f0, stream);
  for (; f0 + 64 <= f1; f0 += 64)
    csrRowBlock<64, 2>(begin, end, colIdx, vals, x, ldx, yRow, f0, stream);
  for (; f0 + 32 <= f1; f0 += 32)
    csrRowBlock<32, 4>(begin, end, colIdx, vals, x, ldx, yRow, f0, stream);
  for (; f0 + 16 <= f1; f0 += 16)
    csrRowBlock<16, 4>(begin, end, colIdx, vals, x, ldx, yRow, f0, stream);
  for (; f0 + 4 <= f1; f0 += 4)
    csrRowBlock<4, 4>(begin, end, colIdx, vals, x, ldx, yRow, f0, stream);
  for (; f0 < f1; ++f0)
    csrRowBlock<1, 4>(begin, end, colIdx, vals, x, ldx, yRow, f0, stream);
}

/// Rows [r0, r1) of y = A x.
template <typename Index>
LATHE_ALWAYS_INLINE void
csrRowsImpl(const Index *rowPtr, const Index *colIdx, const float *vals,
            const float *x, int64_t ldx, float *y, int64_t ldy, int64_t f,
            int64_t r0, int64_t r1, bool stream = false) {
  for (int64_t i = r0; i < r1; ++i)
    csrRowColumns(int64_t(rowPtr[i]), int64_t(rowPtr[i + 1]), colIdx, vals, x,
                  ldx, y + i * ldy, 0, f, stream);
}

/// Rows [r0, r1) of y = A x, the columns in blocks of kCsrColumnBlock over
/// runs of kCsrBlockRows rows (kCsrBlockColumns).
template <typename Index>
LATHE_ALWAYS_INLINE void
csrRowsBlockedImpl(const Index *rowPtr, const Index *colIdx, const float *vals,
                   const float *x, int64_t ldx, float *y, int64_t ldy,
                   int64_t f, int64_t r0, int64_t r1, bool stream) {
  for (int64_t b0 = r0; b0 < r1; b0 += kCsrBlockRows) {
    const int64_t b1 = std::min(r1, b0 + kCsrBlockRows);
    for (int64_t f0 = 0; f0 < f; f0 += kCsrColumnBlock)
      for (int64_t i = b0; i < b1; ++i)
        csrRowColumns(int64_t(rowPtr[i]), int64_t(rowPtr[i + 1]), colIdx, vals,
                      x, ldx, y + i * ldy, f0,
                      std::min(f, f0 + kCsrColumnBlock), stream);
  }
}

// One function per loop and index type: with the blocked loop in the same
// function, the plain loop ran 1.3-1.4x slower on CiteSeer and Cora at F = 16
// (one thread, CPU time), whose rows hold 1-4 non-zeros.
__attribute__((target_clones("avx512f", "avx2", "default"))) void
csrRows32(const int32_t *rowPtr, const int32_t *colIdx, const float *vals,
          const float *x, int64_t ldx, float *y, int64_t ldy, int64_t f,
          int64_t r0, int64_t r1, bool stream) {
  csrRowsImpl(rowPtr, colIdx, vals, x, ldx, y, ldy, f, r0, r1, stream);
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void
csrRows64(const int64_t *rowPtr, const int64_t *colIdx, const float *vals,
          const float *x, int64_t ldx, float *y, int64_t ldy, int64_t f,
          int64_t r0, int64_t r1, bool stream) {
  csrRowsImpl(rowPtr, colIdx, vals, x, ldx, y, ldy, f, r0, r1, stream);
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void
csrRowsBlocked32(const int32_t *rowPtr, const int32_t *colIdx,
                 const float *vals, const float *x, int64_t ldx, float *y,
                 int64_t ldy, int64_t f, int64_t r0, int64_t r1, bool stream) {
  csrRowsBlockedImpl(rowPtr, colIdx, vals, x, ldx, y, ldy, f, r0, r1, stream);
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void
csrRowsBlocked64(const int64_t *rowPtr, const int64_t *colIdx,
                 const float *vals, const float *x, int64_t ldx, float *y,
                 int64_t ldy, int64_t f, int64_t r0, int64_t r1, bool stream) {
  csrRowsBlockedImpl(rowPtr, colIdx, vals, x, ldx, y, ldy, f, r0, r1, stream);
}

/// Rows [r0, r1) through the CPU's variant of the CSR kernel, in the CsrMode
/// `mode`. With kCsrStream, the stores are made visible before returning
/// (non-temporal stores are weakly ordered, and the job's end is published
/// after it).
void csrRows(const int32_t *rowPtr, const int32_t *colIdx, const float *vals,
             const float *x, int64_t ldx, float *y, int64_t ldy, int64_t f,
             int64_t r0, int64_t r1, unsigned mode = 0) {
  const bool stream = mode & kCsrStream;
  if ((mode & kCsrBlockColumns) && f > kCsrColumnBlock)
    csrRowsBlocked32(rowPtr, colIdx, vals, x, ldx, y, ldy, f, r0, r1, stream);
  else
    csrRows32(rowPtr, colIdx, vals, x, ldx, y, ldy, f, r0, r1, stream);
  if (stream)
    __builtin_ia32_sfence();
}
void csrRows(const int64_t *rowPtr, const int64_t *colIdx, const float *vals,
             const float *x, int64_t ldx, float *y, int64_t ldy, int64_t f,
             int64_t r0, int64_t r1, unsigned mode = 0) {
  const bool stream = mode & kCsrStream;
  if ((mode & kCsrBlockColumns) && f > kCsrColumnBlock)
    csrRowsBlocked64(rowPtr, colIdx, vals, x, ldx, y, ldy, f, r0, r1, stream);
  else
    csrRows64(rowPtr, colIdx, vals, x, ldx, y, ldy, f, r0, r1, stream);
  if (stream)
    __builtin_ia32_sfence();
}

/// A core's L2 cache in bytes (sysconf; 2 MiB when it does not say).
int64_t l2Bytes() {
  static const int64_t l2 = [] {
    long bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return bytes > 0 ? int64_t(bytes) : int64_t(2) << 20;
  }();
  return l2;
}

/// The CSR kernel's mode for y = A x with A [rows x cols] and F = f.
///
/// kCsrStream when y is larger than a core's L2 cache: its lines would be
/// evicted before anyone reads them, and ordinary stores first read each line
/// they write (read for ownership). Measured on the CSR kernel (one thread,
/// CPU time per call, interleaved in one process, load average 19):
/// 1.14-1.17x faster on PubMed at F = 64 (y 5 MB), 1.26-1.28x at F = 256
/// (20 MB), 1.16-1.28x on Cora and CiteSeer at F = 256 (2.8-3.4 MB);
/// 0.84-0.85x on them at F = 64 (y in the L2) and 0.98x on PubMed at F = 16
/// (1.3 MB), where they are not used.
///
/// kCsrBlockColumns when F > 64 and x is larger than the L2 cache: runs of
/// 64 rows take the columns 64 at a time, so that the rows of x a run reads
/// (a few hundred, 256 bytes each) stay in the L2 while the run's next
/// columns need their neighbouring lines. One thread, CPU time per call,
/// best of 9 interleaved batches, load average 7: 1.16x faster on PubMed at
/// F = 256 (x 20 MB), 1.04-1.08x on Cora and CiteSeer at F = 256 (2.8-3.4
/// MB), the same on PubMed at F = 64 (not blocked); 0.85x and 0.88x on
/// jagmesh7 and bcsstk13 at F = 256, whose x (1.2 and 2.0 MB) fits the L2,
/// where it is not used. Runs of 16 rows gained 1.13x on PubMed, of 32 1.15x.
unsigned csrMode(int64_t rows, int64_t cols, int64_t f) {
  const int64_t bytes = int64_t(sizeof(float)) * f;
  return (rows * bytes > l2Bytes() ? kCsrStream : 0u) |
         (f > kCsrColumnBlock && cols * bytes > l2Bytes() ? kCsrBlockColumns
                                                          : 0u);
}

//===----------------------------------------------------------------------===//
// The micro-tile engine (LATHE_SPMM_MICRO)
//===----------------------------------------------------------------------===//

/// Four rows of y, columns [f0, f0+W): the tile row's dense 4 x 4 blocks
/// (row-major, block b at blockVals + 16 b, first column blockCol[b]), then
/// each row's remaining non-zeros (the filtered CSR). Per block, each of its
/// four rows of x is loaded once and used by four FMAs (one per row of the
/// block), where the CSR kernel loads a row of x once per non-zero; the 4 x W
/// accumulators stay in registers across blocks and CSR non-zeros, and y is
/// written once.
/// Vectors of 16, 8 and 4 floats (GCC/Clang vector extensions): written
/// once, lowered to zmm, ymm or xmm registers by each variant's target.
typedef float Vec16 __attribute__((vector_size(64), aligned(4)));
typedef float Vec8 __attribute__((vector_size(32), aligned(4)));
typedef float Vec4 __attribute__((vector_size(16), aligned(4)));

template <typename V> LATHE_ALWAYS_INLINE V loadVec(const float *p) {
  V v;
  __builtin_memcpy(&v, p, sizeof(V));
  return v;
}

/// Columns [0, f) of a register-blocked engine, widest block first: NV
/// vectors of V (the variant's widest) per row, then one V, then narrower
/// vectors and single columns; block.template run<W, N>(f0) computes the
/// columns [f0, f0 + N * lanes(W)) and returns whether a sum is NaN or Inf.
/// `Block` is a struct rather than a lambda: a lambda's body would not
/// inherit the calling variant's target attribute, an always-inline member
/// is compiled inside it.
template <typename V, int NV, typename Block>
LATHE_ALWAYS_INLINE bool columnBlocks(int64_t f, const Block &block) {
  constexpr int L = sizeof(V) / sizeof(float);
  int64_t f0 = 0;
  bool bad = false;
  for (; f0 + NV * L <= f; f0 += NV * L)
    bad |= block.template run<V, NV>(f0);
  if constexpr (NV > 1)
    for (; f0 + L <= f; f0 += L)
      bad |= block.template run<V, 1>(f0);
  if constexpr (L > 8)
    for (; f0 + 8 <= f; f0 += 8)
      bad |= block.template run<Vec8, 1>(f0);
  if constexpr (L > 4)
    for (; f0 + 4 <= f; f0 += 4)
      bad |= block.template run<Vec4, 1>(f0);
  for (; f0 < f; ++f0)
    bad |= block.template run<float, 1>(f0);
  return bad;
}

/// Adds the tile row's dense 4 x 4 blocks (row-major, block b at blockVals +
/// 16 b, first column blockCol[b]) to four rows of y, columns [f0, f0 + NV *
/// lanes(V)), which hold the CSR kernel's sum over the rows' other
/// non-zeros. Per block, each of its four rows of x is loaded once and used
/// by four FMAs (one per row of the block), where the CSR kernel loads a row
/// of x once per non-zero. Returns whether a sum is NaN or Inf. Explicit
/// vectors: written as loops over scalars, the compiler unrolled them into
/// scalar FMAs. (The rest was first summed here too, interleaving the four
/// rows; at F = 16 that ran 1.3x slower than the CSR kernel's own loop.)
template <typename V, int NV>
LATHE_ALWAYS_INLINE bool
microRowBlock(const int32_t *blockCol, const float *blockVals, int64_t nb,
              int64_t r0, int64_t rows, const float *x, int64_t ldx, float *y,
              int64_t ldy, int64_t f0) {
  constexpr int B = LATHE_SPMM_MICRO_TILE;
  constexpr int L = sizeof(V) / sizeof(float);
  // With one vector per row, a block's four FMAs into a row would wait for
  // each other (4 cycles of latency each): two sets take even and odd
  // columns of the block (and alternate non-zeros of the CSR rest).
  constexpr int S = NV == 1 ? 2 : 1;
  V acc[S][B][NV];
  for (int i = 0; i < B; ++i)
    for (int v = 0; v < NV; ++v) {
      acc[0][i][v] =
          i < rows ? loadVec<V>(y + (r0 + i) * ldy + f0 + v * L) : V{} * 0.f;
      if constexpr (S > 1)
        acc[1][i][v] = V{} * 0.f;
    }
  for (int64_t b = 0; b < nb; ++b) {
    const float *a = blockVals + b * B * B;
    const float *xb = x + static_cast<int64_t>(blockCol[b]) * ldx + f0;
    for (int c = 0; c < B; ++c) {
      V xv[NV];
      for (int v = 0; v < NV; ++v)
        xv[v] = loadVec<V>(xb + c * ldx + v * L);
      for (int i = 0; i < B; ++i) {
        const float s = a[i * B + c];
        for (int v = 0; v < NV; ++v)
          acc[c % S][i][v] += s * xv[v];
      }
    }
  }
  // NaN or Inf in a sum (x - x is then NaN, which compares unequal to 0).
  V bad = V{} * 0.f;
  for (int i = 0; i < B; ++i) {
    if (i >= rows)
      break;
    for (int v = 0; v < NV; ++v) {
      V sum = acc[0][i][v];
      if constexpr (S > 1)
        sum += acc[1][i][v];
      bad += sum - sum;
      __builtin_memcpy(y + (r0 + i) * ldy + f0 + v * L, &sum, sizeof(V));
    }
  }
  float lanes[L];
  __builtin_memcpy(lanes, &bad, sizeof(V));
  bool nonFinite = false;
  for (int l = 0; l < L; ++l)
    nonFinite |= lanes[l] != 0.f;
  return nonFinite;
}

/// The operands of the micro-tile engine on one plan.
struct MicroArgs {
  const int32_t *blockPtr, *blockCol;
  const float *blockVals;
  const int32_t *rowPtr, *colIdx;
  const float *vals;
  const float *x;
  int64_t ldx;
  float *y;
  int64_t ldy, f, numRows;
  /// Per tile row: set when a sum of the kernel is NaN or Inf.
  char *nonFinite;
};

/// One tile row's blocks for columnBlocks.
struct MicroBlock {
  const MicroArgs &m;
  const int32_t *blockCol;
  const float *blockVals;
  int64_t nb, r0, rows;
  template <typename V, int NV> LATHE_ALWAYS_INLINE bool run(int64_t f0) const {
    return microRowBlock<V, NV>(blockCol, blockVals, nb, r0, rows, m.x, m.ldx,
                                m.y, m.ldy, f0);
  }
};

/// Tile rows [tr0, tr1): the CSR kernel on their rows' filtered non-zeros,
/// then each tile row's blocks (columnBlocks).
template <typename V, int NV>
LATHE_ALWAYS_INLINE void microRowsImpl(const MicroArgs &m, int64_t tr0,
                                       int64_t tr1) {
  constexpr int B = LATHE_SPMM_MICRO_TILE;
  csrRowsImpl(m.rowPtr, m.colIdx, m.vals, m.x, m.ldx, m.y, m.ldy, m.f, tr0 * B,
              std::min(m.numRows, tr1 * B));
  for (int64_t tr = tr0; tr < tr1; ++tr) {
    int64_t r0 = tr * B, rows = std::min<int64_t>(B, m.numRows - r0);
    int64_t b0 = m.blockPtr[tr], nb = m.blockPtr[tr + 1] - b0;
    if (nb == 0)
      continue;
    m.nonFinite[tr] = columnBlocks<V, NV>(
        m.f,
        MicroBlock{m, m.blockCol + b0, m.blockVals + b0 * B * B, nb, r0, rows});
  }
}

// One variant per instruction set, chosen by microIsa() rather than by
// target_clones so that tests can cap it. 4 x 64 floats are 16 zmm
// accumulators (of 32); AVX2 has 16 ymm registers in all, so 4 x 16 (8 ymm)
// leaves room for x and the broadcast block values.
__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))) void
microRowsAvx512(const MicroArgs &m, int64_t tr0, int64_t tr1) {
  microRowsImpl<Vec16, 4>(m, tr0, tr1);
}
__attribute__((target("avx2,fma"))) void
microRowsAvx2(const MicroArgs &m, int64_t tr0, int64_t tr1) {
  microRowsImpl<Vec8, 2>(m, tr0, tr1);
}
void microRowsBaseline(const MicroArgs &m, int64_t tr0, int64_t tr1) {
  microRowsImpl<Vec4, 2>(m, tr0, tr1);
}

std::atomic<int> microIsaCap{-1};

int cpuMicroIsa() {
  static const int isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
      return int(LATHE_SPMM_ISA_AVX512);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return int(LATHE_SPMM_ISA_AVX2);
    return int(LATHE_SPMM_ISA_BASELINE);
  }();
  return isa;
}

int microIsa() {
  int cap = microIsaCap.load(std::memory_order_relaxed);
  return cap < 0 ? cpuMicroIsa() : std::min(cap, cpuMicroIsa());
}

void microRows(int isa, const MicroArgs &m, int64_t tr0, int64_t tr1) {
  if (isa >= LATHE_SPMM_ISA_AVX512)
    return microRowsAvx512(m, tr0, tr1);
  if (isa == LATHE_SPMM_ISA_AVX2)
    return microRowsAvx2(m, tr0, tr1);
  microRowsBaseline(m, tr0, tr1);
}

//===----------------------------------------------------------------------===//
// The row-group engine (LATHE_SPMM_ROW_GROUPS)
//===----------------------------------------------------------------------===//

/// One group of G consecutive rows sharing the column list cols[0, u): the
/// block vals (column-major, G values per column, zeros where a row lacks the
/// column) times the gathered rows of x, columns [f0, f0 + NV * lanes(V)),
/// written to the group's rows of y. Each row of x is loaded once and feeds G
/// FMAs, where the CSR kernel loads it once per row. S accumulator sets take
/// consecutive columns in turn so that at least 8 FMA chains are in flight
/// (4 cycles of latency, 2 FMA ports). Returns whether a sum is NaN or Inf.
template <typename V, int G, int NV>
LATHE_ALWAYS_INLINE bool groupBlock(const int32_t *cols, const float *vals,
                                    int64_t u, const float *x, int64_t ldx,
                                    float *y, int64_t ldy, int64_t f0) {
  constexpr int L = sizeof(V) / sizeof(float);
  constexpr int S = G * NV >= 8 ? 1 : G * NV >= 4 ? 2 : 4;
  V acc[S][G][NV];
  for (int s = 0; s < S; ++s)
    for (int i = 0; i < G; ++i)
      for (int v = 0; v < NV; ++v)
        acc[s][i][v] = V{} * 0.f;
  int64_t k = 0;
  for (; k + S <= u; k += S)
    for (int s = 0; s < S; ++s) {
      const float *xr = x + static_cast<int64_t>(cols[k + s]) * ldx + f0;
      V xv[NV];
      for (int v = 0; v < NV; ++v)
        xv[v] = loadVec<V>(xr + v * L);
      for (int i = 0; i < G; ++i) {
        const float a = vals[(k + s) * G + i];
        for (int v = 0; v < NV; ++v)
          acc[s][i][v] += a * xv[v];
      }
    }
  for (; k < u; ++k) {
    const float *xr = x + static_cast<int64_t>(cols[k]) * ldx + f0;
    for (int i = 0; i < G; ++i) {
      const float a = vals[k * G + i];
      for (int v = 0; v < NV; ++v)
        acc[0][i][v] += a * loadVec<V>(xr + v * L);
    }
  }
  V bad = V{} * 0.f;
  for (int i = 0; i < G; ++i)
    for (int v = 0; v < NV; ++v) {
      V sum = acc[0][i][v];
      for (int s = 1; s < S; ++s)
        sum += acc[s][i][v];
      bad += sum - sum;
      __builtin_memcpy(y + i * ldy + f0 + v * L, &sum, sizeof(V));
    }
  float lanes[L];
  __builtin_memcpy(lanes, &bad, sizeof(V));
  bool nonFinite = false;
  for (int l = 0; l < L; ++l)
    nonFinite |= lanes[l] != 0.f;
  return nonFinite;
}

/// A unit of the row-group plan: `rows` rows from `row0`, either a run of
/// rows for the CSR kernel (group == 0) or one group of `rows` rows whose
/// union of columns is cols [col0, col0 + numCols) with the block at vals
/// [val0, val0 + rows * numCols) and, per column, a mask of the rows that
/// store it (bit i: row row0 + i).
struct GroupUnit {
  int32_t row0, rows, group, full;
  int64_t col0, numCols, val0;
};
// SpMMRowGroups.GroupsFollowTheThreshold counts the plan's bytes.
static_assert(sizeof(GroupUnit) == 40, "a unit is 40 bytes");

/// The operands of the row-group engine on one plan.
struct GroupArgs {
  const GroupUnit *units;
  const int32_t *groupCols;
  const float *groupVals;
  const uint8_t *groupMask;
  const int32_t *rowPtr, *colIdx;
  const float *vals;
  const float *x;
  int64_t ldx;
  float *y;
  int64_t ldy, f;
};

/// One group's block for columnBlocks.
template <int G> struct GroupBlock {
  const GroupArgs &m;
  const int32_t *cols;
  const float *vals;
  int64_t numCols;
  float *y;
  template <typename V, int NV> LATHE_ALWAYS_INLINE bool run(int64_t f0) const {
    return groupBlock<V, G, NV>(cols, vals, numCols, m.x, m.ldx, y, m.ldy, f0);
  }
};

template <typename V, int NV, int G>
LATHE_ALWAYS_INLINE void groupUnitImpl(const GroupArgs &m, const GroupUnit &g) {
  const int32_t *cols = m.groupCols + g.col0;
  const float *vals = m.groupVals + g.val0;
  float *y = m.y + static_cast<int64_t>(g.row0) * m.ldy;
  bool bad =
      columnBlocks<V, NV>(m.f, GroupBlock<G>{m, cols, vals, g.numCols, y});
  // A padded zero times NaN or Inf in x is NaN where the aggregation sums
  // stored entries only: recompute such a group from its stored entries.
  if (!bad || g.full)
    return;
  const uint8_t *mask = m.groupMask + g.col0;
  for (int i = 0; i < G; ++i) {
    float *yr = y + i * m.ldy;
    for (int64_t c = 0; c < m.f; ++c)
      yr[c] = 0.f;
    for (int64_t k = 0; k < g.numCols; ++k) {
      if (!(mask[k] >> i & 1))
        continue;
      const float a = vals[k * G + i];
      const float *xr = m.x + static_cast<int64_t>(cols[k]) * m.ldx;
      for (int64_t c = 0; c < m.f; ++c)
        yr[c] += a * xr[c];
    }
  }
}

/// Units [u0, u1): CSR runs through the CSR kernel, groups through
/// groupUnitImpl at their row count.
template <typename V, int NV>
LATHE_ALWAYS_INLINE void groupRowsImpl(const GroupArgs &m, int64_t u0,
                                       int64_t u1) {
  for (int64_t u = u0; u < u1; ++u) {
    const GroupUnit &g = m.units[u];
    switch (g.group) {
    case 2:
      groupUnitImpl<V, NV, 2>(m, g);
      break;
    case 3:
      groupUnitImpl<V, NV, 3>(m, g);
      break;
    case 4:
      groupUnitImpl<V, NV, 4>(m, g);
      break;
    default:
      csrRowsImpl(m.rowPtr, m.colIdx, m.vals, m.x, m.ldx, m.y, m.ldy, m.f,
                  int64_t(g.row0), int64_t(g.row0) + g.rows);
    }
  }
}

// Variants as for the micro-tile engine: 4 rows x 64 columns are 16 zmm
// accumulators on AVX-512, 4 x 16 are 8 ymm on AVX2.
__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))) void
groupRowsAvx512(const GroupArgs &m, int64_t u0, int64_t u1) {
  groupRowsImpl<Vec16, 4>(m, u0, u1);
}
__attribute__((target("avx2,fma"))) void groupRowsAvx2(const GroupArgs &m,
                                                       int64_t u0, int64_t u1) {
  groupRowsImpl<Vec8, 2>(m, u0, u1);
}
void groupRowsBaseline(const GroupArgs &m, int64_t u0, int64_t u1) {
  groupRowsImpl<Vec4, 2>(m, u0, u1);
}

void groupRows(int isa, const GroupArgs &m, int64_t u0, int64_t u1) {
  if (isa >= LATHE_SPMM_ISA_AVX512)
    return groupRowsAvx512(m, u0, u1);
  if (isa == LATHE_SPMM_ISA_AVX2)
    return groupRowsAvx2(m, u0, u1);
  groupRowsBaseline(m, u0, u1);
}

/// Rows per chunk: enough work per chunk to amortise the hand-out, enough
/// chunks to balance skewed degree distributions.
int64_t rowGrain(int64_t rows, int64_t nnz, int64_t f) {
  int64_t avg = std::max<int64_t>(1, nnz / std::max<int64_t>(1, rows));
  int64_t byWork =
      std::max<int64_t>(1, 16384 / (avg * std::max<int64_t>(1, f)));
  return std::clamp<int64_t>(byWork, 8, std::max<int64_t>(8, rows / 32));
}

//===----------------------------------------------------------------------===//
// Row scheduling
//===----------------------------------------------------------------------===//

/// Rows [front, back) of one thread's segment, claimed from both ends: its
/// thread takes chunks from the front, threads done with their own segment
/// from the back. One per cache line, so that the owner's claims stay in its
/// core's cache.
struct alignas(64) RowSegment {
  std::atomic<uint64_t> range{0}; // front | back << 32
};

/// Claims up to `grain` rows of `segment` from its front or back into
/// [r0, r1); false when it is empty.
bool claimRows(RowSegment &segment, int64_t grain, bool front, int64_t &r0,
               int64_t &r1) {
  uint64_t cur = segment.range.load(std::memory_order_relaxed);
  for (;;) {
    int64_t lo = int64_t(cur & 0xffffffffu), hi = int64_t(cur >> 32);
    if (lo >= hi)
      return false;
    int64_t take = std::min(grain, hi - lo);
    uint64_t next = front ? (uint64_t(hi) << 32) | uint64_t(lo + take)
                          : (uint64_t(hi - take) << 32) | uint64_t(lo);
    if (segment.range.compare_exchange_weak(cur, next,
                                            std::memory_order_relaxed)) {
      r0 = front ? lo : hi - take;
      r1 = r0 + take;
      return true;
    }
  }
}

/// Runs body(r0, r1) over rows (or other units of work) [0, n) on the
/// session's threads, serially below kMinParallelWork. Each thread gets one
/// contiguous segment, balanced by `prefix` (prefix[i]: the work of units
/// [0, i), e.g. a row pointer), and works through it from the front in
/// chunks of `grain` units; a thread done with its own segment takes chunks
/// from the back of the others'. So a thread works on the same rows from
/// call to call (its rows of y and, on a banded graph, of x stay in its
/// core's cache), a claim touches a cache line no other core touches until
/// the segments meet, and a thread that starts late (a pool worker not yet
/// scheduled) loses its rows to the others instead of delaying the call.
/// (Chunks from one shared counter, parallelChunks, interleave the threads'
/// rows and move a cache line between the cores at every chunk: on jagmesh7
/// at F = 256 the CSR kernel's 10-row chunks ran 0.79x as fast as 32-row
/// chunks of the same loop.)
template <typename P, typename Body>
void parallelRows(int64_t n, const P *prefix, int64_t grain, int64_t work,
                  const Body &body) {
  constexpr int64_t kMaxSegments = 64;
  grain = std::max<int64_t>(1, grain);
  const int64_t segments =
      std::min<int64_t>({int64_t(lathe_rt_get_num_threads()), kMaxSegments,
                         (n + grain - 1) / grain});
  // A segment's bounds are 32-bit halves of one atomic word.
  if (n >= (int64_t(1) << 31))
    return parallelChunks(n, grain, work, body);
  if (segments <= 1 || work < kMinParallelWork) {
    body(int64_t(0), n);
    return;
  }
  RowSegment segment[kMaxSegments];
  const double first = double(prefix[0]), total = double(prefix[n]) - first;
  int64_t start = 0;
  for (int64_t s = 0; s < segments; ++s) {
    int64_t end = n;
    if (s + 1 < segments) {
      double goal = first + total * double(s + 1) / double(segments);
      end = std::lower_bound(prefix, prefix + n + 1, goal,
                             [](P v, double g) { return double(v) < g; }) -
            prefix;
      end = std::clamp<int64_t>(end, start, n);
    }
    segment[s].range.store(uint64_t(start) | uint64_t(end) << 32,
                           std::memory_order_relaxed);
    start = end;
  }
  parallelChunks(segments, 1, work, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      int64_t r0, r1;
      while (claimRows(segment[s], grain, /*front=*/true, r0, r1))
        body(r0, r1);
      for (int64_t k = 1; k < segments; ++k)
        while (claimRows(segment[(s + k) % segments], grain, /*front=*/false,
                         r0, r1))
          body(r0, r1);
    }
  });
}

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

template <typename Index>
void validateCsr(const char *kernel, const Array1D<Index> &rowPtr,
                 const Array1D<Index> &colIdx, int64_t numValues,
                 int64_t numRows, int64_t numCols, bool square = true) {
  if (numRows <= 0 || numCols <= 0)
    fail(LATHE_ERR_SHAPE, "empty graph: the adjacency is ", numRows, " x ",
         numCols, " (a graph needs at least one node)");
  if (square && numRows != numCols)
    fail(LATHE_ERR_SHAPE, "the adjacency must be square, got ", numRows, " x ",
         numCols);
  if (rowPtr.size != numRows + 1)
    fail(LATHE_ERR_SHAPE, "row_ptr has ", rowPtr.size,
         " elements, expected num_rows + 1 = ", numRows + 1);
  if (rowPtr.ptr[0] != 0)
    fail(LATHE_ERR_INVALID, "row_ptr[0] is ", int64_t(rowPtr.ptr[0]),
         ", expected 0");
  for (int64_t i = 0; i < numRows; ++i)
    if (rowPtr.ptr[i + 1] < rowPtr.ptr[i])
      fail(LATHE_ERR_INVALID, "row_ptr is not non-decreasing: row_ptr[", i,
           "] = ", int64_t(rowPtr.ptr[i]), " > row_ptr[", i + 1,
           "] = ", int64_t(rowPtr.ptr[i + 1]));
  int64_t nnz = rowPtr.ptr[numRows];
  if (nnz > colIdx.size || nnz > numValues)
    fail(LATHE_ERR_SHAPE, "row_ptr[num_rows] = ", nnz,
         " exceeds the number of column indices (", colIdx.size,
         ") or values (", numValues, ")");
  for (int64_t k = 0; k < nnz; ++k) {
    int64_t c = colIdx.ptr[k];
    if (c < 0 || c >= numCols) {
      int64_t row = std::upper_bound(rowPtr.ptr, rowPtr.ptr + numRows + 1,
                                     static_cast<Index>(k)) -
                    rowPtr.ptr - 1;
      fail(LATHE_ERR_INVALID, "column index ", c, " at position ", k, " (row ",
           row, ") is out of range [0, ", numCols, ")");
    }
  }
  (void)kernel;
}

void validateFeatures(const Matrix &x, const Matrix &y, int64_t numRows,
                      int64_t numCols) {
  if (x.rows != numCols)
    fail(LATHE_ERR_SHAPE, "the feature matrix has ", x.rows,
         " rows, expected one per node (num_cols = ", numCols, ")");
  if (y.rows != numRows || y.cols != x.cols)
    fail(LATHE_ERR_SHAPE, "the output is [", y.rows, "x", y.cols,
         "], expected [", numRows, "x", x.cols, "]");
}

/// Addresses + sizes of constant adjacencies that passed validation, in the
/// current session (keyed by address: they must die with the session).
struct ValidatedKeys : SessionCache {
  std::mutex mutex;
  std::vector<std::vector<int64_t>> keys;
  void clear() override {
    std::lock_guard<std::mutex> lock(mutex);
    keys.clear();
  }
};
ValidatedKeys &validatedKeys() {
  return currentSession().cache<ValidatedKeys>(CacheSlot::SpMMValidated);
}

/// y = A x for A's `numRows` rows on the session's threads, in the CsrMode
/// `mode`: the plain CSR op, and the tiled op on a plan without dense
/// blocks, which runs the same loop over the same non-zeros (so that the
/// two cost the same).
template <typename Index>
void runCsr(const Index *rowPtr, const Index *colIdx, const float *vals,
            const float *x, int64_t ldx, float *y, int64_t ldy, int64_t f,
            int64_t numRows, unsigned mode) {
  const int64_t nnz = rowPtr[numRows];
  // With blocked columns a chunk is at least one run of rows.
  int64_t grain = rowGrain(numRows, nnz, f);
  if (mode & kCsrBlockColumns)
    grain = std::max(grain, kCsrBlockRows);
  parallelRows(numRows, rowPtr, grain, 2 * nnz * f,
               [&](int64_t r0, int64_t r1) {
                 csrRows(rowPtr, colIdx, vals, x, ldx, y, ldy, f, r0, r1, mode);
               });
}

template <typename Index>
void spmmCsr(int64_t rRp, void *rp, int64_t rCi, void *ci, int64_t rV, void *v,
             int64_t rX, void *xDesc, int64_t rY, void *yDesc, int64_t numRows,
             int64_t numCols, int64_t flags) {
  static int kind = getProfileKind("spmm_csr");
  ProfileScope scope(kind);
  Array1D<Index> rowPtr(rRp, rp, "row_ptr");
  Array1D<Index> colIdx(rCi, ci, "col_idx");
  Array1D<float> values(rV, v, "values");
  ScratchBuffer xStage, yStage;
  Matrix x = decodeMatrix(rX, xDesc, "features", xStage, /*copyIn=*/true);
  Matrix y = decodeMatrix(rY, yDesc, "y", yStage, /*copyIn=*/false);

  std::vector<int64_t> key = {reinterpret_cast<int64_t>(rowPtr.ptr),
                              reinterpret_cast<int64_t>(colIdx.ptr),
                              rowPtr.size,
                              colIdx.size,
                              numRows,
                              numCols,
                              int64_t(sizeof(Index))};
  bool known = false;
  ValidatedKeys &validated = validatedKeys();
  if (flags & LATHE_SPMM_CONST_A) {
    std::lock_guard<std::mutex> lock(validated.mutex);
    auto &keys = validated.keys;
    known = std::find(keys.begin(), keys.end(), key) != keys.end();
  }
  if (!known) {
    validateCsr("lathe_rt_spmm_csr_f32", rowPtr, colIdx, values.size, numRows,
                numCols);
    if (flags & LATHE_SPMM_CONST_A) {
      std::lock_guard<std::mutex> lock(validated.mutex);
      validated.keys.push_back(key);
    }
  }
  validateFeatures(x, y, numRows, numCols);

  runCsr(rowPtr.ptr, colIdx.ptr, values.ptr, x.data, x.ld, y.data, y.ld, x.cols,
         numRows, csrMode(numRows, numCols, x.cols));
  copyOut(y, rY, yDesc);
}

//===----------------------------------------------------------------------===//
// Tile plans
//===----------------------------------------------------------------------===//

/// A fixed-size array in the runtime's counted allocator: cached plans stay
/// alive after the call that built them, and they belong in the high-water
/// mark (lathe_rt_mem_peak, lathe-run's peak_memory_bytes) like the
/// pre-packed weights of lathe.matmul. Zero-initialised.
template <typename T> class CountedArray {
public:
  CountedArray() = default;
  explicit CountedArray(size_t n) : count(n) {
    if (n) {
      buf = ScratchBuffer(n * sizeof(T));
      std::memset(buf.get(), 0, n * sizeof(T));
    }
  }
  T *data() { return static_cast<T *>(buf.get()); }
  const T *data() const { return static_cast<const T *>(buf.get()); }
  size_t size() const { return count; }
  T &operator[](size_t i) { return data()[i]; }
  const T &operator[](size_t i) const { return data()[i]; }

private:
  ScratchBuffer buf;
  size_t count = 0;
};

/// Consecutive dense tiles of one tile row, gathered into a dense
/// [rows x width] row-major block.
struct DenseBlock {
  int64_t col0 = 0, width = 0;
  CountedArray<float> values;
};

struct TilePlan {
  int64_t numRows = 0, numCols = 0, tileSize = 0;
  /// Non-zeros of sparse tiles (int32 indices: the plan requires < 2^31
  /// nodes).
  CountedArray<int32_t> rowPtr, colIdx;
  CountedArray<float> values;
  /// Dense blocks per tile row (sgemm engine).
  std::vector<std::vector<DenseBlock>> blocks;
  /// The micro-tile engine (LATHE_SPMM_MICRO): dense 4 x 4 tiles as
  /// block-sparse rows, blockPtr [tileRows + 1] into blockCol (first column
  /// of each tile) and blockVals (16 floats per tile, row-major).
  bool micro = false;
  CountedArray<int32_t> blockPtr, blockCol;
  CountedArray<float> blockVals;
  /// The row-group engine (LATHE_SPMM_ROW_GROUPS): units over the rows in
  /// order (CSR runs and groups, see GroupUnit), the groups' column lists,
  /// blocks (column-major) and stored-entry masks; the CSR runs' non-zeros
  /// are the filtered CSR above (a grouped row's range is empty there).
  bool rowGroups = false;
  CountedArray<GroupUnit> units;
  CountedArray<int32_t> groupCols;
  CountedArray<float> groupVals;
  CountedArray<uint8_t> groupMask;
  /// Groups, rows in groups and their stored entries.
  int64_t numGroups = 0, groupedRows = 0, groupedNnz = 0;
  /// Permutation (stored row i is node perm[i]); empty if none.
  CountedArray<int64_t> perm;
  int64_t histogram[3] = {0, 0, 0};
  /// Multiply-adds per feature column: sparse non-zeros + dense elements.
  int64_t flopsPerColumn = 0;
  /// Multiply-adds per feature column of the units the threads share (tile
  /// rows; the row-group engine's units), as a prefix sum: parallelRows
  /// balances their segments by it.
  std::vector<int64_t> unitWork;
  /// Permuted copies of x and y, kept between calls: allocating them per call
  /// (n·F floats each) cost page faults that took longer than the product
  /// itself on PubMed at F = 256. A call that finds them in use (another
  /// thread runs the same plan) allocates its own.
  mutable std::mutex scratchMutex;
  mutable ScratchBuffer xScratch, yScratch;
  mutable size_t scratchBytes = 0;
};

/// The row-group engine's plan of A (in `plan`): the groups of
/// lathe::row_groups::compute (the rule sparsegcn-tile prices), each a
/// column-major block over the sorted union of its rows' columns; the rows
/// outside groups run the CSR kernel in runs of at most 16 rows (one unit
/// each, so that the threads' chunks stay balanced).
template <typename Index>
void fillRowGroups(TilePlan &plan, const Array1D<Index> &rowPtr,
                   const Array1D<Index> &colIdx, const Array1D<float> &values,
                   int64_t maxRows, double threshold) {
  const int64_t n = plan.numRows;
  std::vector<lathe::row_groups::Group> groups = lathe::row_groups::compute(
      n, plan.numCols, rowPtr.ptr, colIdx.ptr, maxRows, threshold);
  std::vector<GroupUnit> units;
  std::vector<int32_t> gCols, csrCols, ucols;
  std::vector<float> gVals, csrVals;
  std::vector<uint8_t> gMask;
  std::vector<int32_t> pos(static_cast<size_t>(plan.numCols), -1);
  plan.rowPtr = CountedArray<int32_t>(static_cast<size_t>(n + 1));
  int64_t flops = 0;
  size_t next = 0;
  for (int64_t i = 0; i < n;) {
    if (next == groups.size() || groups[next].row0 != i) {
      // A row for the CSR kernel: extend the open CSR run or start one.
      for (int64_t k = rowPtr.ptr[i]; k < rowPtr.ptr[i + 1]; ++k) {
        csrCols.push_back(static_cast<int32_t>(colIdx.ptr[k]));
        csrVals.push_back(values.ptr[k]);
      }
      plan.rowPtr[i + 1] = static_cast<int32_t>(csrCols.size());
      flops += rowPtr.ptr[i + 1] - rowPtr.ptr[i];
      if (units.empty() || units.back().group != 0 || units.back().rows >= 16)
        units.push_back(GroupUnit{static_cast<int32_t>(i), 0, 0, 1, 0, 0, 0});
      ++units.back().rows;
      ++i;
      continue;
    }
    const lathe::row_groups::Group &group = groups[next++];
    const int64_t g = group.rows, u = group.columns;
    ucols.clear();
    for (int64_t k = rowPtr.ptr[i]; k < rowPtr.ptr[i + g]; ++k)
      if (int32_t c = static_cast<int32_t>(colIdx.ptr[k]); pos[c] != -2) {
        pos[c] = -2;
        ucols.push_back(c);
      }
    std::sort(ucols.begin(), ucols.end());
    GroupUnit unit{static_cast<int32_t>(i),
                   static_cast<int32_t>(g),
                   static_cast<int32_t>(g),
                   group.stored == g * u,
                   static_cast<int64_t>(gCols.size()),
                   u,
                   static_cast<int64_t>(gVals.size())};
    for (int64_t k = 0; k < u; ++k)
      pos[ucols[k]] = static_cast<int32_t>(k);
    gCols.insert(gCols.end(), ucols.begin(), ucols.end());
    gVals.resize(gVals.size() + static_cast<size_t>(g * u), 0.f);
    gMask.resize(gMask.size() + static_cast<size_t>(u), 0);
    for (int64_t r = 0; r < g; ++r) {
      for (int64_t k = rowPtr.ptr[i + r]; k < rowPtr.ptr[i + r + 1]; ++k) {
        int64_t p = pos[colIdx.ptr[k]];
        gVals[unit.val0 + p * g + r] += values.ptr[k];
        gMask[unit.col0 + p] |= static_cast<uint8_t>(1u << r);
      }
      plan.rowPtr[i + r + 1] = static_cast<int32_t>(csrCols.size());
    }
    for (int32_t c : ucols)
      pos[c] = -1;
    units.push_back(unit);
    flops += g * u;
    ++plan.numGroups;
    plan.groupedRows += g;
    plan.groupedNnz += rowPtr.ptr[i + g] - rowPtr.ptr[i];
    i += g;
  }
  auto counted = [](auto &dst, const auto &src) {
    dst = std::remove_reference_t<decltype(dst)>(src.size());
    std::copy(src.begin(), src.end(), dst.data());
  };
  counted(plan.colIdx, csrCols);
  counted(plan.values, csrVals);
  counted(plan.units, units);
  counted(plan.groupCols, gCols);
  counted(plan.groupVals, gVals);
  counted(plan.groupMask, gMask);
  plan.rowGroups = true;
  plan.flopsPerColumn = flops;
  plan.histogram[LATHE_TILE_DENSE] = plan.numGroups;
  // A unit's work: its multiply-adds, and a store per row.
  plan.unitWork.assign(units.size() + 1, 0);
  for (size_t u = 0; u < units.size(); ++u) {
    const GroupUnit &g = units[u];
    int64_t work = g.group ? g.rows * g.numCols
                           : plan.rowPtr[g.row0 + g.rows] - plan.rowPtr[g.row0];
    plan.unitWork[u + 1] = plan.unitWork[u] + work + g.rows;
  }
}

/// The prefix sums of the tile rows' work in `plan` (the filtered CSR's
/// non-zeros and `denseElements(tr)` multiply-adds, and a store per row).
template <typename DenseElements>
void fillTileRowWork(TilePlan &plan, int64_t tileRows,
                     const DenseElements &denseElements) {
  const int64_t t = plan.tileSize, n = plan.numRows;
  plan.unitWork.assign(static_cast<size_t>(tileRows + 1), 0);
  for (int64_t tr = 0; tr < tileRows; ++tr) {
    int64_t r0 = tr * t, r1 = std::min(n, r0 + t);
    plan.unitWork[tr + 1] = plan.unitWork[tr] + plan.rowPtr[r1] -
                            plan.rowPtr[r0] + denseElements(tr) + (r1 - r0);
  }
}

template <typename Index>
std::shared_ptr<TilePlan>
buildPlan(const Array1D<Index> &rowPtr, const Array1D<Index> &colIdx,
          const Array1D<float> &values, const int8_t *classes,
          int64_t numClasses, const Array1D<Index> *perm, int64_t numRows,
          int64_t numCols, int64_t tileSize, double threshold,
          bool micro = false, bool rowGroups = false) {
  validateCsr("lathe_rt_spmm_tiled_f32", rowPtr, colIdx, values.size, numRows,
              numCols);
  if (micro && tileSize != LATHE_SPMM_MICRO_TILE)
    fail(LATHE_ERR_INVALID, "the micro-tile engine needs tiles of ",
         int(LATHE_SPMM_MICRO_TILE), ", got a tile size of ", tileSize);
  if (rowGroups && (micro || classes))
    fail(LATHE_ERR_INVALID, "the row-group engine classifies its own rows "
                            "(LATHE_SPMM_CLASSIFY) and excludes the "
                            "micro-tile engine");
  if (rowGroups && (tileSize < 1 || tileSize > LATHE_SPMM_ROW_GROUP_MAX))
    fail(LATHE_ERR_INVALID, "the row-group engine takes groups of 1 to ",
         int(LATHE_SPMM_ROW_GROUP_MAX), " rows, got a tile size of ", tileSize);
  if (numCols >= (int64_t(1) << 31))
    fail(LATHE_ERR_SHAPE,
         "the tiled kernel supports graphs of fewer than "
         "2^31 nodes, got ",
         numCols);
  auto plan = std::make_shared<TilePlan>();
  plan->numRows = numRows;
  plan->numCols = numCols;
  plan->tileSize = tileSize;
  plan->micro = micro;
  const int64_t t = tileSize;
  const int64_t tileRows = (numRows + t - 1) / t;
  const int64_t tileCols = (numCols + t - 1) / t;
  if (classes && numClasses != tileRows * tileCols)
    fail(LATHE_ERR_SHAPE, "expected ", tileRows * tileCols, " tile classes (",
         tileRows, " x ", tileCols, " tiles of ", t, "), got ", numClasses);

  if (perm) {
    if (perm->size != numRows)
      fail(LATHE_ERR_SHAPE, "the permutation has ", perm->size,
           " elements, expected ", numRows);
    std::vector<char> seen(static_cast<size_t>(numRows), 0);
    plan->perm = CountedArray<int64_t>(static_cast<size_t>(numRows));
    for (int64_t i = 0; i < numRows; ++i) {
      int64_t p = perm->ptr[i];
      if (p < 0 || p >= numRows || seen[p])
        fail(LATHE_ERR_INVALID, "the permutation is not a permutation of [0, ",
             numRows, "): element ", i, " is ", p);
      seen[p] = 1;
      plan->perm[i] = p;
    }
  }
  if (rowGroups) {
    fillRowGroups(*plan, rowPtr, colIdx, values, tileSize, threshold);
    return plan;
  }

  // Pass 1: classify each tile row's tiles, form its dense blocks, count the
  // non-zeros left to the CSR kernel.
  plan->blocks.resize(static_cast<size_t>(tileRows));
  std::vector<int64_t> counts(static_cast<size_t>(tileCols));
  std::vector<int8_t> rowClasses(static_cast<size_t>(tileCols));
  int64_t sparseNnz = 0;
  std::vector<int32_t> microPtr = {0}, microCols;
  for (int64_t tr = 0; tr < tileRows; ++tr) {
    int64_t r0 = tr * t, r1 = std::min(numRows, r0 + t);
    std::fill(counts.begin(), counts.end(), 0);
    for (int64_t k = rowPtr.ptr[r0]; k < rowPtr.ptr[r1]; ++k)
      ++counts[colIdx.ptr[k] / t];
    for (int64_t tc = 0; tc < tileCols; ++tc) {
      int8_t c;
      if (classes) {
        c = classes[tr * tileCols + tc];
        if (c < LATHE_TILE_EMPTY || c > LATHE_TILE_DENSE)
          fail(LATHE_ERR_INVALID, "tile (", tr, ", ", tc, ") has class ",
               int(c), " (expected 0, 1 or 2)");
        // An "empty" tile with non-zeros would silently drop them.
        if (c == LATHE_TILE_EMPTY && counts[tc] != 0)
          fail(LATHE_ERR_INVALID, "tile (", tr, ", ", tc,
               ") is classified empty but holds ", counts[tc], " non-zeros");
      } else {
        int64_t area = (r1 - r0) * (std::min(numCols, (tc + 1) * t) - tc * t);
        double density = double(counts[tc]) / double(area);
        c = counts[tc] == 0        ? LATHE_TILE_EMPTY
            : density >= threshold ? LATHE_TILE_DENSE
                                   : LATHE_TILE_SPARSE;
      }
      // The micro-tile engine's blocks are whole 4 x 4 tiles: a border tile
      // (fewer rows or columns) runs as sparse.
      if (micro && c == LATHE_TILE_DENSE &&
          (r1 - r0 != t || std::min(numCols, (tc + 1) * t) - tc * t != t))
        c = LATHE_TILE_SPARSE;
      rowClasses[tc] = c;
      ++plan->histogram[c];
      if (c != LATHE_TILE_DENSE)
        sparseNnz += counts[tc];
    }
    if (micro) {
      for (int64_t tc = 0; tc < tileCols; ++tc)
        if (rowClasses[tc] == LATHE_TILE_DENSE)
          microCols.push_back(static_cast<int32_t>(tc * t));
      microPtr.push_back(static_cast<int32_t>(microCols.size()));
      continue;
    }
    auto &blocks = plan->blocks[tr];
    for (int64_t tc = 0; tc < tileCols; ++tc) {
      if (rowClasses[tc] != LATHE_TILE_DENSE)
        continue;
      int64_t colEnd = std::min(numCols, (tc + 1) * t);
      if (tc > 0 && rowClasses[tc - 1] == LATHE_TILE_DENSE) {
        blocks.back().width = colEnd - blocks.back().col0;
      } else {
        blocks.emplace_back();
        blocks.back().col0 = tc * t;
        blocks.back().width = colEnd - tc * t;
      }
    }
    for (DenseBlock &b : blocks)
      b.values = CountedArray<float>(static_cast<size_t>((r1 - r0) * b.width));
  }

  // Pass 2: scatter the non-zeros into the dense blocks and the filtered CSR.
  plan->rowPtr = CountedArray<int32_t>(static_cast<size_t>(numRows + 1));
  plan->colIdx = CountedArray<int32_t>(static_cast<size_t>(sparseNnz));
  plan->values = CountedArray<float>(static_cast<size_t>(sparseNnz));
  // Per tile column of the current tile row: its dense block, or -1.
  std::vector<int64_t> blockOf(static_cast<size_t>(tileCols), -1);
  int64_t next = 0;
  if (micro) {
    plan->blockPtr = CountedArray<int32_t>(microPtr.size());
    std::copy(microPtr.begin(), microPtr.end(), plan->blockPtr.data());
    plan->blockCol = CountedArray<int32_t>(microCols.size());
    std::copy(microCols.begin(), microCols.end(), plan->blockCol.data());
    plan->blockVals = CountedArray<float>(microCols.size() * t * t);
    for (int64_t tr = 0; tr < tileRows; ++tr) {
      int64_t r0 = tr * t, r1 = std::min(numRows, r0 + t);
      for (int32_t bi = microPtr[tr]; bi < microPtr[tr + 1]; ++bi)
        blockOf[microCols[bi] / t] = bi;
      for (int64_t i = r0; i < r1; ++i) {
        for (int64_t k = rowPtr.ptr[i]; k < rowPtr.ptr[i + 1]; ++k) {
          int64_t c = colIdx.ptr[k];
          if (int64_t bi = blockOf[c / t]; bi >= 0) {
            plan->blockVals[bi * t * t + (i - r0) * t + (c - c / t * t)] +=
                values.ptr[k];
          } else {
            plan->colIdx[next] = static_cast<int32_t>(c);
            plan->values[next] = values.ptr[k];
            ++next;
          }
        }
        plan->rowPtr[i + 1] = static_cast<int32_t>(next);
      }
      for (int32_t bi = microPtr[tr]; bi < microPtr[tr + 1]; ++bi)
        blockOf[microCols[bi] / t] = -1;
    }
    plan->flopsPerColumn =
        sparseNnz + static_cast<int64_t>(plan->blockVals.size());
    fillTileRowWork(*plan, tileRows, [&](int64_t tr) {
      return int64_t(microPtr[tr + 1] - microPtr[tr]) * t * t;
    });
    return plan;
  }
  for (int64_t tr = 0; tr < tileRows; ++tr) {
    int64_t r0 = tr * t, r1 = std::min(numRows, r0 + t);
    auto &blocks = plan->blocks[tr];
    for (size_t bi = 0; bi < blocks.size(); ++bi)
      for (int64_t c = blocks[bi].col0; c < blocks[bi].col0 + blocks[bi].width;
           c += t)
        blockOf[c / t] = static_cast<int64_t>(bi);
    for (int64_t i = r0; i < r1; ++i) {
      for (int64_t k = rowPtr.ptr[i]; k < rowPtr.ptr[i + 1]; ++k) {
        int64_t c = colIdx.ptr[k];
        int64_t tc = c / t;
        if (blockOf[tc] >= 0) {
          DenseBlock &b = blocks[blockOf[tc]];
          b.values[(i - r0) * b.width + (c - b.col0)] += values.ptr[k];
        } else {
          plan->colIdx[next] = static_cast<int32_t>(c);
          plan->values[next] = values.ptr[k];
          ++next;
        }
      }
      plan->rowPtr[i + 1] = static_cast<int32_t>(next);
    }
    for (const DenseBlock &b : blocks)
      for (int64_t c = b.col0; c < b.col0 + b.width; c += t)
        blockOf[c / t] = -1;
  }
  plan->flopsPerColumn = sparseNnz;
  for (const auto &blocks : plan->blocks)
    for (const DenseBlock &b : blocks)
      plan->flopsPerColumn += static_cast<int64_t>(b.values.size());
  fillTileRowWork(*plan, tileRows, [&](int64_t tr) {
    int64_t elements = 0;
    for (const DenseBlock &b : plan->blocks[tr])
      elements += static_cast<int64_t>(b.values.size());
    return elements;
  });
  return plan;
}

/// Non-zeros of `a` (n x n CSR) that lie in tiles of density >= threshold.
int64_t denseTileNnz(int64_t n, const std::vector<int64_t> &rowPtr,
                     const std::vector<int64_t> &colIdx, int64_t t,
                     double threshold) {
  int64_t tiles = (n + t - 1) / t, total = 0;
  std::vector<int64_t> counts(static_cast<size_t>(tiles));
  for (int64_t tr = 0; tr < tiles; ++tr) {
    int64_t r0 = tr * t, r1 = std::min(n, r0 + t);
    std::fill(counts.begin(), counts.end(), 0);
    for (int64_t k = rowPtr[r0]; k < rowPtr[r1]; ++k)
      ++counts[colIdx[k] / t];
    for (int64_t tc = 0; tc < tiles; ++tc) {
      int64_t area = (r1 - r0) * (std::min(n, (tc + 1) * t) - tc * t);
      if (counts[tc] > 0 && double(counts[tc]) >= threshold * double(area))
        total += counts[tc];
    }
  }
  return total;
}

/// The plan of P A P^T for the ordering `order` (LATHE_ORDER_*) of A,
/// classified at `threshold`. LATHE_ORDER_AUTO takes the ordering with the
/// most non-zeros in dense tiles, or A itself when none has a dense tile.
template <typename Index>
std::shared_ptr<TilePlan>
buildReorderedPlan(const Array1D<Index> &rowPtr, const Array1D<Index> &colIdx,
                   const Array1D<float> &values, int64_t order, int64_t numRows,
                   int64_t numCols, int64_t tileSize, double threshold,
                   bool micro, bool rowGroups) {
  namespace go = lathe::graph_order;
  if (order < LATHE_ORDER_DEGREE || order > LATHE_ORDER_AUTO)
    fail(LATHE_ERR_INVALID, "unknown node ordering ", order,
         " in the kernel flags (expected 1-4: degree, rcm, cluster, auto)");
  validateCsr("lathe_rt_spmm_tiled_f32", rowPtr, colIdx, values.size, numRows,
              numCols);
  const int64_t n = numRows;
  go::Pattern pattern = go::symmetrise(n, rowPtr.ptr, colIdx.ptr);
  std::vector<go::Order> candidates;
  if (order == LATHE_ORDER_AUTO)
    candidates = {go::Order::Degree, go::Order::RCM, go::Order::Cluster};
  else
    candidates = {static_cast<go::Order>(order)};
  std::vector<int64_t> bestPerm, bestRowPtr, bestColIdx;
  std::vector<float> bestValues;
  int64_t bestDense = -1;
  for (go::Order candidate : candidates) {
    std::vector<int64_t> p =
        candidate == go::Order::Degree ? go::degreeOrder(pattern)
        : candidate == go::Order::RCM  ? go::rcmOrder(pattern)
                                       : go::clusterOrder(pattern, tileSize);
    std::vector<int64_t> rp, ci;
    std::vector<float> v;
    go::permute(n, rowPtr.ptr, colIdx.ptr, values.ptr, p, rp, ci, v);
    int64_t dense = order == LATHE_ORDER_AUTO
                        ? denseTileNnz(n, rp, ci, tileSize, threshold)
                        : 0;
    if (dense > bestDense) {
      bestDense = dense;
      bestPerm = std::move(p);
      bestRowPtr = std::move(rp);
      bestColIdx = std::move(ci);
      bestValues = std::move(v);
    }
  }
  if (order == LATHE_ORDER_AUTO && bestDense == 0)
    return buildPlan<Index>(rowPtr, colIdx, values, nullptr, 0, nullptr,
                            numRows, numCols, tileSize, threshold, micro,
                            rowGroups);
  Array1D<int64_t> rp(bestRowPtr.data(), n + 1),
      ci(bestColIdx.data(), static_cast<int64_t>(bestColIdx.size())),
      perm(bestPerm.data(), n);
  Array1D<float> v(bestValues.data(), static_cast<int64_t>(bestValues.size()));
  return buildPlan(rp, ci, v, nullptr, 0, &perm, numRows, numCols, tileSize,
                   threshold, micro, rowGroups);
}

struct VecHash {
  size_t operator()(const std::vector<int64_t> &key) const {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int64_t v : key)
      h = (h ^ static_cast<uint64_t>(v)) * 0x100000001b3ull;
    return static_cast<size_t>(h);
  }
};

using PlanMap = std::unordered_map<std::vector<int64_t>,
                                   std::shared_ptr<TilePlan>, VecHash>;

/// Tile plans of constant adjacencies (keyed by address), in the current
/// session.
struct PlanCache : SessionCache {
  std::mutex mutex;
  PlanMap plans;
  void clear() override {
    std::lock_guard<std::mutex> lock(mutex);
    plans.clear();
  }
};
PlanCache &planCache() {
  return currentSession().cache<PlanCache>(CacheSlot::SpMMPlans);
}

/// The micro-tile engine's execution of `plan` (tile rows of 4 over the
/// threads). A dense block holds A's absent entries as zeros, and 0 * NaN
/// is NaN where the aggregation sums stored entries only: a tile row whose
/// sums come out NaN or Inf (checked in the kernel's registers) is
/// recomputed on the stored entries one by one. (Scanning x instead cost a
/// pass over it per call.)
void runMicro(const TilePlan &plan, const float *xd, int64_t ldx, float *yd,
              int64_t ldy, int64_t f) {
  constexpr int64_t B = LATHE_SPMM_MICRO_TILE;
  const int64_t tileRows = (plan.numRows + B - 1) / B;
  std::vector<char> nonFinite(static_cast<size_t>(tileRows), 0);
  MicroArgs m{plan.blockPtr.data(),
              plan.blockCol.data(),
              plan.blockVals.data(),
              plan.rowPtr.data(),
              plan.colIdx.data(),
              plan.values.data(),
              xd,
              ldx,
              yd,
              ldy,
              f,
              plan.numRows,
              nonFinite.data()};
  const int isa = microIsa();
  int64_t avg = std::max<int64_t>(1, 2 * plan.flopsPerColumn / tileRows);
  int64_t grain = std::clamp<int64_t>(16384 / (avg * std::max<int64_t>(1, f)),
                                      1, std::max<int64_t>(1, tileRows / 32));
  parallelRows(tileRows, plan.unitWork.data(), grain,
               2 * plan.flopsPerColumn * f, [&](int64_t tr0, int64_t tr1) {
                 microRows(isa, m, tr0, tr1);
                 for (int64_t tr = tr0; tr < tr1; ++tr) {
                   if (!nonFinite[tr])
                     continue;
                   int64_t r0 = tr * B, r1 = std::min(plan.numRows, r0 + B);
                   csrRows(plan.rowPtr.data(), plan.colIdx.data(),
                           plan.values.data(), xd, ldx, yd, ldy, f, r0, r1);
                   for (int32_t b = plan.blockPtr[tr];
                        b < plan.blockPtr[tr + 1]; ++b)
                     for (int64_t i = 0; i < B; ++i)
                       for (int64_t j = 0; j < B; ++j) {
                         float a = plan.blockVals[b * B * B + i * B + j];
                         if (a == 0.f)
                           continue;
                         const float *xr = xd + (plan.blockCol[b] + j) * ldx;
                         float *yr = yd + (r0 + i) * ldy;
                         for (int64_t c = 0; c < f; ++c)
                           yr[c] += a * xr[c];
                       }
                 }
               });
}

/// The row-group engine's execution of `plan` (units over the threads).
void runRowGroups(const TilePlan &plan, const float *xd, int64_t ldx, float *yd,
                  int64_t ldy, int64_t f) {
  GroupArgs m{plan.units.data(),
              plan.groupCols.data(),
              plan.groupVals.data(),
              plan.groupMask.data(),
              plan.rowPtr.data(),
              plan.colIdx.data(),
              plan.values.data(),
              xd,
              ldx,
              yd,
              ldy,
              f};
  const int isa = microIsa();
  const int64_t numUnits = static_cast<int64_t>(plan.units.size());
  int64_t avg = std::max<int64_t>(1, plan.flopsPerColumn /
                                         std::max<int64_t>(1, numUnits));
  int64_t grain = std::clamp<int64_t>(16384 / (avg * std::max<int64_t>(1, f)),
                                      1, std::max<int64_t>(1, numUnits / 32));
  parallelRows(numUnits, plan.unitWork.data(), grain,
               2 * plan.flopsPerColumn * f,
               [&](int64_t u0, int64_t u1) { groupRows(isa, m, u0, u1); });
}

void runPlan(const TilePlan &plan, const Matrix &x, const Matrix &y) {
  const int64_t t = plan.tileSize, f = x.cols;
  const int64_t tileRows = static_cast<int64_t>(plan.blocks.size());
  // Permuted execution works on gathered copies of x and y.
  ScratchBuffer xpBuf, ypBuf;
  std::unique_lock<std::mutex> scratchLock(plan.scratchMutex, std::defer_lock);
  const float *xd = x.data;
  int64_t ldx = x.ld;
  float *yd = y.data;
  int64_t ldy = y.ld;
  if (plan.perm.size() != 0) {
    size_t bytes = static_cast<size_t>(std::max(plan.numCols, plan.numRows) *
                                       std::max<int64_t>(f, 1)) *
                   sizeof(float);
    float *xp, *yp;
    if (scratchLock.try_lock()) {
      if (plan.scratchBytes < bytes) {
        plan.xScratch = ScratchBuffer(bytes);
        plan.yScratch = ScratchBuffer(bytes);
        plan.scratchBytes = bytes;
      }
      xp = plan.xScratch.floats();
      yp = plan.yScratch.floats();
    } else {
      xpBuf = ScratchBuffer(bytes);
      ypBuf = ScratchBuffer(bytes);
      xp = xpBuf.floats();
      yp = ypBuf.floats();
    }
    parallelChunks(plan.numCols, 256, plan.numCols * f,
                   [&](int64_t i0, int64_t i1) {
                     for (int64_t i = i0; i < i1; ++i)
                       std::memcpy(xp + i * f, x.data + plan.perm[i] * x.ld,
                                   sizeof(float) * f);
                   });
    xd = xp;
    ldx = f;
    yd = yp;
    ldy = f;
  }
  // The CSR kernel's mode, as for the plain CSR op, where it runs on tile
  // rows; a permuted plan's output is read right back (the scatter), so it is
  // never streamed. The micro-tile and row-group engines inline the CSR loop
  // in their own and keep its plain stores: with the mode's branches there,
  // the row-group engine ran 1.7x slower on bcsstk13 (F = 64, one thread).
  unsigned mode = csrMode(plan.numRows, plan.numCols, f);
  if (plan.perm.size() != 0)
    mode &= ~unsigned(kCsrStream);
  if (plan.rowGroups) {
    runRowGroups(plan, xd, ldx, yd, ldy, f);
  } else if (!plan.micro && plan.histogram[LATHE_TILE_DENSE] == 0) {
    runCsr(plan.rowPtr.data(), plan.colIdx.data(), plan.values.data(), xd, ldx,
           yd, ldy, f, plan.numRows, mode);
  } else if (plan.micro) {
    runMicro(plan, xd, ldx, yd, ldy, f);
  } else {
    // A dense block holds A's absent entries as zeros, which sgemm multiplies
    // (0 * NaN and 0 * Inf are NaN); the aggregation sums stored entries only.
    // Blocks whose rows of x hold NaN or Inf (a scan of x, once per tile of
    // rows, only when the plan has dense blocks) skip the zeros instead.
    std::vector<char> nonFiniteTile;
    if (plan.histogram[LATHE_TILE_DENSE] > 0) {
      int64_t tileCols = (plan.numCols + t - 1) / t;
      nonFiniteTile.assign(static_cast<size_t>(tileCols), 0);
      for (int64_t tc = 0; tc < tileCols; ++tc) {
        int64_t c0 = tc * t, c1 = std::min(plan.numCols, c0 + t);
        bool finite = true;
        if (ldx == f)
          finite = allFinite(maxAbs(xd + c0 * ldx, (c1 - c0) * f));
        for (int64_t c = c0; ldx != f && finite && c < c1; ++c)
          finite = allFinite(maxAbs(xd + c * ldx, f));
        nonFiniteTile[tc] = !finite;
      }
    }
    auto blockSeesNonFinite = [&](const DenseBlock &b) {
      if (nonFiniteTile.empty())
        return false;
      for (int64_t tc = b.col0 / t; tc * t < b.col0 + b.width; ++tc)
        if (nonFiniteTile[tc])
          return true;
      return false;
    };
    std::atomic<int> gemmError{0};
    // A tile row's dense blocks add to the CSR kernel's sums: only tile
    // rows without one are streamed.
    parallelRows(
        tileRows, plan.unitWork.data(), 1, 2 * plan.flopsPerColumn * f,
        [&](int64_t tr0, int64_t tr1) {
          for (int64_t tr = tr0; tr < tr1; ++tr) {
            int64_t r0 = tr * t, r1 = std::min(plan.numRows, r0 + t);
            csrRows(plan.rowPtr.data(), plan.colIdx.data(), plan.values.data(),
                    xd, ldx, yd, ldy, f, r0, r1,
                    plan.blocks[tr].empty() ? mode
                                            : mode & ~unsigned(kCsrStream));
            for (const DenseBlock &b : plan.blocks[tr]) {
              if (blockSeesNonFinite(b)) {
                for (int64_t r = r0; r < r1; ++r)
                  for (int64_t j = 0; j < b.width; ++j) {
                    float a = b.values[(r - r0) * b.width + j];
                    if (a == 0.f)
                      continue;
                    const float *xr = xd + (b.col0 + j) * ldx;
                    float *yr = yd + r * ldy;
                    for (int64_t c = 0; c < f; ++c)
                      yr[c] += a * xr[c];
                  }
                continue;
              }
              dnnl_status_t status = dnnl_sgemm(
                  'N', 'N', r1 - r0, f, b.width, 1.f, b.values.data(), b.width,
                  xd + b.col0 * ldx, ldx, 1.f, yd + r0 * ldy, ldy);
              if (status != dnnl_success)
                gemmError.store(static_cast<int>(status));
            }
          }
        });
    if (int status = gemmError.load())
      fail(LATHE_ERR_BACKEND,
           "oneDNN sgemm failed on a dense tile block "
           "(dnnl_status ",
           status, ")");
  }
  if (plan.perm.size() != 0) {
    parallelChunks(plan.numRows, 256, plan.numRows * f,
                   [&](int64_t i0, int64_t i1) {
                     for (int64_t i = i0; i < i1; ++i)
                       std::memcpy(y.data + plan.perm[i] * y.ld, yd + i * f,
                                   sizeof(float) * f);
                   });
  }
}

template <typename Index>
void spmmTiled(int64_t rRp, void *rp, int64_t rCi, void *ci, int64_t rV,
               void *v, int64_t rC, void *cl, int64_t rP, void *p, int64_t rX,
               void *xDesc, int64_t rY, void *yDesc, int64_t numRows,
               int64_t numCols, int64_t tileSize, int64_t thresholdPpm,
               int64_t flags) {
  static int kind = getProfileKind("spmm_tiled");
  ProfileScope scope(kind);
  if (tileSize <= 0)
    fail(LATHE_ERR_INVALID, "the tile size must be positive, got ", tileSize);
  Array1D<Index> rowPtr(rRp, rp, "row_ptr");
  Array1D<Index> colIdx(rCi, ci, "col_idx");
  Array1D<float> values(rV, v, "values");
  std::unique_ptr<Array1D<Index>> perm;
  if (flags & LATHE_SPMM_PERMUTED)
    perm = std::make_unique<Array1D<Index>>(rP, p, "permutation");
  const int8_t *classes = nullptr;
  int64_t numClasses = 0;
  std::vector<int64_t> key = {reinterpret_cast<int64_t>(rowPtr.ptr),
                              reinterpret_cast<int64_t>(colIdx.ptr),
                              reinterpret_cast<int64_t>(values.ptr),
                              rowPtr.size,
                              colIdx.size,
                              numRows,
                              numCols,
                              tileSize,
                              flags,
                              int64_t(sizeof(Index))};
  if (perm)
    key.push_back(reinterpret_cast<int64_t>(perm->ptr));
  if (flags & LATHE_SPMM_CLASSIFY) {
    key.push_back(thresholdPpm);
  } else {
    AnyView cv = decodeAny(rC, cl, 1, "tile classes");
    if (cv.rank != 1 || (cv.strides[0] != 1 && cv.sizes[0] > 1))
      fail(LATHE_ERR_SHAPE, "tile classes: expected a contiguous rank-1 "
                            "array");
    classes = reinterpret_cast<const int8_t *>(cv.data);
    numClasses = cv.sizes[0];
    key.push_back(reinterpret_cast<int64_t>(classes));
    key.push_back(numClasses);
  }
  ScratchBuffer xStage, yStage;
  Matrix x = decodeMatrix(rX, xDesc, "features", xStage, /*copyIn=*/true);
  Matrix y = decodeMatrix(rY, yDesc, "y", yStage, /*copyIn=*/false);

  std::shared_ptr<TilePlan> plan;
  bool cacheable = (flags & LATHE_SPMM_CONST_A) != 0;
  PlanCache &plans = planCache();
  if (cacheable) {
    std::lock_guard<std::mutex> lock(plans.mutex);
    auto it = plans.plans.find(key);
    if (it != plans.plans.end())
      plan = it->second;
  }
  if (!plan) {
    int64_t order =
        (flags & LATHE_SPMM_REORDER_MASK) >> LATHE_SPMM_REORDER_SHIFT;
    if (order != LATHE_ORDER_NONE) {
      if (!(flags & LATHE_SPMM_CLASSIFY) || perm)
        fail(LATHE_ERR_INVALID,
             "a node reordering flag needs runtime classification "
             "(LATHE_SPMM_CLASSIFY) and no permutation operand");
      plan =
          buildReorderedPlan(rowPtr, colIdx, values, order, numRows, numCols,
                             tileSize, lathe::row_groups::fromPpm(thresholdPpm),
                             (flags & LATHE_SPMM_MICRO) != 0,
                             (flags & LATHE_SPMM_ROW_GROUPS) != 0);
    } else {
      plan = buildPlan(rowPtr, colIdx, values, classes, numClasses, perm.get(),
                       numRows, numCols, tileSize,
                       lathe::row_groups::fromPpm(thresholdPpm),
                       (flags & LATHE_SPMM_MICRO) != 0,
                       (flags & LATHE_SPMM_ROW_GROUPS) != 0);
    }
    if (cacheable) {
      std::lock_guard<std::mutex> lock(plans.mutex);
      plans.plans.emplace(key, plan);
    }
  }
  validateFeatures(x, y, numRows, numCols);
  runPlan(*plan, x, y);
  copyOut(y, rY, yDesc);
}

/// A writable rank-1 operand (strided writes).
template <typename T> struct Out1D {
  Out1D(int64_t rank, void *descriptor, const char *what) {
    AnyView v = decodeAny(rank, descriptor, sizeof(T), what);
    if (v.rank != 1)
      fail(LATHE_ERR_SHAPE, what, ": expected rank 1, got rank ", v.rank);
    data = reinterpret_cast<T *>(v.data);
    size = v.sizes[0];
    stride = v.strides[0];
  }
  T &operator[](int64_t i) { return data[i * stride]; }
  T *data = nullptr;
  int64_t size = 0, stride = 1;
};

template <typename Index>
void csrTranspose(const char *entry, int64_t rRp, void *rp, int64_t rCi,
                  void *ci, int64_t rV, void *v, int64_t rTRp, void *trp,
                  int64_t rTCi, void *tci, int64_t rTV, void *tv,
                  int64_t numRows, int64_t numCols) {
  static int kind = getProfileKind("csr_transpose");
  ProfileScope scope(kind);
  Array1D<Index> rowPtr(rRp, rp, "row_ptr");
  Array1D<Index> colIdx(rCi, ci, "col_idx");
  Array1D<float> values(rV, v, "values");
  Out1D<Index> tRowPtr(rTRp, trp, "t_row_ptr");
  Out1D<Index> tColIdx(rTCi, tci, "t_col_idx");
  Out1D<float> tValues(rTV, tv, "t_values");
  validateCsr(entry, rowPtr, colIdx, values.size, numRows, numCols,
              /*square=*/false);
  int64_t nnz = rowPtr.ptr[numRows];
  if (tRowPtr.size != numCols + 1 || tColIdx.size < nnz || tValues.size < nnz)
    fail(LATHE_ERR_SHAPE, "the transpose's outputs hold ", tRowPtr.size, ", ",
         tColIdx.size, " and ", tValues.size,
         " elements, expected num_cols + 1 = ", numCols + 1,
         " and nnz = ", nnz);
  // Counting sort by column; rows in increasing order keep each row of the
  // transpose sorted.
  std::vector<int64_t> next(static_cast<size_t>(numCols) + 1, 0);
  for (int64_t k = 0; k < nnz; ++k)
    ++next[colIdx.ptr[k] + 1];
  for (int64_t j = 0; j < numCols; ++j)
    next[j + 1] += next[j];
  for (int64_t j = 0; j <= numCols; ++j)
    tRowPtr[j] = static_cast<Index>(next[j]);
  for (int64_t i = 0; i < numRows; ++i)
    for (int64_t k = rowPtr.ptr[i]; k < rowPtr.ptr[i + 1]; ++k) {
      int64_t at = next[colIdx.ptr[k]]++;
      tColIdx[at] = static_cast<Index>(i);
      tValues[at] = values.ptr[k];
    }
  for (int64_t k = nnz; k < tColIdx.size; ++k)
    tColIdx[k] = 0;
  for (int64_t k = nnz; k < tValues.size; ++k)
    tValues[k] = 0.0f;
}

} // namespace

extern "C" void lathe_rt_csr_transpose(int64_t rankRowPtr, void *rowPtr,
                                       int64_t rankColIdx, void *colIdx,
                                       int64_t rankValues, void *values,
                                       int64_t rankTRowPtr, void *tRowPtr,
                                       int64_t rankTColIdx, void *tColIdx,
                                       int64_t rankTValues, void *tValues,
                                       int64_t numRows, int64_t numCols) {
  guardKernel("lathe_rt_csr_transpose", [&] {
    csrTranspose<int64_t>("lathe_rt_csr_transpose", rankRowPtr, rowPtr,
                          rankColIdx, colIdx, rankValues, values, rankTRowPtr,
                          tRowPtr, rankTColIdx, tColIdx, rankTValues, tValues,
                          numRows, numCols);
  });
}

extern "C" void lathe_rt_csr_transpose_i32(int64_t rankRowPtr, void *rowPtr,
                                           int64_t rankColIdx, void *colIdx,
                                           int64_t rankValues, void *values,
                                           int64_t rankTRowPtr, void *tRowPtr,
                                           int64_t rankTColIdx, void *tColIdx,
                                           int64_t rankTValues, void *tValues,
                                           int64_t numRows, int64_t numCols) {
  guardKernel("lathe_rt_csr_transpose_i32", [&] {
    csrTranspose<int32_t>("lathe_rt_csr_transpose_i32", rankRowPtr, rowPtr,
                          rankColIdx, colIdx, rankValues, values, rankTRowPtr,
                          tRowPtr, rankTColIdx, tColIdx, rankTValues, tValues,
                          numRows, numCols);
  });
}

extern "C" void lathe_rt_spmm_csr_f32(int64_t rankRowPtr, void *rowPtr,
                                      int64_t rankColIdx, void *colIdx,
                                      int64_t rankValues, void *values,
                                      int64_t rankX, void *x, int64_t rankY,
                                      void *y, int64_t numRows, int64_t numCols,
                                      int64_t flags) {
  guardKernel("lathe_rt_spmm_csr_f32", [&] {
    if (flags & LATHE_SPMM_INDEX32)
      spmmCsr<int32_t>(rankRowPtr, rowPtr, rankColIdx, colIdx, rankValues,
                       values, rankX, x, rankY, y, numRows, numCols, flags);
    else
      spmmCsr<int64_t>(rankRowPtr, rowPtr, rankColIdx, colIdx, rankValues,
                       values, rankX, x, rankY, y, numRows, numCols, flags);
  });
}

extern "C" void
lathe_rt_spmm_tiled_f32(int64_t rankRowPtr, void *rowPtr, int64_t rankColIdx,
                        void *colIdx, int64_t rankValues, void *values,
                        int64_t rankClasses, void *classes, int64_t rankPerm,
                        void *perm, int64_t rankX, void *x, int64_t rankY,
                        void *y, int64_t numRows, int64_t numCols,
                        int64_t tileSize, int64_t thresholdPpm, int64_t flags) {
  guardKernel("lathe_rt_spmm_tiled_f32", [&] {
    if (flags & LATHE_SPMM_INDEX32)
      spmmTiled<int32_t>(rankRowPtr, rowPtr, rankColIdx, colIdx, rankValues,
                         values, rankClasses, classes, rankPerm, perm, rankX, x,
                         rankY, y, numRows, numCols, tileSize, thresholdPpm,
                         flags);
    else
      spmmTiled<int64_t>(rankRowPtr, rowPtr, rankColIdx, colIdx, rankValues,
                         values, rankClasses, classes, rankPerm, perm, rankX, x,
                         rankY, y, numRows, numCols, tileSize, thresholdPpm,
                         flags);
  });
}

extern "C" int lathe_rt_graph_order(int64_t order, int64_t n,
                                    const void *rowPtr, const void *colIdx,
                                    int index32, int64_t maxCluster,
                                    int64_t *perm) {
  int status = 0;
  guardKernel("lathe_rt_graph_order", [&] {
    status = 1;
    if (order < LATHE_ORDER_NONE || order > LATHE_ORDER_CLUSTER)
      fail(LATHE_ERR_INVALID, "unknown node ordering ", order,
           " (expected 0-3: none, degree, rcm, cluster)");
    if (n <= 0 || !rowPtr || !colIdx || !perm)
      fail(LATHE_ERR_INVALID,
           "expected a non-empty graph and non-null "
           "arrays, got n = ",
           n);
    auto run = [&](auto *rp, auto *ci) {
      using Index = std::remove_const_t<std::remove_pointer_t<decltype(rp)>>;
      Array1D<Index> r(rp, n + 1), c(ci, rp[n] >= 0 ? int64_t(rp[n]) : 0);
      validateCsr("lathe_rt_graph_order", r, c, c.size, n, n);
      std::vector<int64_t> p = lathe::graph_order::compute(
          static_cast<lathe::graph_order::Order>(order), n, rp, ci, maxCluster);
      std::copy(p.begin(), p.end(), perm);
    };
    if (index32)
      run(static_cast<const int32_t *>(rowPtr),
          static_cast<const int32_t *>(colIdx));
    else
      run(static_cast<const int64_t *>(rowPtr),
          static_cast<const int64_t *>(colIdx));
    status = 0;
  });
  return status;
}

extern "C" int lathe_rt_spmm_set_max_isa(int maxIsa) {
  microIsaCap.store(maxIsa < 0 ? -1 : maxIsa);
  return microIsa();
}

extern "C" void lathe_rt_spmm_clear_plans(void) {
  try {
    planCache().clear();
    validatedKeys().clear();
  } catch (...) {
    // Clearing only frees memory; nothing to report.
  }
}

// Spellings with 32-bit indices: generated code declares one callee per
// memref element type, so the index width is part of the symbol there.
extern "C" void lathe_rt_spmm_csr_f32_i32(int64_t rankRowPtr, void *rowPtr,
                                          int64_t rankColIdx, void *colIdx,
                                          int64_t rankValues, void *values,
                                          int64_t rankX, void *x, int64_t rankY,
                                          void *y, int64_t numRows,
                                          int64_t numCols, int64_t flags) {
  lathe_rt_spmm_csr_f32(rankRowPtr, rowPtr, rankColIdx, colIdx, rankValues,
                        values, rankX, x, rankY, y, numRows, numCols,
                        flags | LATHE_SPMM_INDEX32);
}

extern "C" void lathe_rt_spmm_tiled_f32_i32(
    int64_t rankRowPtr, void *rowPtr, int64_t rankColIdx, void *colIdx,
    int64_t rankValues, void *values, int64_t rankClasses, void *classes,
    int64_t rankPerm, void *perm, int64_t rankX, void *x, int64_t rankY,
    void *y, int64_t numRows, int64_t numCols, int64_t tileSize,
    int64_t thresholdPpm, int64_t flags) {
  lathe_rt_spmm_tiled_f32(rankRowPtr, rowPtr, rankColIdx, colIdx, rankValues,
                          values, rankClasses, classes, rankPerm, perm, rankX,
                          x, rankY, y, numRows, numCols, tileSize, thresholdPpm,
                          flags | LATHE_SPMM_INDEX32);
}
