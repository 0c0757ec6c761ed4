//===- CommandLine.h - Command-line helpers for Lathe's tools ---*- C++ -*-===//
//
// libLLVM.so registers options of its own tools (Polly's, the backends') in
// every process that loads it. Left visible, a mistyped Lathe flag gets
// "Did you mean '--polly-register-tiling'?".
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_SUPPORT_COMMANDLINE_H
#define LATHE_SUPPORT_COMMANDLINE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"

#include <initializer_list>

namespace mlir::lathe {

/// Marks every option registered so far, except `keep` and --help/--version,
/// as really hidden: absent from --help and from "did you mean" suggestions,
/// still accepted when spelled exactly. Call first thing in main, before the
/// tool registers its own options.
inline void
hidePreregisteredOptions(std::initializer_list<llvm::StringRef> keep = {}) {
  for (auto &[name, option] : llvm::cl::getRegisteredOptions()) {
    if (name == "help" || name == "version" ||
        llvm::is_contained(keep, name))
      continue;
    option->setHiddenFlag(llvm::cl::ReallyHidden);
  }
}

} // namespace mlir::lathe

#endif // LATHE_SUPPORT_COMMANDLINE_H
