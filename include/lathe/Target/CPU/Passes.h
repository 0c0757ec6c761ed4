//===- Passes.h - CPU backend passes ----------------------------*- C++ -*-===//

#ifndef LATHE_TARGET_CPU_PASSES_H
#define LATHE_TARGET_CPU_PASSES_H

#include "lathe/Target/CPU/Phases.h"
#include "mlir/Pass/Pass.h"

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
namespace tensor {
class TensorDialect;
}
namespace scf {
class SCFDialect;
}
namespace omp {
class OpenMPDialect;
}
namespace lathe {
class LatheDialect;

#define GEN_PASS_DECL
#include "lathe/Target/CPU/Passes.h.inc"

/// Patterns of lathe-cpu-form-kernels: raise matmuls to lathe.matmul, fold
/// transposes into it, absorb element-wise epilogues.
void populateFormMatmulKernelPatterns(RewritePatternSet &patterns);

/// Patterns of lathe-cpu-form-kernels (FoldLayouts.cpp): attention heads split
/// and merged by transposes become rank-4 lathe.matmul operands read through
/// permutations; a constant scale of a product becomes the matmul's alpha.
void populateFoldLayoutIntoMatmulPatterns(RewritePatternSet &patterns);

/// Patterns of lathe-cpu-form-kernels (FoldConvAffine.cpp): a per-channel
/// affine function of constants after a convolution (inference batch norm)
/// is folded into its constant filter and bias.
void populateFoldConvAffinePatterns(RewritePatternSet &patterns);

/// Patterns of lathe-cpu-form-kernels (FormRowKernels.cpp): generics that
/// compute a softmax or a layer norm over the last dimension become
/// linalg.softmax or lathe.layer_norm.
void populateFormRowKernelPatterns(RewritePatternSet &patterns);

/// Patterns of lathe-cpu-form-recurrent (FormRecurrent.cpp): scf.for loops
/// that compute an LSTM or GRU direction become lathe.rnn.
void populateFormRecurrentPatterns(RewritePatternSet &patterns);

/// Patterns of lathe-cpu-guard-indices (RuntimeChecks.cpp): a tensor.extract
/// or tensor.insert with a data-dependent index is checked at run time
/// (lathe_rt_index_check_failed) and skipped when out of range. Needs a
/// module around the ops (message globals, runtime declarations).
void populateGuardIndicesPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "lathe/Target/CPU/Passes.h.inc"

} // namespace lathe
} // namespace mlir

#endif // LATHE_TARGET_CPU_PASSES_H
