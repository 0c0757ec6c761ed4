//===- AccelOps.h - Engine-level ops of the accelerator target --*- C++ -*-===//

#ifndef LATHE_TARGET_ACCEL_IR_ACCELOPS_H
#define LATHE_TARGET_ACCEL_IR_ACCELOPS_H

#include "lathe/Interfaces/DecisionInterface.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"

#include "lathe/Target/Accel/IR/AccelDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "lathe/Target/Accel/IR/AccelTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Target/Accel/IR/AccelAttrs.h.inc"

#define GET_OP_CLASSES
#include "lathe/Target/Accel/IR/AccelOps.h.inc"

#endif // LATHE_TARGET_ACCEL_IR_ACCELOPS_H
