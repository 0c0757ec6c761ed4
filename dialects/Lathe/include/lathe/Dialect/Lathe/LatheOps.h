//===- LatheOps.h - Lathe core dialect --------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_LATHE_LATHEOPS_H
#define LATHE_DIALECT_LATHE_LATHEOPS_H

#include "lathe/Interfaces/FlopsInterface.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "lathe/Dialect/Lathe/LatheDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Dialect/Lathe/LatheAttrs.h.inc"

#define GET_OP_CLASSES
#include "lathe/Dialect/Lathe/LatheOps.h.inc"

namespace mlir {
class DialectRegistry;
namespace lathe {
/// Attaches BufferizableOpInterface models to lathe.weight and lathe.matmul.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);

/// The symbol of the memref.global that holds an external weight of the given
/// source and type: "__lathe_weight_" and a stable hash, so that the driver
/// can find it without running the pipeline.
std::string getExternalWeightSymbol(ExternalWeightAttr source, Type type);

/// Name of the attribute on a memref.global that the runtime fills from an
/// external source.
inline constexpr llvm::StringLiteral kExternalSourceAttrName =
    "lathe.external_source";
} // namespace lathe
} // namespace mlir

#endif // LATHE_DIALECT_LATHE_LATHEOPS_H
