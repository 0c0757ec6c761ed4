//===- Layers.h - The layers lowrank-select-ranks considers -----*- C++ -*-===//
//
// One matcher for the layers whose ranks lowrank-select-ranks chooses and
// whose kernels lathe-calibrate measures, so that the two agree on shapes.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DIALECT_LOWRANK_LAYERS_H
#define LATHE_DIALECT_LOWRANK_LAYERS_H

#include "lathe/Dialect/LowRank/LatencyModel.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace mlir::lowrank {

/// A linear layer: `linalg.matmul` of f32 [M, K] · weight, the weight a
/// static, non-empty 2-D tensor stored [N, K] (used transposed) or [K, N],
/// with the default maps of the lhs and the result.
struct LinearLayerShape {
  int64_t n = 0, k = 0;
  bool transposed = false;
};
std::optional<LinearLayerShape> matchLinearLayer(linalg::MatmulOp op);

/// A convolution: `linalg.conv_2d_nchw_fchw` with static f32 input, filter
/// and result, a non-empty filter. `n` is the input's batch.
std::optional<ConvShape> matchConvLayer(linalg::Conv2DNchwFchwOp op);

} // namespace mlir::lowrank

#endif // LATHE_DIALECT_LOWRANK_LAYERS_H
