//===- CostModel.cpp - Measured dense/sparse throughput tables ------------===//
//
// Provenance of the "cpu" table: measured on this machine (2 cores of an
// AVX-512 Xeon, Debian 12, oneDNN 2.6.3) by
//   /usr/bin/python3 bench/sparsegcn.py --calibrate
// which times the runtime's own kernels through ctypes: the tiled kernel on a
// block-diagonal matrix of fully dense T x T tiles (its dense engine: oneDNN
// sgemm on gathered blocks) and, with every tile sparse (its sparse engine:
// the CSR kernel), on block-local non-zeros and on random graphs. Rates are
// GFLOP/s of useful work (2·T²·F resp. 2·nnz·F per second). Re-run the
// calibration and paste its table here when the machine changes.
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
constexpr int64_t kCpuWidths[] = {16, 64, 256};
// GFLOP/s; each entry is the median of three calibration runs made on
// 2026-11-27 with --threads 1: the 2-core machine was shared with other
// builds, which makes 2-thread timings swing by 10x, and even 1-thread
// entries by +-30%. Both engines scale with cores alike; the decisions use
// their ratio.
constexpr double kCpuGemm[] = {
    // F =  16     64     256
    /*T=32 */ 17.0, 28.4, 30.8,
    /*T=64 */ 29.0, 45.5, 54.2,
    /*T=128*/ 42.1, 62.2, 73.5,
    /*T=256*/ 41.7, 59.1, 53.3,
};
// Random 30%-dense 128 x 128 diagonal blocks (4096 nodes).
constexpr double kCpuSpmmLocal[] = {11.6, 24.3, 15.9};
// Random graphs of degree 8: 2048 nodes (X in the cache), 16384 (streamed).
constexpr double kCpuSpmmResident[] = {12.6, 11.4, 10.5};
constexpr double kCpuSpmmStreamed[] = {6.2, 5.8, 4.9};
// clang-format on

/// L2 per core of the calibration machine (2 MiB).
constexpr int64_t kCpuCacheBytes = int64_t(2) << 20;

const TileCostTable kCpuTable = {
    "cpu",          kCpuTileSizes,    kCpuWidths,       kCpuGemm,
    kCpuSpmmLocal,  kCpuSpmmResident, kCpuSpmmStreamed, kCpuCacheBytes};
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

double TileCostModel::spmmLocalGflops(int64_t width) const {
  return byWidth(table.widths, table.spmmLocal, width);
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
  size_t nw = table.widths.size();
  auto [t, w] = interpolate(table.tileSizes, tileSize);
  double r = byWidth(table.widths, table.gemm.slice(t * nw, nw), width);
  if (w != 0.0)
    r = r * (1 - w) +
        byWidth(table.widths, table.gemm.slice((t + 1) * nw, nw), width) * w;
  // Below the smallest measured tile the engine only gets slower.
  if (tileSize < table.tileSizes.front())
    r *= double(tileSize) / double(table.tileSizes.front());
  return r;
}

double TileCostModel::denseThreshold(int64_t tileSize, int64_t width) const {
  return std::min(1.0, spmmLocalGflops(width) / gemmGflops(tileSize, width));
}

double TileCostModel::sparseSeconds(int64_t nnz, int64_t width,
                                    int64_t numCols) const {
  return 2.0 * double(nnz) * double(width) /
         (spmmGflops(width, numCols) * 1e9);
}

double TileCostModel::denseSeconds(int64_t elements, int64_t tileSize,
                                   int64_t width) const {
  return 2.0 * double(elements) * double(width) /
         (gemmGflops(tileSize, width) * 1e9);
}
