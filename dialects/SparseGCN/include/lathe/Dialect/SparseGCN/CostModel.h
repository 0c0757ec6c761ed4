//===- CostModel.h - Dense vs sparse tile cost per target -------*- C++ -*-===//
//
// The decision H-GCN makes per tile (matrix engine or sparse engine) as a
// comparison of two measured throughputs: a dense tile of edge T costs
// 2·T²·F / R_gemm(T, F), its sparse execution 2·nnz·F / R_spmm(F); the tile
// is dense when its density nnz/T² reaches R_spmm(F) / R_gemm(T, F).
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

class TileCostModel {
public:
  /// The model of a named target ("cpu"), or null if unknown.
  static const TileCostModel *lookup(StringRef target);

  StringRef getName() const { return name; }
  /// Tile sizes the dense engine is measured at (and prefers).
  ArrayRef<int64_t> getTileSizes() const { return tileSizes; }
  /// Throughput of the dense engine on a T x T tile times a T x F block.
  double gemmGflops(int64_t tileSize, int64_t width) const;
  /// Throughput of the sparse kernel (useful flops 2·nnz·F per second).
  double spmmGflops(int64_t width) const;
  /// Density at which a dense tile is no slower than its sparse execution.
  double denseThreshold(int64_t tileSize, int64_t width) const;
  /// Predicted seconds for `nnz` non-zeros on the sparse engine.
  double sparseSeconds(int64_t nnz, int64_t width) const;
  /// Predicted seconds for dense tiles covering `elements` matrix entries.
  double denseSeconds(int64_t elements, int64_t tileSize, int64_t width) const;

  TileCostModel(StringRef name, ArrayRef<int64_t> tileSizes,
                ArrayRef<int64_t> widths, ArrayRef<double> gemm,
                ArrayRef<double> spmm)
      : name(name), tileSizes(tileSizes), widths(widths), gemm(gemm),
        spmm(spmm) {}

private:
  StringRef name;
  ArrayRef<int64_t> tileSizes;
  ArrayRef<int64_t> widths;
  /// gemm[i * widths.size() + j]: tile size i, width j.
  ArrayRef<double> gemm;
  /// spmm[j]: width j.
  ArrayRef<double> spmm;
};

} // namespace mlir::lathe::sparsegcn

#endif // LATHE_DIALECT_SPARSEGCN_COSTMODEL_H
