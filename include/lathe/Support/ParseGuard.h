//===- ParseGuard.h - Parse MLIR text without dying in the parser -*- C++
//-*-===//
//
// Upstream MLIR 22's parser crashes on some invalid input after it has
// reported the error (test/fuzz/known/: `linalg.transpose ... permutation =
// [x]` dereferences a null attribute). The tools that parse a file themselves
// run the parse under llvm::CrashRecoveryContext, so such input ends in the
// parser's own diagnostic plus a clear error and exit status 1 instead of a
// segfault. (lathe-opt hands its input to MlirOptMain, like mlir-opt, and
// crashes on it as mlir-opt does.)
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_SUPPORT_PARSEGUARD_H
#define LATHE_SUPPORT_PARSEGUARD_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <string>

namespace mlir::lathe {

/// parseSourceFile<ModuleOp>, except that a crash inside the parser ends the
/// process with `tool: error: ...` naming `file` and exit status 1. The
/// process cannot go on after such a crash (the parser's state is lost
/// half-way), so this does not return then.
inline OwningOpRef<ModuleOp> parseModuleOrExit(llvm::SourceMgr &sourceMgr,
                                               MLIRContext *context,
                                               llvm::StringRef tool,
                                               llvm::StringRef file) {
  OwningOpRef<ModuleOp> module;
  llvm::CrashRecoveryContext::Enable();
  llvm::CrashRecoveryContext recovery;
  bool finished = recovery.RunSafely(
      [&] { module = parseSourceFile<ModuleOp>(sourceMgr, context); });
  llvm::CrashRecoveryContext::Disable();
  if (finished)
    return module;
  llvm::errs() << tool << ": error: MLIR's parser crashed on '" << file
               << "' after the error reported above; the input is invalid "
                  "there (the crash is a bug of upstream MLIR's parser)\n";
  llvm::errs().flush();
  llvm::outs().flush();
  std::_Exit(1);
}

/// Opens `path` into `sourceMgr` and parses it with parseModuleOrExit. A
/// file that cannot be opened gives null with `openError` set; a parse error
/// gives null with `openError` empty (the diagnostics went to the caller's
/// handler on `sourceMgr`).
inline OwningOpRef<ModuleOp> parseFileOrExit(llvm::StringRef path,
                                             MLIRContext *context,
                                             llvm::SourceMgr &sourceMgr,
                                             llvm::StringRef tool,
                                             std::string &openError) {
  openError.clear();
  auto file = openInputFile(path, &openError);
  if (!file)
    return nullptr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  return parseModuleOrExit(sourceMgr, context, tool, path);
}

} // namespace mlir::lathe

#endif // LATHE_SUPPORT_PARSEGUARD_H
