//===- TargetFile.h - --target=FILE of the driver tools ---------*- C++ -*-===//
//
// lathe-run, lathe-train, lathe-compress and the Python package attach a
// JSON target description (lathe-calibrate's) as the module's #lathe.target,
// as `lathe-opt --lathe-attach-target=FILE` does: read once, then the passes
// price kernels with its tables.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_TARGETFILE_H
#define LATHE_DRIVER_TARGETFILE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir::lathe {

/// Reads the target description at `path` and sets it as `module`'s
/// #lathe.target (replacing one the module has). `text` receives the
/// attribute as printed, for a compile-cache key that covers the target's
/// contents. On failure, `error` says "--target: " and what was wrong with
/// the file (unreadable, not JSON, a bad key).
LogicalResult attachTargetFile(ModuleOp module, llvm::StringRef path,
                               std::string &text, std::string &error);

} // namespace mlir::lathe

#endif // LATHE_DRIVER_TARGETFILE_H
