//===- EnumOption.h - Pass options of enum type -----------------*- C++ -*-===//
//
// A pass option of enum type lists its values with `llvm::cl::values`, so a
// value outside them is a command-line error instead of a string compared
// deep inside the pass. LLVM's message for it ("Cannot find option named
// 'x'!") does not say what is allowed; LATHE_ENUM_OPTION_PARSER makes it
// name the allowed values.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_SUPPORT_ENUMOPTION_H
#define LATHE_SUPPORT_ENUMOPTION_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/CommandLine.h"

#include <string>

namespace mlir::lathe {

/// "unknown value 'x' (expected one of: a, b, c)"; llvm::cl::Option::error
/// prefixes the option's name.
inline std::string
describeBadEnumValue(const llvm::cl::generic_parser_base &parser,
                     llvm::StringRef value) {
  std::string allowed;
  for (unsigned i = 0, e = parser.getNumOptions(); i < e; ++i) {
    if (!allowed.empty())
      allowed += ", ";
    allowed += parser.getOption(i).str();
  }
  return ("unknown value '" + value + "' (expected one of: " + allowed + ")")
      .str();
}

} // namespace mlir::lathe

/// Replaces the parse function of `llvm::cl::parser<EnumT>` (the parser of
/// every option of type EnumT, pass options included) by one whose error
/// names the allowed values. Use at global scope, right after EnumT is
/// declared, before any option of the type.
#define LATHE_ENUM_OPTION_PARSER(EnumT)                                        \
  namespace llvm {                                                             \
  namespace cl {                                                               \
  template <>                                                                  \
  inline bool parser<EnumT>::parse(Option &option, StringRef argName,          \
                                   StringRef arg, EnumT &value) {              \
    StringRef text = Owner.hasArgStr() ? arg : argName;                        \
    for (const OptionInfo &info : Values) {                                    \
      if (info.Name == text) {                                                 \
        value = info.V.getValue();                                             \
        return false;                                                          \
      }                                                                        \
    }                                                                          \
    return option.error(::mlir::lathe::describeBadEnumValue(*this, text));     \
  }                                                                            \
  }                                                                            \
  }

#endif // LATHE_SUPPORT_ENUMOPTION_H
