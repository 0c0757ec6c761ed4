//===- Sparse.h - Lathe runtime: sparse graph aggregation -------*- C -*-===//
//
// Kernels of the sparsegcn dialect (C ABI, no MLIR headers). Memref operands
// follow Runtime.h's convention: (int64_t rank, void *descriptor) pairs with
// descriptor = {T *allocated, T *aligned, int64_t offset, int64_t sizes[rank],
// int64_t strides[rank]}; the element type T of each operand is stated below.
// Failures (bad indices, shapes) become the pending error
// (lathe_rt_take_pending_error) and leave the output unspecified; nothing
// aborts on user input.
//
// Thread-safety: any thread; kernels may run concurrently (see Runtime.h:
// each acts on the current session, whose tile-plan cache is guarded).
// Threads: lathe_rt_set_num_threads (else OpenMP's default) threads, the
// caller and a small pool; oneDNN's sgemm runs single-threaded inside them.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_SPARSE_H
#define LATHE_RUNTIME_SPARSE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Flags of the SpMM kernels.
enum {
  /// row_ptr / col_idx (and permutation) are int32 instead of int64.
  LATHE_SPMM_INDEX32 = 1 << 0,
  /// The CSR operands are constants (globals): the tiled kernel may build its
  /// tile plan (classification, gathered dense blocks) once per address.
  LATHE_SPMM_CONST_A = 1 << 1,
  /// No tile classes are given: classify each tile as dense when
  /// nnz / (rows * cols) >= thresholdPpm * 1e-6 (the classes operand is
  /// ignored).
  LATHE_SPMM_CLASSIFY = 1 << 2,
  /// A permutation operand is given (see lathe_rt_spmm_tiled_f32).
  LATHE_SPMM_PERMUTED = 1 << 3,
  /// Bits 4-6: a node ordering the tiled kernel applies to the adjacency
  /// itself when it builds its plan (with LATHE_SPMM_CLASSIFY, without
  /// LATHE_SPMM_PERMUTED): LATHE_ORDER_* << LATHE_SPMM_REORDER_SHIFT.
  LATHE_SPMM_REORDER_SHIFT = 4,
  LATHE_SPMM_REORDER_MASK = 7 << 4,
  /// The tiled kernel's dense tiles run the micro-tile engine instead of
  /// oneDNN's sgemm: tileSize must be LATHE_SPMM_MICRO_TILE, only tiles that
  /// lie wholly inside the matrix can be dense (a border tile classified
  /// dense runs as sparse), and each dense tile is stored as a 4 x 4 block
  /// (block-sparse rows) that a register-blocked kernel multiplies with 4
  /// rows of x at a time (each row of x loaded once per block instead of
  /// once per non-zero), fused with the CSR kernel on the tile row's other
  /// non-zeros.
  LATHE_SPMM_MICRO = 1 << 7,
  /// The tiled kernel runs the row-group engine (with LATHE_SPMM_CLASSIFY,
  /// without LATHE_SPMM_MICRO): consecutive rows whose column sets (nearly)
  /// agree form groups of at most tileSize (<= LATHE_SPMM_ROW_GROUP_MAX)
  /// rows. A row joins the group above it while the group's stored entries
  /// fill at least thresholdPpm * 1e-6 of (its rows x the union of their
  /// columns): 1e6 groups only rows with identical column sets. Each group is
  /// a dense [rows x union] block (absent entries as zeros) multiplied by the
  /// gathered rows of x, each row of x loaded once for all the group's rows;
  /// the other rows run the CSR kernel. NaN or Inf in x reaches only the rows
  /// whose stored entries read it. The tile classes operand is ignored.
  LATHE_SPMM_ROW_GROUPS = 1 << 8,
};

/// The most rows of a group of the row-group engine (LATHE_SPMM_ROW_GROUPS).
enum { LATHE_SPMM_ROW_GROUP_MAX = 4 };

