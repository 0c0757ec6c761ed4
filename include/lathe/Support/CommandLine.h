//===- CommandLine.h - Command-line helpers for Lathe's tools ---*- C++ -*-===//
//
// libLLVM.so registers options of its own tools (Polly's, the backends') in
// every process that loads it. Left visible, a mistyped Lathe flag gets
// "Did you mean '--polly-register-tiling'?".
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_SUPPORT_COMMANDLINE_H
#define LATHE_SUPPORT_COMMANDLINE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"

#include <initializer_list>

namespace mlir::lathe {

/// Marks every option registered so far, except `keep`, those in
/// `keepCategories` and --help/--version, as really hidden: absent from --help
/// and from "did you mean" suggestions, still accepted when spelled exactly.
/// Call first thing in main, before the tool registers its own options.
inline void hidePreregisteredOptions(
    std::initializer_list<llvm::StringRef> keep = {},
    llvm::ArrayRef<const llvm::cl::OptionCategory *> keepCategories = {}) {
  for (auto &[name, option] : llvm::cl::getRegisteredOptions()) {
    if (name == "help" || name == "version" || llvm::is_contained(keep, name) ||
        llvm::any_of(option->Categories, [&](auto *category) {
          return llvm::is_contained(keepCategories, category);
        }))
      continue;
    option->setHiddenFlag(llvm::cl::ReallyHidden);
  }
}

/// Unregisters the option `name` that libLLVM registered (e.g. its int
/// `--threads`), so that the tool can declare and own an option of that name
/// instead of reading libLLVM's through a cast. Call before declaring it.
inline void removePreregisteredOption(llvm::StringRef name) {
  auto &options = llvm::cl::getRegisteredOptions();
  if (auto it = options.find(name); it != options.end())
    it->second->removeArgument();
}

} // namespace mlir::lathe

#endif // LATHE_SUPPORT_COMMANDLINE_H
