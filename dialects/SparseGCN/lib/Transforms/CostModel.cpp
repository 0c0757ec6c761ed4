//===- CostModel.cpp - Measured dense/sparse throughput tables ------------===//
//
// Provenance of the "cpu" table: measured on this machine (2 cores of an
// AVX-512 Xeon, 48 KiB L1d and 2 MiB L2 per core, Debian 12, oneDNN 2.6.3) by
//   /usr/bin/python3 bench/sparsegcn.py --calibrate --threads 1
// which times the runtime's own kernels through ctypes, on 64-byte-aligned
// X and Y as the runtime's allocator hands them to compiled code: for every
// tile size T and width F, interleaved, the tiled kernel on a block-diagonal
// matrix of fully dense T x T tiles (its dense engine: oneDNN sgemm on
// gathered blocks) and on random 50%-dense T x T diagonal tiles classified
// sparse (its sparse engine, the CSR kernel, on block-local non-zeros); then
// the CSR kernel on random graphs. Rates are GFLOP/s of useful work (2·T²·F
// resp. 2·nnz·F per second). Re-run the calibration and paste its table here
// when the machine or the kernels change.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/SparseGCN/CostModel.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::lathe::sparsegcn;

namespace {
// clang-format off
constexpr int64_t kCpuTileSizes[] = {32, 64, 128, 256};
constexpr int64_t kCpuWidths[] = {16, 32, 64, 128, 256};
// GFLOP/s, one calibration run of 2026-11-27 23:32 UTC with --threads 1 (the
// 2-core machine was shared with other builds, load average 10: absolute
// rates carry +-30% noise, the dense/sparse ratio of a cell, timed
// interleaved, about +-7% between runs). One thread: both engines split the
// same tile rows over threads, so their ratio does not depend on the count.
constexpr double kCpuGemm[] = {
    // F =       16     32     64    128    256
    /*T=32 */  39.4,  68.5,  75.9,  90.6,  98.5,
    /*T=64 */  78.8,  84.2, 106.4, 117.5, 121.4,
    /*T=128*/  97.1, 130.5, 133.3, 143.5, 113.4,
    /*T=256*/ 116.1, 148.5, 145.2, 146.7, 117.9,
};
// Random 50%-dense T x T diagonal tiles (4096 nodes).
constexpr double kCpuSpmmLocal[] = {
    /*T=32 */  42.3,  61.4,  59.1,  64.4,  67.8,
    /*T=64 */  47.3,  50.9,  73.4,  76.8,  65.7,
    /*T=128*/  48.3,  71.1,  88.1,  72.6,  44.0,
    /*T=256*/  55.8,  79.0,  74.4,  51.6,  28.4,
};
// Random graphs of degree 8: 2048 nodes (X in the cache), 16384 (streamed).
constexpr double kCpuSpmmResident[] = {31.7, 42.4, 45.4, 42.5, 27.5};
constexpr double kCpuSpmmStreamed[] = {16.1, 22.6, 18.7, 13.1, 10.8};
// clang-format on

/// L2 per core of the calibration machine (2 MiB).
constexpr int64_t kCpuCacheBytes = int64_t(2) << 20;

/// A tile goes to the GEMM only when predicted >= 15% faster there: twice the
/// run-to-run spread of the measured ratios.
constexpr double kCpuSafetyMargin = 1.15;

const TileCostTable kCpuTable = {
    "cpu",           kCpuTileSizes,    kCpuWidths,       kCpuGemm,
    kCpuSpmmLocal,   kCpuSpmmResident, kCpuSpmmStreamed, kCpuCacheBytes,
    kCpuSafetyMargin};
const TileCostModel kCpuModel(kCpuTable);

/// Index of the nearest measured entry and the log-linear weight toward the
/// next one.
std::pair<size_t, double> interpolate(ArrayRef<int64_t> points, int64_t v) {
  if (v <= points.front())
    return {0, 0.0};
  if (v >= points.back())
    return {points.size() - 1, 0.0};
  size_t i = 0;
  while (points[i + 1] < v)
    ++i;
  double w = (std::log(double(v)) - std::log(double(points[i]))) /
             (std::log(double(points[i + 1])) - std::log(double(points[i])));
  return {i, w};
}

/// `values` (one per width) at `width`.
double byWidth(ArrayRef<int64_t> widths, ArrayRef<double> values,
               int64_t width) {
  auto [i, w] = interpolate(widths, width);
  return w == 0.0 ? values[i] : values[i] * (1 - w) + values[i + 1] * w;
}
} // namespace

const TileCostModel *TileCostModel::lookup(StringRef target) {
  if (target == "cpu")
    return &kCpuModel;
  return nullptr;
}

/// A [tile size][width] table at (tileSize, width), interpolated in both.
static double byTileAndWidth(const TileCostTable &table,
                             ArrayRef<double> values, int64_t tileSize,
                             int64_t width) {
  size_t nw = table.widths.size();
  auto [t, w] = interpolate(table.tileSizes, tileSize);
  double r = byWidth(table.widths, values.slice(t * nw, nw), width);
  if (w != 0.0)
    r = r * (1 - w) +
        byWidth(table.widths, values.slice((t + 1) * nw, nw), width) * w;
  return r;
}

double TileCostModel::spmmLocalGflops(int64_t tileSize, int64_t width) const {
  return byTileAndWidth(table, table.spmmLocal, tileSize, width);
}

double TileCostModel::spmmGflops(int64_t width, int64_t numCols) const {
  double resident = byWidth(table.widths, table.spmmResident, width);
  double streamed = byWidth(table.widths, table.spmmStreamed, width);
  double bytes = double(numCols) * double(width) * 4.0;
  double lo = double(table.cacheBytes), hi = 8.0 * lo;
  if (bytes <= lo)
    return resident;
  if (bytes >= hi)
    return streamed;
  double w = std::log(bytes / lo) / std::log(hi / lo);
  return resident * (1 - w) + streamed * w;
}

double TileCostModel::gemmGflops(int64_t tileSize, int64_t width) const {
  double r = byTileAndWidth(table, table.gemm, tileSize, width);
  // Below the smallest measured tile the engine only gets slower.
  if (tileSize < table.tileSizes.front())
    r *= double(tileSize) / double(table.tileSizes.front());
  return r;
}

double TileCostModel::breakEvenDensity(int64_t tileSize, int64_t width) const {
  return spmmLocalGflops(tileSize, width) / gemmGflops(tileSize, width);
}

double TileCostModel::denseThreshold(int64_t tileSize, int64_t width) const {
  return std::min(1.0, table.safetyMargin * breakEvenDensity(tileSize, width));
}

double TileCostModel::denseThresholdAnyWidth(int64_t tileSize) const {
  double threshold = 0.0;
  for (int64_t width : table.widths)
    threshold = std::max(threshold, denseThreshold(tileSize, width));
  return threshold;
}

double TileCostModel::sparseSeconds(int64_t nnz, int64_t width,
                                    int64_t numCols) const {
  return 2.0 * double(nnz) * double(width) / (spmmGflops(width, numCols) * 1e9);
}

double TileCostModel::denseSeconds(int64_t elements, int64_t tileSize,
                                   int64_t width) const {
  return 2.0 * double(elements) * double(width) /
         (gemmGflops(tileSize, width) * 1e9);
}
