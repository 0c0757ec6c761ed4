//===- EnumAttr.td - Enums of Lathe's dialects -------------*- tablegen -*-===//
//
// An I32 enum for an EnumAttr (`#lathe<activation relu>`, the bare keyword
// where an op's format names it) whose parser names what was wrong and what
// is allowed: "unknown activation 'swish' (expected one of: none, relu, ...)".
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_SUPPORT_ENUMATTR
#define LATHE_SUPPORT_ENUMATTR

include "mlir/IR/EnumAttr.td"

/// `what` names the value in diagnostics ("activation").
class Lathe_I32Enum<string name, string summary, list<I32EnumAttrCase> cases,
                    string what, string namespace>
    : I32EnumAttr<name, summary, cases> {
  let cppNamespace = namespace;
  let genSpecializedAttr = 0;
  let parameterParser = [{[&]() -> ::mlir::FailureOr<}] # cppType # [{> {
    auto loc = $_parser.getCurrentLocation();
    std::string keyword;
    if (::mlir::failed($_parser.parseKeywordOrString(&keyword)))
      return ::mlir::failure();
    if (auto value = }] # cppNamespace # "::" # stringToSymbolFnName #
      [{(keyword))
      return *value;
    return {(::llvm::LogicalResult)($_parser.emitError(loc) << "unknown }] #
      what # [{ '" << keyword << "' (expected one of: }] #
      !interleave(!foreach(enum, enumerants, enum.str), ", ") # [{)")};
  }()}];
}

/// The EnumAttr of a Lathe_I32Enum. Its summary, the text of ODS's "failed
/// to satisfy constraint" error, says how the attribute is written and lists
/// its values, and getExpected() gives the same text to the properties'
/// conversion (checkEnumProperty in EnumAttr.h): IR that still spells the
/// value as a string (`activation = "relu"`) is told what to write instead.
class Lathe_EnumAttr<Dialect dialect, Lathe_I32Enum enum, string name>
    : EnumAttr<dialect, enum, name> {
  let summary = "#" # dialect.name # "<" # name # " ...> enum attribute, "
                "one of: " #
                !interleave(!foreach(c, enum.enumerants, c.str), ", ");
  let extraClassDeclaration = [{
    /// How the attribute is written and its values, for diagnostics.
    static constexpr ::llvm::StringLiteral getExpected() {
      return "}] # summary # [{";
    }
  }];
}

#endif // LATHE_SUPPORT_ENUMATTR
