//===- SparseGCNOps.h - Sparse graph aggregation dialect --------*- C++ -*-===//

#ifndef LATHE_DIALECT_SPARSEGCN_SPARSEGCNOPS_H
#define LATHE_DIALECT_SPARSEGCN_SPARSEGCNOPS_H

#include "lathe/Interfaces/FlopsInterface.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "lathe/Dialect/SparseGCN/SparseGCNDialect.h.inc"

#define GET_OP_CLASSES
#include "lathe/Dialect/SparseGCN/SparseGCNOps.h.inc"

namespace mlir {
class DialectRegistry;
namespace lathe::sparsegcn {

/// Tile classes of sparsegcn.tiled_aggregate (the runtime uses the same
/// numbers).
enum class TileClass : int8_t { Empty = 0, Sparse = 1, Dense = 2 };

/// Attaches BufferizableOpInterface models to the aggregation ops.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);

} // namespace lathe::sparsegcn
} // namespace mlir

#endif // LATHE_DIALECT_SPARSEGCN_SPARSEGCNOPS_H
