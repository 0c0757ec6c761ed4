//===- RunSupport.h - What lathe-run's driver files share -------*- C++ -*-===//
//
// Private to lib/Driver: lathe-run's error line and its timing, for the
// files that implement one of its paths (Run.cpp, RunArtifact.cpp,
// AccelRun.cpp, RunCUDA.cpp) and LoadedModule.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_LIB_DRIVER_RUNSUPPORT_H
#define LATHE_LIB_DRIVER_RUNSUPPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <string>

namespace mlir::lathe::run_support {

using Clock = std::chrono::steady_clock;

/// Milliseconds from `start` to now.
inline double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

/// Prints lathe-run's one-line error ("lathe-run: error: MESSAGE") on stderr
/// and returns its exit status, 1.
inline int fail(const llvm::Twine &message) {
  llvm::errs() << "lathe-run: error: " << message << "\n";
  return 1;
}

/// Replaces every `lathe.weight` by an `arith.constant` with its dataset's
/// values (paths relative to `baseDir`): for lathe-compress, whose
/// lowrank-select-ranks factorizes the weights, and the accelerator run,
/// whose engine program reads its constants from the IR. Fails with `error`
/// naming the weight.
LogicalResult inlineWeights(ModuleOp module, llvm::StringRef baseDir,
                            std::string &error);

} // namespace mlir::lathe::run_support

#endif // LATHE_LIB_DRIVER_RUNSUPPORT_H
