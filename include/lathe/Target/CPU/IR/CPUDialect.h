//===- CPUDialect.h - Attributes private to the CPU target ------*- C++ -*-===//

#ifndef LATHE_TARGET_CPU_IR_CPUDIALECT_H
#define LATHE_TARGET_CPU_IR_CPUDIALECT_H

#include "lathe/Interfaces/DecisionInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "lathe/Target/CPU/IR/CPUDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Target/CPU/IR/CPUAttrs.h.inc"

#endif // LATHE_TARGET_CPU_IR_CPUDIALECT_H
