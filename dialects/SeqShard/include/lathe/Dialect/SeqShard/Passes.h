//===- Passes.h - SeqShard passes -------------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_SEQSHARD_PASSES_H
#define LATHE_DIALECT_SEQSHARD_PASSES_H

#include "lathe/Dialect/SeqShard/SeqShardOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace linalg {
class LinalgDialect;
}
namespace tensor {
class TensorDialect;
}
namespace lathe::qcomm {
class QCommDialect;
}
namespace lathe::seqshard {

#define GEN_PASS_DECL
#include "lathe/Dialect/SeqShard/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lathe/Dialect/SeqShard/Passes.h.inc"

/// Patterns expanding seqshard.scatter_heads / gather_heads into
/// shard.all_to_all with the reshapes and transposes around it.
void populateExpandAllToAllPatterns(RewritePatternSet &patterns);

} // namespace lathe::seqshard
} // namespace mlir

#endif // LATHE_DIALECT_SEQSHARD_PASSES_H