/// The edge of the micro-tile engine's blocks (LATHE_SPMM_MICRO).
enum { LATHE_SPMM_MICRO_TILE = 4 };

/// Instruction-set variants of the micro-tile engine, chosen at run time
/// from the CPU's features (lathe_rt_spmm_set_max_isa caps the choice).
enum {
  LATHE_SPMM_ISA_BASELINE = 0,
  LATHE_SPMM_ISA_AVX2 = 1,
  LATHE_SPMM_ISA_AVX512 = 2,
};

/// Node orderings (lathe_rt_graph_order, LATHE_SPMM_REORDER_*): the same
/// algorithms as sparsegcn-tile's `reorder` option
/// (lathe/runtime/GraphOrder.h).
enum {
  LATHE_ORDER_NONE = 0,
  /// Decreasing degree.
  LATHE_ORDER_DEGREE = 1,
  /// Reverse Cuthill-McKee on the symmetrised pattern.
  LATHE_ORDER_RCM = 2,
  /// Size-bounded label-propagation clusters (at most one tile of nodes
  /// each), placed contiguously.
  LATHE_ORDER_CLUSTER = 3,
  /// The tiled kernel only: of degree, rcm and cluster, the ordering that
  /// puts the most non-zeros into dense tiles; none when no ordering gives a
  /// dense tile (a permutation costs a gather of x and a scatter of y).
  LATHE_ORDER_AUTO = 4,
};

/// Tile classes (one int8 per tile, row-major over the tile grid).
enum {
  LATHE_TILE_EMPTY = 0,
  LATHE_TILE_SPARSE = 1,
  LATHE_TILE_DENSE = 2,
};

/// y = A x, A = CSR(row_ptr [numRows+1], col_idx [nnz], values [nnz] f32),
/// x [numCols, F] f32, y [numRows, F] f32 (overwritten). Rows split over the
/// kernel's threads, vectorised across the F feature columns. Validates row_ptr
/// (starts at 0, non-decreasing, ends within col_idx) and every column index.
void lathe_rt_spmm_csr_f32(int64_t rankRowPtr, void *rowPtr, int64_t rankColIdx,
                           void *colIdx, int64_t rankValues, void *values,
                           int64_t rankX, void *x, int64_t rankY, void *y,
                           int64_t numRows, int64_t numCols, int64_t flags);

/// The same product on tileSize x tileSize tiles: classes [tiles] int8
/// (LATHE_TILE_*; ignored with LATHE_SPMM_CLASSIFY). Dense tiles are
/// gathered once into dense blocks (consecutive dense tiles of a tile row
/// into one block) and multiplied with oneDNN's sgemm, sparse tiles run the
/// CSR kernel, empty tiles are skipped. With LATHE_SPMM_PERMUTED the CSR
/// operands describe P A P^T (stored row i is node perm[i]) and `perm`
/// [numRows] (index type) maps back: y[perm[i]] = (P A P^T P x)[i].
/// A cached plan's memory (dense blocks, filtered CSR, permutation) comes
/// from the runtime's counted allocator: it is part of the session's
/// lathe_rt_mem_current and lathe_rt_mem_peak until lathe_rt_spmm_clear_plans
/// or the session's end.
void lathe_rt_spmm_tiled_f32(int64_t rankRowPtr, void *rowPtr,
                             int64_t rankColIdx, void *colIdx,
                             int64_t rankValues, void *values,
                             int64_t rankClasses, void *classes,
                             int64_t rankPerm, void *perm, int64_t rankX,
                             void *x, int64_t rankY, void *y, int64_t numRows,
                             int64_t numCols, int64_t tileSize,
                             int64_t thresholdPpm, int64_t flags);

/// With LATHE_SPMM_REORDER_* (and LATHE_SPMM_CLASSIFY) in flags, the plan
/// is built for P A P^T with the ordering the flag names, and executed as
/// with a permutation operand; the plan (and so the ordering's cost) is
/// cached like any plan of a constant adjacency.

