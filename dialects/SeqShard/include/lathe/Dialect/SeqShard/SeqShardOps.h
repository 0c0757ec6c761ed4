//===- SeqShardOps.h - Sequence parallelism (Ulysses) -----------*- C++ -*-===//

#ifndef LATHE_DIALECT_SEQSHARD_SEQSHARDOPS_H
#define LATHE_DIALECT_SEQSHARD_SEQSHARDOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "lathe/Dialect/SeqShard/SeqShardDialect.h.inc"
#include "lathe/Dialect/SeqShard/SeqShardEnums.h.inc"

#define GET_OP_CLASSES
#include "lathe/Dialect/SeqShard/SeqShardOps.h.inc"

namespace mlir::lathe::seqshard {

/// Why `degree` processes cannot run Ulysses attention on `heads` query
/// heads, a sequence of `seq` positions and `kvHeads` key/value heads
/// (0: as many as the query heads), or an empty string when they can. The
/// message names the numbers and the degrees that would work.
std::string checkUlyssesShape(int64_t degree, int64_t seq, int64_t heads,
                              int64_t kvHeads);

} // namespace mlir::lathe::seqshard

#endif // LATHE_DIALECT_SEQSHARD_SEQSHARDOPS_H
