//===- RunSupport.h - What lathe-run's driver files share -------*- C++ -*-===//
//
// Private to lib/Driver: lathe-run's error line and its timing, for the
// files that implement one of its paths (Run.cpp, RunArtifact.cpp,
// AccelRun.cpp, RunCUDA.cpp) and LoadedModule.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_LIB_DRIVER_RUNSUPPORT_H
#define LATHE_LIB_DRIVER_RUNSUPPORT_H

#include "lathe/Driver/Run.h"
#include "lathe/runtime/Comm.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
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

/// Writes `report` as --report's JSON file at `path`; returns 0, or fail's 1
/// when the file cannot be written.
inline int writeReport(const std::string &path, llvm::json::Object report) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return fail("cannot write report '" + path + "': " + ec.message());
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report))) << "\n";
  return 0;
}

/// The report's "comm" field: one entry per counter of the runtime's
/// collectives (Comm.h), its group as grid axes.
inline llvm::json::Array commCountersJson(const lathe_comm_counter *counters,
                                          int64_t count) {
  llvm::json::Array comm;
  for (int64_t c = 0; c < count; ++c) {
    llvm::json::Array axes;
    for (int64_t k = 0; k < (counters[c].group & 15); ++k)
      axes.push_back((counters[c].group >> (4 + 4 * k)) & 15);
    comm.push_back(
        llvm::json::Object{{"collective", std::string(counters[c].collective)},
                           {"grid_axes", std::move(axes)},
                           {"calls", counters[c].calls},
                           {"bytes", counters[c].bytes}});
  }
  return comm;
}

/// Checks a loaded .lathe file against the run's flags: --entry against
/// `entry`, the entry it was compiled for (not checked when null), and no
/// more inputs (`numGiven`) or --output files than it takes and returns.
/// Returns 0, or fail's 1.
inline int checkArtifactSignature(const RunOptions &options, const char *entry,
                                  size_t numGiven, int32_t numInputs,
                                  int32_t numOutputs) {
  if (options.entry != "main" && entry && options.entry != entry)
    return fail("--entry=" + options.entry + ": '" + options.inputFile +
                "' was compiled for @" + entry + " (lathe-compile --entry)");
  if (static_cast<int32_t>(numGiven) > numInputs)
    return fail(llvm::formatv("too many inputs: {0} given, but the model "
                              "takes {1}",
                              numGiven, numInputs));
  if (static_cast<int32_t>(options.outputs.size()) > numOutputs)
    return fail(llvm::formatv("too many outputs: {0} given, but the model "
                              "returns {1}",
                              options.outputs.size(), numOutputs));
  return 0;
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
