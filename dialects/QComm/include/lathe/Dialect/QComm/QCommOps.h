//===- QCommOps.h - Quantized communication dialect -------------*- C++ -*-===//

#ifndef LATHE_DIALECT_QCOMM_QCOMMOPS_H
#define LATHE_DIALECT_QCOMM_QCOMMOPS_H

#include "lathe/Interfaces/FlopsInterface.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "lathe/Dialect/QComm/QCommDialect.h.inc"

#define GET_OP_CLASSES
#include "lathe/Dialect/QComm/QCommOps.h.inc"

namespace mlir {
class DialectRegistry;
namespace lathe::qcomm {

/// Attaches BufferizableOpInterface models to the qcomm compute ops.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);

/// The number of processes in the group that `axes` of the shard grid
/// `grid` (looked up from `op`) define, or failure when the grid is missing,
/// an axis is out of range or repeated, or a size is dynamic. With
/// `emitErrors`, the failure is reported on `op`.
FailureOr<int64_t> getStaticGroupSize(Operation *op, FlatSymbolRefAttr grid,
                                      ArrayRef<int16_t> axes,
                                      SymbolTableCollection &symbolTable,
                                      bool emitErrors);

/// Bits a value costs on the wire: `bits` of data plus its share of the f32
/// scale of its group (bits + 32 / groupSize).
inline double wireBitsPerValue(int64_t bits, int64_t groupSize) {
  return static_cast<double>(bits) + 32.0 / static_cast<double>(groupSize);
}

} // namespace lathe::qcomm
} // namespace mlir

#endif // LATHE_DIALECT_QCOMM_QCOMMOPS_H
