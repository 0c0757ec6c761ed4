//===- CostModel.h - Dense vs sparse tile cost per target -------*- C++ -*-===//
//
// The decision H-GCN makes per tile (matrix engine or sparse engine) as a
// comparison of two measured throughputs: a dense tile of edge T costs
// 2·T²·F / R_gemm(T, F), its sparse execution 2·nnz·F / R_spmm(F); the tile
// is dense when its density nnz/T² reaches R_spmm(F) / R_gemm(T, F), where
// R_spmm is the sparse engine's rate on the non-zeros of one tile (their X
// rows lie in a window of T rows, which stays in the cache).
// Rates are GFLOP/s of useful work, measured on the target (see CostModel.cpp
// for the table and its provenance).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DIALECT_SPARSEGCN_COSTMODEL_H
#define LATHE_DIALECT_SPARSEGCN_COSTMODEL_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::lathe::sparsegcn {

/// Measured throughput of a target's two engines.
struct TileCostTable {
  StringRef name;
  /// Tile sizes and feature widths the table was measured at.
  ArrayRef<int64_t> tileSizes;
  ArrayRef<int64_t> widths;
  /// Dense engine, [tile size][width].
  ArrayRef<double> gemm;
  /// Sparse engine on the non-zeros of one tile (X rows within a window of
  /// T rows, cache-resident), [width]: what a dense tile competes with.
  ArrayRef<double> spmmLocal;
  /// Sparse engine on scattered non-zeros with X in the cache / streamed
  /// from memory, [width]; predictions interpolate between them by the size
  /// of X relative to cacheBytes.
  ArrayRef<double> spmmResident;
  ArrayRef<double> spmmStreamed;
  int64_t cacheBytes;
};

class TileCostModel {
public:
  /// The model of a named target ("cpu"), or null if unknown.
  static const TileCostModel *lookup(StringRef target);

  explicit TileCostModel(const TileCostTable &table) : table(table) {}

  StringRef getName() const { return table.name; }
  /// Tile sizes the dense engine is measured at (and prefers).
  ArrayRef<int64_t> getTileSizes() const { return table.tileSizes; }
  /// Throughput of the dense engine on a T x T tile times a T x F block.
  double gemmGflops(int64_t tileSize, int64_t width) const;
  /// Throughput of the sparse engine on the non-zeros of one tile.
  double spmmLocalGflops(int64_t width) const;
  /// Throughput of the sparse engine on a graph of `numCols` nodes.
  double spmmGflops(int64_t width, int64_t numCols) const;
  /// Density at which a dense tile is no slower than running its non-zeros
  /// on the sparse engine.
  double denseThreshold(int64_t tileSize, int64_t width) const;
  /// Predicted seconds for `nnz` scattered non-zeros on the sparse engine.
  double sparseSeconds(int64_t nnz, int64_t width, int64_t numCols) const;
  /// Predicted seconds for dense tiles covering `elements` matrix entries.
  double denseSeconds(int64_t elements, int64_t tileSize, int64_t width) const;

private:
  const TileCostTable &table;
};

} // namespace mlir::lathe::sparsegcn

#endif // LATHE_DIALECT_SPARSEGCN_COSTMODEL_H
