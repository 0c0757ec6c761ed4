//===- Phases.h - The CPU pipeline's phases ---------------------*- C++ -*-===//
//
// The phases of the CPU pipeline, in order, and the contract each one ends
// with. Kept apart from Pipeline.h so that a pass option can name a phase
// without pulling in the pipeline builder.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_CPU_PHASES_H
#define LATHE_TARGET_CPU_PHASES_H

#include "lathe/Support/EnumOption.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <memory>
#include <optional>
#include <string>

namespace mlir {
class ConversionTarget;
class MLIRContext;
class Operation;
namespace lathe {

/// The CPU pipeline's phases, in the order they run.
enum class CpuPhase {
  Import,
  Kernels,
  Bufferize,
  RuntimeCalls,
  Loops,
  LLVM,
};

/// One phase: its name (the `lathe-cpu-<name>` pipeline) and what it does.
struct CpuPhaseInfo {
  CpuPhase phase;
  StringRef name;
  StringRef summary;
};

/// Every phase, in order.
ArrayRef<CpuPhaseInfo> getCpuPhases();

/// "import", "kernels", ... for a phase.
StringRef stringifyCpuPhase(CpuPhase phase);

/// The phase named `name`, if any.
std::optional<CpuPhase> symbolizeCpuPhase(StringRef name);

/// The phase names, comma-separated (for messages).
std::string getCpuPhaseList();

/// What a phase promises to leave behind, as a conversion target: an op that
/// the target finds illegal (ConversionTarget::isIllegal) breaks the contract.
std::unique_ptr<ConversionTarget> getCpuPhaseContract(MLIRContext *context,
                                                      CpuPhase phase);

/// For an op the phase's contract finds illegal: the message naming the op,
/// the phase, what the phase promised and how to fix it.
std::string explainContractViolation(CpuPhase phase, Operation *op);

} // namespace lathe
} // namespace mlir

LATHE_ENUM_OPTION_PARSER(::mlir::lathe::CpuPhase)

#endif // LATHE_TARGET_CPU_PHASES_H
