//===- RuntimeCalls.h - Emitting calls into the Lathe runtime ---*- C++ -*-===//
//
// Shared by every lowering of kernel ops on memrefs to the runtime's C ABI
// (lathe-cpu-lower-to-runtime, memred-lower-to-runtime,
// sparsegcn-lower-to-runtime).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_CPU_RUNTIMECALLS_H
#define LATHE_TARGET_CPU_RUNTIMECALLS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir {
namespace lathe {

/// The runtime function generated index checks call on an out-of-range
/// index (lathe/runtime/Runtime.h): the CPU target's guards emit it, the CUDA
/// target turns it into a device record. (The ONNX importer, which depends on
/// no target, spells the name itself.)
constexpr StringLiteral kIndexCheckFailed = "lathe_rt_index_check_failed";

/// Emits `call @name(operands...)`. Memref operands are cast to unranked
/// memrefs, the runtime's `(int64_t rank, void *descriptor)` convention;
/// other values pass as they are. `@name` is declared on first use (a
/// private declaration; later calls must agree on the types).
/// `resultTypes` are the callee's results (most kernels have none); returns
/// the call's results.
ValueRange emitRuntimeCall(ModuleOp module, OpBuilder &builder, Location loc,
                           StringRef name, ArrayRef<Value> operands,
                           TypeRange resultTypes = {});

/// The same with trailing i64 constants.
void emitRuntimeCall(ModuleOp module, OpBuilder &builder, Location loc,
                     StringRef name, ArrayRef<Value> operands,
                     ArrayRef<int64_t> scalars);

/// True when `value` is (a view of) a `memref.get_global`: data whose address
/// and contents never change, which the runtime may pre-pack or plan once.
bool isConstantBuffer(Value value);

} // namespace lathe
} // namespace mlir

#endif // LATHE_TARGET_CPU_RUNTIMECALLS_H
