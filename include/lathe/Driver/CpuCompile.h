//===- CpuCompile.h - lathe-run's CPU compilation, shared -------*- C++ -*-===//
//
// What lathe-run (runMain) and an embedding program's LoadedModule share of
// compiling for the CPU: the checks of the option values, in lathe-run's
// words, and the pipeline those options ask for. One definition keeps the
// tool's and the Python package's messages identical.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_DRIVER_CPUCOMPILE_H
#define LATHE_DRIVER_CPUCOMPILE_H

#include "lathe/Driver/Executable.h"
#include "lathe/Driver/Run.h"
#include "lathe/Target/CPU/Pipeline.h"

#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir {
class OpPassManager;
namespace lathe {

/// Checks the option values that shape a CPU compilation (--backend,
/// --pipeline, --threads, --fast-math, --precision), in this order, and
/// fills `pipeline` (fast-math, and the trace marks when --trace is given)
/// and `executable` (target CPU, threads, precision) from them. `backends`
/// lists the backends the caller offers ("cpu, accel"), for the message that
/// names an unknown one. On failure, `error` is lathe-run's message without
/// its "lathe-run: error: " prefix.
LogicalResult checkCpuCompileOptions(const RunOptions &options,
                                     llvm::StringRef backends,
                                     CpuPipelineOptions &pipeline,
                                     ExecutableOptions &executable,
                                     std::string &error);

/// Prints `tool`'s note that --precision=bf16 runs in f32 when the CPU has
/// no bf16 instructions (nothing otherwise).
void noteIfBf16Unavailable(llvm::StringRef tool,
                           const ExecutableOptions &executable);

/// Appends the pipeline `options` ask for to `pm`: --pass-pipeline's text,
/// the reference pipeline, or the CPU pipeline up to `compileTo` (all of it
/// when empty) with `onPhaseEnd`. Fails with "bad pipeline: ..." in `error`.
LogicalResult buildRunPipeline(OpPassManager &pm, const RunOptions &options,
                               llvm::StringRef compileTo,
                               const CpuPipelineOptions &pipeline,
                               PhaseCallback onPhaseEnd, std::string &error);

} // namespace lathe
} // namespace mlir

#endif // LATHE_DRIVER_CPUCOMPILE_H
