//===- Passes.h - lowrank passes --------------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_LOWRANK_PASSES_H
#define LATHE_DIALECT_LOWRANK_PASSES_H

#include "lathe/Dialect/LowRank/LowRankOps.h"
#include "lathe/Support/EnumOption.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace lowrank {

/// lowrank-select-ranks' `strategy`: the exact global allocation (HALOC) or
/// one of the baselines.
enum class RankStrategy { Global, Uniform, Threshold };

/// lowrank-select-ranks' `error-norm`: what max-error bounds.
enum class ErrorNorm { Frobenius, Relative, Spectral };

/// "global", "uniform" or "threshold".
StringRef stringifyRankStrategy(RankStrategy strategy);
/// "frobenius", "relative" or "spectral".
StringRef stringifyErrorNorm(ErrorNorm norm);

} // namespace lowrank
} // namespace mlir

LATHE_ENUM_OPTION_PARSER(::mlir::lowrank::RankStrategy)
LATHE_ENUM_OPTION_PARSER(::mlir::lowrank::ErrorNorm)

namespace mlir {
namespace lowrank {

#define GEN_PASS_DECL
#include "lathe/Dialect/LowRank/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lathe/Dialect/LowRank/Passes.h.inc"

} // namespace lowrank
} // namespace mlir

#endif // LATHE_DIALECT_LOWRANK_PASSES_H
