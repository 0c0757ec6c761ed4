//===- DecisionInterface.td - What a pass decided, typed -----*- tablegen -*-===//

#ifndef LATHE_INTERFACES_DECISIONINTERFACE
#define LATHE_INTERFACES_DECISIONINTERFACE

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/OpBase.td"

def Lathe_DecisionAttrInterface : AttrInterface<"DecisionAttrInterface"> {
  let description = [{
    One choice a pass made about an op (a rank, a tile size, a chunking), as
    the pass recorded it: each dialect that decides has one attribute
    implementing this interface (`#lowrank.decision<...>`,
    `#sparsegcn.decision<...>`, ...), and the pass sets it once, under the
    discardable name `lathe.decision` (`kDecisionAttrName`). Readers (the
    driver's report, lathe-compress) go through this interface and never
    need the dialect: `toDictionary()` is the JSON-able view that
    `lathe-run --report` lists under `decisions`.

    Floating-point fields are model estimates; they print at six
    significant digits (`Lathe_DecisionFloat`) while the attribute and
    `toDictionary()` keep the full value.
  }];
  let cppNamespace = "::mlir::lathe";
  let methods = [
    InterfaceMethod<"The pass that decided (its flag, e.g. "
                    "`lowrank-select-ranks`).",
                    "::llvm::StringRef", "getPassName">,
    InterfaceMethod<"The decision as a dictionary of builtin attributes "
                    "(strings, integers, floats), with a `pass` key: what "
                    "the report's `decisions` entries hold.",
                    "::mlir::DictionaryAttr", "toDictionary">,
    InterfaceMethod<"Checks that the decision fits the op it is attached "
                    "to (e.g. a rank against the factors' shapes).",
                    "::llvm::LogicalResult", "verifyAttachedTo",
                    (ins "::mlir::Operation *":$op), [{}], [{
      return ::llvm::success();
    }]>,
  ];
}

/// A floating-point field of a decision: an APFloat (full precision in the
/// attribute) printed at six significant digits, always as a float literal.
class Lathe_DecisionFloat<string desc> : AttrParameter<"::llvm::APFloat", desc> {
  let comparator = "$_lhs.bitwiseIsEqual($_rhs)";
  let printer = "::mlir::lathe::printDecisionFloat($_printer, $_self)";
  let parser = "::mlir::lathe::parseDecisionFloat($_parser)";
}

/// A floating-point field a decision may leave out (printed only when
/// present).
class Lathe_OptionalDecisionFloat<string desc>
    : AttrParameter<"std::optional<::llvm::APFloat>", desc> {
  let defaultValue = "std::nullopt";
  let comparator = "::mlir::lathe::decisionFloatsEqual($_lhs, $_rhs)";
  let printer = "::mlir::lathe::printDecisionFloat($_printer, *$_self)";
  let parser = "::mlir::lathe::parseOptionalDecisionFloat($_parser)";
}

#endif // LATHE_INTERFACES_DECISIONINTERFACE
