//===- EnumAttr.h - Enum attributes as bare keywords ------------*- C++ -*-===//
//
// `custom<EnumKeyword>($attr)` in an op's assembly format: the enum attribute
// (Lathe_I32Enum + EnumAttr, see EnumAttr.td) as one bare keyword
// (`lathe.rnn lstm ...`). ODS's own printing of an EnumAttr there puts a
// second space before it.
//
// checkEnumProperty: the enum attributes of an op's properties dictionary
// (`<{...}>` in the generic form) checked before ODS converts them.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_SUPPORT_ENUMATTR_H
#define LATHE_SUPPORT_ENUMATTR_H

#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/OperationSupport.h"

namespace mlir::lathe {

/// Parses the keyword; an unknown one is an error that lists the allowed.
template <typename AttrT>
ParseResult parseEnumKeyword(OpAsmParser &parser, AttrT &attr) {
  Attribute parsed = AttrT::parse(parser, Type());
  if (!parsed)
    return failure();
  attr = llvm::cast<AttrT>(parsed);
  return success();
}

template <typename AttrT>
void printEnumKeyword(OpAsmPrinter &printer, Operation *, AttrT attr) {
  printer << stringifyEnum(attr.getValue());
}

/// Checks the enum attribute `name` (an AttrT, a Lathe_EnumAttr) of an op's
/// properties dictionary `dict`: a value of another kind, such as the string
/// of IR written before the enums (`activation = "relu"`), is an error that
/// names the attribute, what it must be and what it got, where ODS's own
/// conversion says only "Invalid attribute `activation` in property
/// conversion". Called from the op's properties hook, see
/// LATHE_CHECKED_PROPERTIES.
template <typename AttrT>
LogicalResult checkEnumProperty(Attribute dict, StringAttr name,
                                function_ref<InFlightDiagnostic()> emitError) {
  auto entries = llvm::dyn_cast_or_null<DictionaryAttr>(dict);
  Attribute value = entries ? entries.get(name) : Attribute();
  if (!value || llvm::isa<AttrT>(value))
    return success();
  emitError() << "'" << name.getValue() << "' must be an "
              << AttrT::getExpected() << "; got " << value;
  return failure();
}

} // namespace mlir::lathe

/// Defines the properties conversion of the ODS op class OP as CHECK (a
/// function `LogicalResult (OperationName, Attribute dict,
/// function_ref<InFlightDiagnostic()> emitError)`, e.g. checkEnumProperty
/// calls) followed by ODS's own. ODS offers no hook for attributes stored as
/// properties, so this specializes the registration model's: use it at
/// namespace scope in the file that registers OP, before the dialect's
/// addOperations instantiates the model.
#define LATHE_CHECKED_PROPERTIES(OP, CHECK)                                    \
  template <>                                                                  \
  ::llvm::LogicalResult                                                        \
  mlir::RegisteredOperationName::Model<OP>::setPropertiesFromAttr(             \
      ::mlir::OperationName opName, ::mlir::OpaqueProperties properties,       \
      ::mlir::Attribute attr,                                                  \
      ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError) {          \
    if (::mlir::failed(CHECK(opName, attr, emitError)))                        \
      return ::mlir::failure();                                                \
    return OP::setPropertiesFromAttr(*properties.as<OP::Properties *>(), attr, \
                                     emitError);                               \
  }

#endif // LATHE_SUPPORT_ENUMATTR_H
