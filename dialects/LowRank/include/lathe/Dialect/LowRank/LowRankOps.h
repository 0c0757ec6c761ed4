//===- LowRankOps.h - lowrank dialect ---------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_LOWRANK_LOWRANKOPS_H
#define LATHE_DIALECT_LOWRANK_LOWRANKOPS_H

#include "lathe/Interfaces/DecisionInterface.h"
#include "lathe/Interfaces/FlopsInterface.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "lathe/Dialect/LowRank/LowRankDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Dialect/LowRank/LowRankAttrs.h.inc"

#define GET_OP_CLASSES
#include "lathe/Dialect/LowRank/LowRankOps.h.inc"

namespace mlir::lowrank {
/// The f32 values of a constant tensor (dense or dense_resource), or nothing
/// when `value` is not such a constant.
std::optional<SmallVector<float>> getConstantF32Values(Value value);

/// `x` + `bias` broadcast along dimension `dim` of `x`, as an element-wise
/// linalg.generic into a new tensor of x's type (`dynSizes`: its dynamic
/// sizes): the bias add of a lowrank op's dense form, built by the
/// canonicalization that folds a factorization back and by the lowering.
Value buildBiasAdd(OpBuilder &b, Location loc, Value x, Value bias, int64_t dim,
                   ValueRange dynSizes);
} // namespace mlir::lowrank

#endif // LATHE_DIALECT_LOWRANK_LOWRANKOPS_H
