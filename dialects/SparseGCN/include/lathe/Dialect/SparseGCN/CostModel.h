//===- CostModel.h - Dense vs sparse tile cost per target -------*- C++ -*-===//
//
// The decision H-GCN makes per tile (matrix engine or sparse engine) as a
// comparison of two measured throughputs: a dense tile of edge T costs
// 2·T²·F / R_gemm(T, F), its sparse execution 2·nnz·F / R_local(T, F); the
// two are equal at the break-even density R_local(T, F) / R_gemm(T, F), where
// R_local is the sparse engine's rate on the non-zeros of one tile (their X
// rows lie in a window of T rows, which stays in the cache). Both rates
// depend on the feature width F (register blocking, cache footprint of the X
// window), so the break-even does too: on the development machine it moves
// from 0.39 (T = 128, F = 256) to 0.66 (T = 128, F = 64).
// A tile is dense only when its density reaches the break-even times a
// safety margin (> 1): near the break-even both engines cost about the same,
// and a misprediction there (noise in the table, another machine's cache)
// would otherwise send tiles to the slower engine.
// Rates are GFLOP/s of useful work, measured on the target (the CPU's table
// and its provenance are in lib/Target/CPU/Target.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DIALECT_SPARSEGCN_COSTMODEL_H
#define LATHE_DIALECT_SPARSEGCN_COSTMODEL_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace mlir::lathe::sparsegcn {

/// Measured throughput of a target's two engines: the `sparsegcn` table of
/// the module's `#lathe.target` (see readTileCostTable in Passes.h; the CPU's
/// shipped table is in lib/Target/CPU/Target.cpp).
struct TileCostTable {
  std::string name;
  /// Tile sizes and feature widths the table was measured at (increasing).
  std::vector<int64_t> tileSizes;
  std::vector<int64_t> widths;
  /// Dense engine, [tile size][width].
  std::vector<double> gemm;
  /// Sparse engine on the non-zeros of one tile (X rows within a window of
  /// T rows, cache-resident), [tile size][width]: what a dense tile competes
  /// with. Measured together with `gemm` (interleaved), so that their ratio
  /// holds even when the machine's load inflates both.
  std::vector<double> spmmLocal;
  /// Sparse engine on scattered non-zeros with X in the cache / streamed
  /// from memory, [width]; predictions interpolate between them by the size
  /// of X relative to cacheBytes.
  std::vector<double> spmmResident;
  std::vector<double> spmmStreamed;
  int64_t cacheBytes = 0;
  /// The micro-tile engine (optional; microTile = 0 when the target has
  /// none): its edge, and per width its rate on full microTile² tiles and
  /// the CSR kernel's rate on the same non-zeros, measured together.
  int64_t microTile = 0;
  std::vector<double> microGemm;
  std::vector<double> microCsr;
  /// The row-group engine (optional; groupMax = 0 when the target has none):
  /// the most rows of a group, and per group size g = 2..groupMax and width
  /// ([g - 2][width]) its rate on full groups of g rows and the CSR
  /// kernel's rate on the same non-zeros, measured together.
  int64_t groupMax = 0;
  std::vector<double> groupGemm;
  std::vector<double> groupCsr;
  /// Factor (>= 1) on the break-even density below which a tile stays sparse.
  double safetyMargin = 1.0;
  /// Optional (empty: none) seconds every non-empty tile costs whichever
  /// engine runs it, [tile size][width]: the `tile_overhead_us` key of an
  /// engine with a per-tile start-up (the accelerator target's sparse
  /// engine, lib/Target/Accel). `gemm` then prices a dense tile beyond it,
  /// so the break-even is unchanged by it; it enters the predicted times,
  /// and so the choice of the tile size.
  std::vector<double> tileOverhead;
};

class TileCostModel {
public:
  explicit TileCostModel(TileCostTable table) : table(std::move(table)) {}

