//===- EnumAttr.h - Enum attributes as bare keywords ------------*- C++ -*-===//
//
// `custom<EnumKeyword>($attr)` in an op's assembly format: the enum attribute
// (Lathe_I32Enum + EnumAttr, see EnumAttr.td) as one bare keyword
// (`lathe.rnn lstm ...`). ODS's own printing of an EnumAttr there puts a
// second space before it.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_SUPPORT_ENUMATTR_H
#define LATHE_SUPPORT_ENUMATTR_H

#include "mlir/IR/OpImplementation.h"

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

} // namespace mlir::lathe

#endif // LATHE_SUPPORT_ENUMATTR_H
