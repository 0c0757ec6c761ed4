//===- Passes.h - lowrank passes --------------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_LOWRANK_PASSES_H
#define LATHE_DIALECT_LOWRANK_PASSES_H

#include "lathe/Dialect/LowRank/LowRankOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace lowrank {

#define GEN_PASS_DECL
#include "lathe/Dialect/LowRank/Passes.h.inc"

/// Patterns of lowrank-lower: lowrank.linear -> lathe.matmul (linalg.matmul
/// with `linalgOnly`), lowrank.conv2d_tucker -> linalg.conv_2d_nchw_fchw.
void populateLowerLowRankPatterns(RewritePatternSet &patterns,
                                  bool linalgOnly = false);

#define GEN_PASS_REGISTRATION
#include "lathe/Dialect/LowRank/Passes.h.inc"

} // namespace lowrank
} // namespace mlir

#endif // LATHE_DIALECT_LOWRANK_PASSES_H
