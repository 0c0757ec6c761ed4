//===- TrainOps.h - Optimizer ops -------------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_TRAIN_TRAINOPS_H
#define LATHE_DIALECT_TRAIN_TRAINOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "lathe/Dialect/Train/TrainDialect.h.inc"

#define GET_OP_CLASSES
#include "lathe/Dialect/Train/TrainOps.h.inc"

#endif // LATHE_DIALECT_TRAIN_TRAINOPS_H
