//===- Pool.h - 2-D pooling on oneDNN, shared with Conv.cpp -----*- C++ -*-===//

#ifndef LATHE_RUNTIME_LIB_POOL_H
#define LATHE_RUNTIME_LIB_POOL_H

#include "Dnnl.h"

namespace lathe::rt {

/// A pooling window: kind (LATHE_POOL_*), window, strides and dilations in
/// (H, W), and the padding before (padLow) and after (padHigh) the input in
/// (H, W), which no window takes (max pooling with -inf padding; linalg's
/// pooling ops have none).
struct PoolWindow {
  int kind = LATHE_POOL_MAX;
  Dims window, strides, dilations;
  Dims padLow = {0, 0}, padHigh = {0, 0};

  /// Rows (dim 0) or columns (dim 1) of the padded input that `outSize`
  /// outputs read.
  int64_t span(int dim, int64_t outSize) const {
    return (outSize - 1) * strides[dim] + (window[dim] - 1) * dilations[dim] +
           1;
  }
};

/// Checks the scalar arguments of a pooling call (kind, window, strides,
/// dilations); fails with LATHE_ERR_INVALID naming the bad one.
PoolWindow checkPoolWindow(int64_t kind, int64_t windowH, int64_t windowW,
                           int64_t strideH, int64_t strideW, int64_t dilationH,
                           int64_t dilationW, const char *kernel);

/// A oneDNN pooling primitive descriptor from `src` (exactly `span` rows and
/// columns with the padding) to `dst` (format any allowed).
dnnl::pooling_v2_forward::primitive_desc
makePoolDesc(const dnnl::memory::desc &src, const dnnl::memory::desc &dst,
             const PoolWindow &window);

/// Max pooling with the reference pipeline's semantics (arith.maximumf folded
/// from -inf: NaN wins, a window of -inf is -inf), in scalar loops. oneDNN's
/// max pooling skips NaN and gives -FLT_MAX for a window of -inf, so the
/// kernels use this instead when their data holds NaN or Inf. `src` and
/// `dst` are logical NCHW operands (any strides, channel-blocked or not);
/// src must not overlap dst. With `accumulate` dst's old value joins the max.
/// Padding is -inf.
void exactMaxPool(const Operand &src, const Operand &dst,
                  const PoolWindow &window, bool accumulate);

/// Bounds on |x| that convolutions and max poolings record for the views
/// they write, in the current session (Conv.cpp's file comment): the bound
/// recorded for exactly `view` (negative: none), forgetting the bounds of
/// every view that overlaps `written`, and recording one for it.
float recordedBound(const Operand &view);
void forgetBounds(const Operand &written);
void recordBound(const Operand &written, float bound);
/// recordBound of the exact bound `exact` of sums of `terms` products, grown
/// by their rounding (at most 2 ulps per term, (terms + 3) * 2^-23), by that
/// of bf16 inputs and output (2^-8 each, 2^-6 together) when `bf16`, and by
/// `factor`; nothing is recorded when that comes near FLT_MAX.
void recordRoundedBound(const Operand &written, double exact, double terms,
                        bool bf16, double factor = 1.0);

} // namespace lathe::rt

#endif // LATHE_RUNTIME_LIB_POOL_H