/// The same kernels with 32-bit row_ptr / col_idx / permutation (the
/// LATHE_SPMM_INDEX32 flag implied); generated code calls these for i32
/// index memrefs.
void lathe_rt_spmm_csr_f32_i32(int64_t rankRowPtr, void *rowPtr,
                               int64_t rankColIdx, void *colIdx,
                               int64_t rankValues, void *values, int64_t rankX,
                               void *x, int64_t rankY, void *y, int64_t numRows,
                               int64_t numCols, int64_t flags);
void lathe_rt_spmm_tiled_f32_i32(
    int64_t rankRowPtr, void *rowPtr, int64_t rankColIdx, void *colIdx,
    int64_t rankValues, void *values, int64_t rankClasses, void *classes,
    int64_t rankPerm, void *perm, int64_t rankX, void *x, int64_t rankY,
    void *y, int64_t numRows, int64_t numCols, int64_t tileSize,
    int64_t thresholdPpm, int64_t flags);

/// The CSR form of A^T from that of the numRows x numCols matrix A:
/// row_ptr [numRows+1], col_idx [nnz], values [nnz] f32 in; t_row_ptr
/// [numCols+1], t_col_idx [nnz], t_values [nnz] out (a counting sort by
/// column; each row of A^T comes out with increasing column indices).
/// Validates the input like lathe_rt_spmm_csr_f32 (A need not be square).
/// Index operands are int64 here, int32 in the _i32 spelling.
void lathe_rt_csr_transpose(int64_t rankRowPtr, void *rowPtr,
                            int64_t rankColIdx, void *colIdx,
                            int64_t rankValues, void *values,
                            int64_t rankTRowPtr, void *tRowPtr,
                            int64_t rankTColIdx, void *tColIdx,
                            int64_t rankTValues, void *tValues, int64_t numRows,
                            int64_t numCols);
void lathe_rt_csr_transpose_i32(int64_t rankRowPtr, void *rowPtr,
                                int64_t rankColIdx, void *colIdx,
                                int64_t rankValues, void *values,
                                int64_t rankTRowPtr, void *tRowPtr,
                                int64_t rankTColIdx, void *tColIdx,
                                int64_t rankTValues, void *tValues,
                                int64_t numRows, int64_t numCols);

/// perm [n] int64 (out): the ordering `order` (LATHE_ORDER_DEGREE, _RCM or
/// _CLUSTER; _NONE gives the identity) of the n x n CSR matrix row_ptr
/// [n+1], col_idx [row_ptr[n]] (int32 when index32 is non-zero, else
/// int64); perm[i] is the node placed at position i. maxCluster bounds the
/// clusters of LATHE_ORDER_CLUSTER (the tiled kernel uses its tile size).
/// Returns 0, or non-zero with the pending error set (bad order, bad CSR).
int lathe_rt_graph_order(int64_t order, int64_t n, const void *rowPtr,
                         const void *colIdx, int index32, int64_t maxCluster,
                         int64_t *perm);

/// Caps the micro-tile engine's instruction set at `maxIsa`
/// (LATHE_SPMM_ISA_*; a negative value removes the cap) for the whole
/// process, and returns the variant now in use: the lower of the cap and
/// what the CPU supports. Tests use it to run the AVX2 and baseline variants
/// on an AVX-512 CPU. Any thread (an atomic; calls in flight keep the
/// variant they started with).
int lathe_rt_spmm_set_max_isa(int maxIsa);

/// Drops the current session's cached tile plans and validated constant
/// adjacencies (destroying the session does too; within a session, call it
/// before memory that held a constant adjacency is reused for another one).
/// Any thread.
void lathe_rt_spmm_clear_plans(void);

#ifdef __cplusplus
}
#endif

#endif // LATHE_RUNTIME_SPARSE_H
