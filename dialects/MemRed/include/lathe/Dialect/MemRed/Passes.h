//===- Passes.h - MemRed passes ---------------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_MEMRED_PASSES_H
#define LATHE_DIALECT_MEMRED_PASSES_H

#include "lathe/Dialect/MemRed/MemRedOps.h"
#include "lathe/Support/EnumOption.h"
#include "mlir/Pass/Pass.h"

LATHE_ENUM_OPTION_PARSER(::mlir::lathe::memred::BankPolicy)

namespace mlir {
class RewritePatternSet;
namespace func {
class FuncDialect;
class FuncOp;
} // namespace func
namespace memref {
class MemRefDialect;
}
namespace arith {
class ArithDialect;
}
namespace bufferization {
class BufferizationDialect;
}
namespace tensor {
class TensorDialect;
}
namespace linalg {
class LinalgDialect;
}
namespace scf {
class SCFDialect;
}
namespace lathe::memred {

#define GEN_PASS_DECL
#include "lathe/Dialect/MemRed/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lathe/Dialect/MemRed/Passes.h.inc"

/// Patterns raising linalg attention (scores, scale, softmax, P·V) to
/// memred.attention.
void populateRaiseAttentionPatterns(RewritePatternSet &patterns,
                                    int64_t minScores = 0);

/// memred-estimate-peak-memory's prediction for one bufferized function:
/// the peak of statically sized allocations live at once plus the memred
/// kernels' scratch, the number of allocations, and how many of them were
/// dynamic (not counted).
struct PeakMemoryEstimate {
  int64_t peakBytes = 0, allocations = 0, dynamicAllocations = 0;
};

/// Fails for an external function or one that still has tensors.
FailureOr<PeakMemoryEstimate> estimatePeakMemory(func::FuncOp func,
                                                 int64_t workers);

/// Parses "1048576", "64KiB", "1.5MiB", "2GiB" into bytes; failure otherwise.
FailureOr<int64_t> parseByteSize(StringRef text);

} // namespace lathe::memred
} // namespace mlir

#endif // LATHE_DIALECT_MEMRED_PASSES_H