  StringRef getName() const { return table.name; }
  /// Tile sizes the dense engine is measured at (and prefers).
  ArrayRef<int64_t> getTileSizes() const { return table.tileSizes; }
  /// Throughput of the dense engine on a T x T tile times a T x F block.
  double gemmGflops(int64_t tileSize, int64_t width) const;
  /// Throughput of the sparse engine on the non-zeros of one T x T tile.
  double spmmLocalGflops(int64_t tileSize, int64_t width) const;
  /// Feature widths the table was measured at.
  ArrayRef<int64_t> getWidths() const { return table.widths; }
  double getSafetyMargin() const { return table.safetyMargin; }
  /// Throughput of the sparse engine on a graph of `numCols` nodes.
  double spmmGflops(int64_t width, int64_t numCols) const;
  /// Density at which a dense tile and its non-zeros on the sparse engine
  /// are predicted to take the same time (may exceed 1: never dense).
  double breakEvenDensity(int64_t tileSize, int64_t width) const;
  /// Density from which a tile is dense: the break-even times the safety
  /// margin, at most 1 (a full tile is always dense-eligible).
  double denseThreshold(int64_t tileSize, int64_t width) const;
  /// The threshold for an unknown (dynamic) width: the largest over the
  /// measured widths, so a tile is dense only if it is at every width.
  double denseThresholdAnyWidth(int64_t tileSize) const;
  /// Predicted seconds for `nnz` scattered non-zeros on the sparse engine.
  double sparseSeconds(int64_t nnz, int64_t width, int64_t numCols) const;
  /// Predicted seconds for dense tiles covering `elements` matrix entries.
  double denseSeconds(int64_t elements, int64_t tileSize, int64_t width) const;
  /// Predicted seconds every non-empty tile costs on top (0 without a
  /// `tile_overhead_us` key).
  double tileOverheadSeconds(int64_t tileSize, int64_t width) const;

  /// The micro-tile engine's edge, 0 when the target has none.
  int64_t getMicroTile() const { return table.microTile; }
  /// Density of a micro tile at which it costs the same on the micro-tile
  /// engine and on the CSR kernel: csr rate / micro rate, both measured on
  /// the same full micro tiles.
  double microBreakEvenDensity(int64_t width) const;
  /// The micro tile's dense threshold: min(1, margin * break-even); for a
  /// dynamic width the largest over the calibrated widths.
  double microThreshold(int64_t width) const;
  double microThresholdAnyWidth() const;
  /// Predicted seconds of the micro-tile engine on dense micro tiles
  /// covering `elements` entries of an `numCols`-node graph: the CSR
  /// kernel's time on elements · break-even non-zeros of that graph.
  double microSeconds(int64_t elements, int64_t width, int64_t numCols) const;

  /// The row-group engine's largest group, 0 when the target has none.
  int64_t getGroupMax() const { return table.groupMax; }
  /// Density of a group of `rows` rows (stored entries / rows x union
  /// columns) at which it costs the same on the row-group engine and on the
  /// CSR kernel: csr rate / group rate, measured on the same full groups.
  double groupBreakEvenDensity(int64_t rows, int64_t width) const;
  /// The groups' threshold: min(1, margin * the largest break-even over the
  /// group sizes), so that a group of any size that reaches it is predicted
  /// faster; for a dynamic width the largest over the calibrated widths.
  double groupThreshold(int64_t width) const;
  double groupThresholdAnyWidth() const;
  /// Predicted seconds of a group of `rows` rows covering `elements`
  /// entries (rows x union columns) of an `numCols`-node graph: the CSR
  /// kernel's time on elements · break-even non-zeros of that graph.
  double groupSeconds(int64_t rows, int64_t elements, int64_t width,
                      int64_t numCols) const;

private:
  TileCostTable table;
};

} // namespace mlir::lathe::sparsegcn

#endif // LATHE_DIALECT_SPARSEGCN_COSTMODEL_H
