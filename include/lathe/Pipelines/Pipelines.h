//===- Pipelines.h - Lathe's named pipelines --------------------*- C++ -*-===//
//
// Every phase boundary is a named pipeline registered once here and used by
// lathe-opt, lathe-run and the tests alike.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_PIPELINES_PIPELINES_H
#define LATHE_PIPELINES_PIPELINES_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

namespace mlir {
class OpPassManager;
namespace lathe {

/// One phase of a backend pipeline: its name and its passes (textual pass
/// pipeline anchored on builtin.module).
struct Phase {
  StringRef name;
  StringRef summary;
  StringRef passes;
};

/// The CPU pipeline's phases, in order: import, kernels, bufferize,
/// runtime-calls, loops, llvm.
ArrayRef<Phase> getCpuPhases();

/// The phase names of getCpuPhases(), comma-separated (for messages).
std::string getCpuPhaseList();

/// Appends the CPU pipeline's passes up to and including `lastPhase` (all of
/// them when empty). Fails, with a message in `error`, for an unknown phase.
LogicalResult buildCpuPipeline(OpPassManager &pm, StringRef lastPhase,
                               std::string &error);

/// The reference pipeline: upstream passes only (scalar loops, no Lathe
/// kernels, no oneDNN). For correctness baselines and benchmarks.
LogicalResult buildReferencePipeline(OpPassManager &pm, std::string &error);

/// Registers `lathe-cpu-pipeline`, `lathe-cpu-<phase>` for every phase and
/// `lathe-reference-pipeline`.
void registerLathePipelines();

} // namespace lathe
} // namespace mlir

#endif // LATHE_PIPELINES_PIPELINES_H
