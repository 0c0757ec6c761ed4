//===- Passes.h - Target-independent Lathe passes ---------------*- C++ -*-===//

#ifndef LATHE_TRANSFORMS_PASSES_H
#define LATHE_TRANSFORMS_PASSES_H

#include "lathe/Support/EnumOption.h"
#include "mlir/Pass/Pass.h"

namespace mlir::lathe {
/// lathe-append-loss's `kind`.
enum class LossKind { CrossEntropy, Mse };
/// lathe-make-train-step's `optimizer`.
enum class TrainOptimizer { Sgd, AdamW };
} // namespace mlir::lathe

LATHE_ENUM_OPTION_PARSER(::mlir::lathe::LossKind)
LATHE_ENUM_OPTION_PARSER(::mlir::lathe::TrainOptimizer)

namespace mlir {
class RewritePatternSet;
namespace func {
class FuncOp;
}
namespace linalg {
class LinalgDialect;
}
namespace arith {
class ArithDialect;
}
namespace math {
class MathDialect;
}
namespace tensor {
class TensorDialect;
}
namespace affine {
class AffineDialect;
}
namespace shard {
class ShardDialect;
}
namespace scf {
class SCFDialect;
}
namespace lathe {
namespace train {
class TrainDialect;
}
namespace seqshard {
class SeqShardDialect;
}
namespace memred {
class MemRedDialect;
}
class LatheDialect;

#define GEN_PASS_DECL
#include "lathe/Transforms/Passes.h.inc"

/// Patterns of lathe-raise-generics: linalg.generic contractions and
/// convolutions (by their maps and mul-add payload) become named linalg ops.
void populateRaiseGenericsPatterns(RewritePatternSet &patterns);

/// lathe-attach-target with a target the caller read already (the tools read
/// `--target=FILE` once with readTargetDescription).
std::unique_ptr<Pass> createLatheAttachTarget(Attribute target);

#define GEN_PASS_REGISTRATION
#include "lathe/Transforms/Passes.h.inc"

} // namespace lathe
} // namespace mlir

#endif // LATHE_TRANSFORMS_PASSES_H
