//===- LatheOps.h - Lathe core dialect --------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_LATHE_LATHEOPS_H
#define LATHE_DIALECT_LATHE_LATHEOPS_H

#include "lathe/Interfaces/FlopsInterface.h"
#include "lathe/Interfaces/Target.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "lathe/Dialect/Lathe/LatheDialect.h.inc"
#include "lathe/Dialect/Lathe/LatheEnums.h.inc"

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

/// Parses a JSON target description into a #lathe.target (see
/// docs/Architecture.md, "The target in the IR"): an object with "name",
/// "threads", "features" and one object per cost table ("lowrank",
/// "sparsegcn", "memred", ...). Objects become dictionaries, arrays of
/// numbers dense arrays (i64 when every element is an integer, else f64),
/// other arrays lists. A file written for lowrank-select-ranks alone (its
/// keys at the top level, as lathe-calibrate wrote them before) is read as
/// the "lowrank" table. On failure `error` names the offending key.
FailureOr<TargetAttr> parseTargetDescription(MLIRContext *context,
                                             StringRef json,
                                             std::string &error);

/// Parses one cost table (a JSON object, converted like a table of a target
/// description) into a dictionary, without creating a TargetAttr: for tables
/// shipped in the compiler (lib/Target/CPU/CpuLowRankTable.inc).
FailureOr<DictionaryAttr> parseCostTable(MLIRContext *context, StringRef json,
                                         std::string &error);

/// Reads `path` and parses it as above; `error` names the file.
FailureOr<TargetAttr> readTargetDescription(MLIRContext *context,
                                            StringRef path, std::string &error);
} // namespace lathe
} // namespace mlir

#endif // LATHE_DIALECT_LATHE_LATHEOPS_H
