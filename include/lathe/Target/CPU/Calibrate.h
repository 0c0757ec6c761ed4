//===- Calibrate.h - Measure the CPU's kernel latencies ---------*- C++ -*-===//
//
// What lathe-calibrate does, as a library: find the layers
// lowrank-select-ranks would price (its own matcher, lowrank/Layers.h), time
// the dense kernels and every candidate rank's kernels through the runtime
// entry points the generated code calls, fit the roofline for other shapes,
// and build the JSON target description whose `lowrank` table the
// `#lathe.target` attribute carries (lathe-attach-target, --target=FILE).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_CPU_CALIBRATE_H
#define LATHE_TARGET_CPU_CALIBRATE_H

#include "lathe/Dialect/LowRank/LatencyModel.h"

#include "llvm/Support/JSON.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mlir {
class ModuleOp;
namespace lathe {

/// The layers to calibrate: linear weights [n, k] and convolutions (their
/// batch is ignored).
struct CalibrationLayers {
  std::vector<std::pair<int64_t, int64_t>> linears;
  std::vector<lowrank::ConvShape> convs;
  bool empty() const { return linears.empty() && convs.empty(); }
};

/// The layers of `module` lowrank-select-ranks considers (constness is not
/// required: every such layer gets its dense latency measured).
void collectCalibrationLayers(ModuleOp module, CalibrationLayers &layers);

struct CalibrationOptions {
  /// Batch sizes measured.
  std::vector<int64_t> batches = {1, 64};
  /// Candidate ranks are multiples of this.
  int64_t granularity = 16;
  /// Timed calls per shape, after three warm-up calls.
  int repeat = 50;
  /// The statistic of the timed calls: the minimum, else the median.
  bool useMin = false;
  /// The runtime's thread count (0: OpenMP's default).
  int threads = 0;
  /// Named in the provenance (empty: shapes given by hand).
  std::string source;
  /// Called after every measured shape: (done, total, a line about it).
  std::function<void(int64_t, int64_t, const std::string &)> progress;
};

/// The shapes a calibration measures (for the caller's progress report):
/// the number of distinct matmuls and convolutions.
std::pair<size_t, size_t> countCalibrationShapes(const CalibrationLayers &,
                                                 const CalibrationOptions &);

/// Measures every shape lowrank-select-ranks prices for `layers` and returns
/// the target description: {"name": "cpu-calibrated", "threads": N,
/// "lowrank": {provenance, peak_gflops, bandwidth_gbps, call_overhead_us,
/// min_efficient_dim, granularity, matmul: [{m, n, k, us}], conv: [{n, c,
/// h, w, f, kh, kw, sh, sw, dh, dw, us}]}}. Fails with `error` when a
/// kernel reports one.
FailureOr<llvm::json::Value> calibrateCpu(const CalibrationLayers &layers,
                                          const CalibrationOptions &options,
                                          std::string &error);

/// Writes a target description to `path` (indented JSON).
LogicalResult writeTargetDescription(const llvm::json::Value &description,
                                     StringRef path, std::string &error);

} // namespace lathe
} // namespace mlir

#endif // LATHE_TARGET_CPU_CALIBRATE_H
