//===- LatencyModel.h - Per-target latency of dense kernels -----*- C++ -*-===//
//
// What lowrank-select-ranks prices candidate ranks with. A target is a
// roofline (sustained f32 matmul throughput, memory bandwidth, per-call
// overhead, an efficiency ramp for small dimensions), optionally overridden
// by measured latencies for exact shapes: the `lowrank` table of the
// module's #lathe.target.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DIALECT_LOWRANK_LATENCYMODEL_H
#define LATHE_DIALECT_LOWRANK_LATENCYMODEL_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <array>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace mlir {
class Operation;
namespace lathe {
class TargetTable;
} // namespace lathe
} // namespace mlir

namespace mlir::lowrank {

/// A 2-D convolution as `linalg.conv_2d_nchw_fchw` has it: input
/// [n, c, h, w] (already padded), filter [f, c, kh, kw], strides, dilations.
struct ConvShape {
  int64_t n = 1, c = 1, h = 1, w = 1, f = 1, kh = 1, kw = 1;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1;

  int64_t outH() const { return (h - dh * (kh - 1) - 1) / sh + 1; }
  int64_t outW() const { return (w - dw * (kw - 1) - 1) / sw + 1; }
  /// False for a window larger than the input or non-positive sizes.
  bool isValid() const;
  std::array<int64_t, 11> key() const {
    return {n, c, h, w, f, kh, kw, sh, sw, dh, dw};
  }
};

/// The three convolutions lowrank-lower emits for a Tucker-2 factorization
/// of `dense` at tied rank r: 1x1 c -> r on the input's pixels, the core
/// r -> r with the window, strides and dilations, 1x1 r -> f on the output's
/// pixels.
std::array<ConvShape, 3> tuckerConvShapes(const ConvShape &dense, int64_t r);

/// Candidate ranks g, 2g, ... of a linear weight [n, k] that store fewer
/// numbers than the weight (r·(n + k) < n·k), below min(n, k).
std::vector<int64_t> linearCandidateRanks(int64_t n, int64_t k, int64_t g);

/// Candidate tied ranks g, 2g, ... <= min(cin, cout) of a Tucker-2 filter
/// [cout, cin, kh, kw] whose factors store fewer numbers than the filter.
std::vector<int64_t> tuckerCandidateRanks(int64_t cout, int64_t cin,
                                          int64_t window, int64_t g);

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
  /// Measured latencies (microseconds) of f32 convolutions, by
  /// ConvShape::key(); they override the analytic estimate.
  std::map<std::array<int64_t, 11>, double> measuredConv;

  /// Predicted microseconds of one f32 matmul [M,K]·[K,N].
  double matmulUs(int64_t m, int64_t n, int64_t k) const;
  /// Predicted microseconds of one f32 convolution: the measured entry, else
  /// the matmul of its im2col form [n·oh·ow, c·kh·kw]·[c·kh·kw, f] (which
  /// ignores oneDNN's layout reorders; see docs/Dialects/LowRank.md).
  double convUs(const ConvShape &shape) const;
  /// Whether `shape` has a measured entry.
  bool hasMeasuredConv(const ConvShape &shape) const {
    return measuredConv.count(shape.key());
  }
};

/// The model of the target `op` is compiled for: the `lowrank` table of its
/// module's `#lathe.target`, else the shipped default's (see
/// docs/Dialects/LowRank.md for the keys). Emits an error naming the key.
FailureOr<LatencyModel> readLatencyModel(Operation *op);

/// The model of one `lowrank` table.
FailureOr<LatencyModel> readLatencyModel(const lathe::TargetTable &table);

} // namespace mlir::lowrank

#endif // LATHE_DIALECT_LOWRANK_LATENCYMODEL_H
