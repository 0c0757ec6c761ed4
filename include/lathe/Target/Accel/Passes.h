//===- Passes.h - Accelerator target passes ---------------------*- C++ -*-===//

#ifndef LATHE_TARGET_ACCEL_PASSES_H
#define LATHE_TARGET_ACCEL_PASSES_H

#include "lathe/Target/Accel/IR/AccelOps.h"
#include "lathe/Target/Accel/Pipeline.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace lathe {

#define GEN_PASS_DECL
#include "lathe/Target/Accel/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lathe/Target/Accel/Passes.h.inc"

} // namespace lathe
} // namespace mlir

#endif // LATHE_TARGET_ACCEL_PASSES_H
