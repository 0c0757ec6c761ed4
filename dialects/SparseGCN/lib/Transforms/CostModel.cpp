//===- CostModel.cpp - Dense/sparse tile cost from measured rates --------===//

#include "lathe/Dialect/SparseGCN/CostModel.h"
#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::lathe::sparsegcn;

namespace {
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

double TileCostModel::tileOverheadSeconds(int64_t tileSize,
                                          int64_t width) const {
  if (table.tileOverhead.empty())
    return 0.0;
  return byTileAndWidth(table, table.tileOverhead, tileSize, width) * 1e-6;
}

double TileCostModel::microBreakEvenDensity(int64_t width) const {
  return byWidth(table.widths, table.microCsr, width) /
         byWidth(table.widths, table.microGemm, width);
}

double TileCostModel::microThreshold(int64_t width) const {
  return std::min(1.0, table.safetyMargin * microBreakEvenDensity(width));
}

double TileCostModel::microThresholdAnyWidth() const {
  double threshold = 0.0;
  for (int64_t width : table.widths)
    threshold = std::max(threshold, microThreshold(width));
  return threshold;
}

double TileCostModel::microSeconds(int64_t elements, int64_t width,
                                   int64_t numCols) const {
  return 2.0 * double(elements) * microBreakEvenDensity(width) * double(width) /
         (spmmGflops(width, numCols) * 1e9);
}

double TileCostModel::groupBreakEvenDensity(int64_t rows, int64_t width) const {
  size_t nw = table.widths.size();
  size_t g = static_cast<size_t>(
      std::clamp<int64_t>(rows, 2, std::max<int64_t>(2, table.groupMax)) - 2);
  return byWidth(table.widths,
                 ArrayRef<double>(table.groupCsr).slice(g * nw, nw), width) /
         byWidth(table.widths,
                 ArrayRef<double>(table.groupGemm).slice(g * nw, nw), width);
}

double TileCostModel::groupThreshold(int64_t width) const {
  double breakEven = 0.0;
  // Groups never exceed the op's (and the runtime's) largest group, whatever
  // sizes the table was measured at.
  for (int64_t rows = 2; rows <= std::min(table.groupMax, kMaxGroupRows);
       ++rows)
    breakEven = std::max(breakEven, groupBreakEvenDensity(rows, width));
  return std::min(1.0, table.safetyMargin * breakEven);
}

double TileCostModel::groupThresholdAnyWidth() const {
  double threshold = 0.0;
  for (int64_t width : table.widths)
    threshold = std::max(threshold, groupThreshold(width));
  return threshold;
}

double TileCostModel::groupSeconds(int64_t rows, int64_t elements,
                                   int64_t width, int64_t numCols) const {
  return 2.0 * double(elements) * groupBreakEvenDensity(rows, width) *
         double(width) / (spmmGflops(width, numCols) * 1e9);
}
