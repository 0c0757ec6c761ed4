//===- Target.h - The CPU target's shipped default ---------------*- C++
//-*-===//
//
// What a module without a `#lathe.target` is compiled with: the CPU's cost
// tables, measured on this project's CPU machine and compiled in (their
// provenance is in Target.cpp and docs/Architecture.md).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_CPU_TARGET_H
#define LATHE_TARGET_CPU_TARGET_H

#include "mlir/IR/BuiltinAttributes.h"

namespace mlir::lathe {

/// The CPU's shipped cost tables: `lowrank` (roofline of oneDNN f32
/// matmuls), `sparsegcn` (dense/sparse engine rates), `memred` (workers,
/// attention_min_scores).
DictionaryAttr getCpuDefaultTables(MLIRContext *context);

/// Registers the CPU's default as the target "cpu" (the default target).
void registerCpuTarget();

} // namespace mlir::lathe

#endif // LATHE_TARGET_CPU_TARGET_H
