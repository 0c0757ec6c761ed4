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

#include <string>

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

/// Choices of the CPU pipeline that change what generated code computes.
struct CpuPipelineOptions {
  /// Floating-point reassociation and contraction in generated code
  /// (lathe-llvm-fastmath in the 'llvm' phase). Never nnan/ninf.
  bool fpReassoc = true;
  bool fpContract = true;
  /// "reassoc,contract", "reassoc", "contract" or "none".
  std::string fastMathName() const;
};

/// Parses "none" or a comma-separated list of "reassoc" and "contract" into
/// the fast-math fields of `options`.
LogicalResult parseFastMath(StringRef text, CpuPipelineOptions &options,
                            std::string &error);

/// Appends the CPU pipeline's passes up to and including `lastPhase` (all of
/// them when empty). Fails, with a message in `error`, for an unknown phase.
LogicalResult buildCpuPipeline(OpPassManager &pm, StringRef lastPhase,
                               std::string &error,
                               const CpuPipelineOptions &options = {});

/// The reference pipeline: upstream passes only (scalar loops, no Lathe
/// kernels, no oneDNN), strict IEEE evaluation (no fast-math flags). For
/// correctness baselines and benchmarks.
LogicalResult buildReferencePipeline(OpPassManager &pm, std::string &error);

/// Registers `lathe-cpu-pipeline`, `lathe-cpu-<phase>` for every phase and
/// `lathe-reference-pipeline`.
void registerLathePipelines();

} // namespace lathe
} // namespace mlir

#endif // LATHE_PIPELINES_PIPELINES_H
