//===- CostModel.cpp - Measured dense/sparse throughput tables ------------===//
//
// Provenance of the "cpu" table: measured on this machine (2 cores of an
// AVX-512 Xeon, Debian 12, oneDNN 2.6.3) by
//   /usr/bin/python3 bench/sparsegcn.py --calibrate
// which times the runtime's own kernels through ctypes: the tiled kernel on a
// block-diagonal matrix of fully dense T x T tiles (its dense engine: oneDNN
// sgemm on gathered blocks) and on a random graph of average degree 8 with
// every tile sparse (its sparse engine: the CSR kernel). Rates are
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
// GFLOP/s, rows: tile size, columns: width. Measured 2026-11-27 with
// OMP_NUM_THREADS=1 (the 2-core machine was shared with other builds, which
// makes 2-thread timings swing by 10x; both engines scale with cores alike,
// and only their ratio, the threshold, enters the decisions).
constexpr double kCpuGemm[] = {
    /*T=32 */ 10.1, 16.8, 28.0,
    /*T=64 */ 24.7, 36.0, 38.9,
    /*T=128*/ 34.5, 44.7, 47.3,
    /*T=256*/ 40.0, 49.9, 52.7,
};
// Random graph, 16384 nodes, average degree 8, F = 16 / 64 / 256.
constexpr double kCpuSpmm[] = {/*F=16*/ 5.1, /*F=64*/ 7.6, /*F=256*/ 3.5};
// clang-format on

const TileCostModel kCpuModel("cpu", kCpuTileSizes, kCpuWidths, kCpuGemm,
                              kCpuSpmm);

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
} // namespace

const TileCostModel *TileCostModel::lookup(StringRef target) {
  if (target == "cpu")
    return &kCpuModel;
  return nullptr;
}

double TileCostModel::spmmGflops(int64_t width) const {
  auto [i, w] = interpolate(widths, width);
  if (w == 0.0)
    return spmm[i];
  return spmm[i] * (1 - w) + spmm[i + 1] * w;
}

double TileCostModel::gemmGflops(int64_t tileSize, int64_t width) const {
  size_t nw = widths.size();
  auto rowAt = [&](size_t t) {
    auto [j, w] = interpolate(widths, width);
    double a = gemm[t * nw + j];
    return w == 0.0 ? a : a * (1 - w) + gemm[t * nw + j + 1] * w;
  };
  auto [t, w] = interpolate(tileSizes, tileSize);
  double r = w == 0.0 ? rowAt(t) : rowAt(t) * (1 - w) + rowAt(t + 1) * w;
  // Below the smallest measured tile the engine only gets slower.
  if (tileSize < tileSizes.front())
    r *= double(tileSize) / double(tileSizes.front());
  return r;
}

double TileCostModel::denseThreshold(int64_t tileSize, int64_t width) const {
  return std::min(1.0, spmmGflops(width) / gemmGflops(tileSize, width));
}

double TileCostModel::sparseSeconds(int64_t nnz, int64_t width) const {
  return 2.0 * double(nnz) * double(width) / (spmmGflops(width) * 1e9);
}

double TileCostModel::denseSeconds(int64_t elements, int64_t tileSize,
                                   int64_t width) const {
  return 2.0 * double(elements) * double(width) /
         (gemmGflops(tileSize, width) * 1e9);
}
