//===- LatencyModel.h - Per-target latency of dense kernels -----*- C++ -*-===//
//
// What lowrank-select-ranks prices candidate ranks with. A target is a
// roofline (sustained f32 matmul throughput, memory bandwidth, per-call
// overhead, an efficiency ramp for small dimensions), optionally overridden
// by measured latencies for exact shapes.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DIALECT_LOWRANK_LATENCYMODEL_H
#define LATHE_DIALECT_LOWRANK_LATENCYMODEL_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <map>
#include <string>
#include <tuple>

namespace mlir::lowrank {

struct LatencyModel {
  std::string name;
  /// Where the numbers come from (printed in docs and diagnostics).
  std::string provenance;
  /// Sustained f32 GEMM throughput at large, well-shaped sizes (GFLOP/s).
  double peakGflops = 0;
  /// Streaming memory bandwidth (GB/s).
  double bandwidthGBs = 0;
  /// Fixed cost of one library call (microseconds).
  double callOverheadUs = 0;
  /// N and K below this run at efficiency size/minEfficientDim (register
  /// blocking of the GEMM microkernel).
  int64_t minEfficientDim = 1;
  /// Preferred rank multiple (the vector width).
  int64_t granularity = 1;
  /// Measured latencies (microseconds) of f32 matmuls [M,K]·[K,N], by
  /// (M, N, K); they override the analytic estimate.
  std::map<std::tuple<int64_t, int64_t, int64_t>, double> measured;

  /// Predicted microseconds of one f32 matmul [M,K]·[K,N].
  double matmulUs(int64_t m, int64_t n, int64_t k) const;
};

/// The model for `target`: "cpu" (bundled), or the path of a JSON target
/// description. On failure `error` says why.
FailureOr<LatencyModel> getLatencyModel(StringRef target, std::string &error);

/// Parses a JSON target description (see docs/Dialects/LowRank.md).
FailureOr<LatencyModel> parseLatencyModel(StringRef json, std::string &error);

} // namespace mlir::lowrank

#endif // LATHE_DIALECT_LOWRANK_LATENCYMODEL_H
