//===- DecisionInterface.h - What a pass decided, typed ---------*- C++ -*-===//
//
// A pass that chooses something (a rank, a tile size, a chunking) records the
// choice once, as its dialect's decision attribute (implementing
// DecisionAttrInterface) under the discardable name `lathe.decision`.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_INTERFACES_DECISIONINTERFACE_H
#define LATHE_INTERFACES_DECISIONINTERFACE_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/APFloat.h"

#include <optional>

#include "lathe/Interfaces/DecisionInterface.h.inc"

namespace mlir::lathe {

/// The discardable attribute that holds an op's decision.
inline constexpr llvm::StringLiteral kDecisionAttrName = "lathe.decision";

/// Prints `value` at six significant digits as a float literal ("10.0", not
/// "10"), so that the parser reads it back as a float.
void printDecisionFloat(AsmPrinter &printer, const llvm::APFloat &value);

/// Parses a float (or integer) literal into a double-precision APFloat.
FailureOr<llvm::APFloat> parseDecisionFloat(AsmParser &parser);

/// Parses a present optional float field (see Lathe_OptionalDecisionFloat).
FailureOr<std::optional<llvm::APFloat>>
parseOptionalDecisionFloat(AsmParser &parser);

/// Bitwise equality of two optional fields (both absent, or the same bits).
bool decisionFloatsEqual(const std::optional<llvm::APFloat> &lhs,
                         const std::optional<llvm::APFloat> &rhs);

/// The decision recorded on `op`, or null.
DecisionAttrInterface getDecision(Operation *op);

/// Records `decision` on `op` (replacing an earlier one).
void setDecision(Operation *op, DecisionAttrInterface decision);

/// Checks a `lathe.decision` attribute: it must implement
/// DecisionAttrInterface and fit `op`. For the `lathe` dialect's
/// verifyOperationAttribute.
LogicalResult verifyDecisionAttr(Operation *op, Attribute value);

} // namespace mlir::lathe

#endif // LATHE_INTERFACES_DECISIONINTERFACE_H
