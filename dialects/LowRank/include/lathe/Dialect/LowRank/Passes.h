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

#define GEN_PASS_REGISTRATION
#include "lathe/Dialect/LowRank/Passes.h.inc"

} // namespace lowrank
} // namespace mlir

#endif // LATHE_DIALECT_LOWRANK_PASSES_H
