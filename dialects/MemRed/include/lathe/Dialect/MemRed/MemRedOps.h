//===- MemRedOps.h - Memory-reduction dialect -------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_MEMRED_MEMREDOPS_H
#define LATHE_DIALECT_MEMRED_MEMREDOPS_H

#include "lathe/Interfaces/DecisionInterface.h"
#include "lathe/Interfaces/FlopsInterface.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "lathe/Dialect/MemRed/MemRedDialect.h.inc"
#include "lathe/Dialect/MemRed/MemRedEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Dialect/MemRed/MemRedAttrs.h.inc"

#define GET_OP_CLASSES
#include "lathe/Dialect/MemRed/MemRedOps.h.inc"

namespace mlir {
class DialectRegistry;
namespace lathe::memred {

/// Attaches BufferizableOpInterface models to the memred ops.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);

} // namespace lathe::memred
} // namespace mlir

#endif // LATHE_DIALECT_MEMRED_MEMREDOPS_H
