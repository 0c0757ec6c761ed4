//===- PhaseTable.h - Names of a target pipeline's phases -------*- C++ -*-===//
//
// Shared by the targets whose pipelines run in named phases (CPU, CUDA): each
// keeps one table of its phases, {phase, name, summary} in order, and looks
// names up in it with these.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_PHASETABLE_H
#define LATHE_TARGET_PHASETABLE_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace mlir::lathe {

/// The name of `phase` in `table`; "" when the table lacks it.
template <typename Info>
StringRef phaseName(ArrayRef<Info> table, decltype(Info::phase) phase) {
  for (const Info &info : table)
    if (info.phase == phase)
      return info.name;
  return "";
}

/// The phase named `name` in `table`, if any.
template <typename Info>
std::optional<decltype(Info::phase)> phaseNamed(ArrayRef<Info> table,
                                                StringRef name) {
  for (const Info &info : table)
    if (info.name == name)
      return info.phase;
  return std::nullopt;
}

/// The names in `table`, comma-separated (for messages).
template <typename Info> std::string phaseNames(ArrayRef<Info> table) {
  std::string list;
  for (const Info &info : table) {
    if (!list.empty())
      list += ", ";
    list += info.name.str();
  }
  return list;
}

} // namespace mlir::lathe

#endif // LATHE_TARGET_PHASETABLE_H
