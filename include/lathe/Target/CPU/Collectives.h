//===- Collectives.h - Upstream shard collectives on the CPU ----*- C++ -*-===//
//
// How the CPU target runs `shard` collectives on the runtime's multi-rank
// layer (runtime/include/lathe/runtime/Comm.h). See LowerCollectives.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_CPU_COLLECTIVES_H
#define LATHE_TARGET_CPU_COLLECTIVES_H

#include "mlir/Support/LLVM.h"

#include <cstdint>

namespace mlir {
class DialectRegistry;
namespace shard {
class GridOp;
} // namespace shard
namespace lathe {

/// A grid as Comm.h's packed i64 (axis i's size in bits [16i, 16i+16));
/// failure for dynamic sizes, more than 4 axes or sizes >= 65536.
FailureOr<int64_t> packGrid(shard::GridOp grid);

/// A group of grid axes, in order, as Comm.h's packed i64 (the count in bits
/// 0-3, axis k in bits [4+4k, 8+4k)).
int64_t packGroup(ArrayRef<int16_t> axes);

/// Bufferization of shard.all_gather / all_to_all / reduce_scatter /
/// all_reduce on tensors into calls of the runtime's collectives.
void registerCollectiveBufferizationModels(DialectRegistry &registry);

} // namespace lathe
} // namespace mlir

#endif // LATHE_TARGET_CPU_COLLECTIVES_H
