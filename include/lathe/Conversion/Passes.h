//===- Passes.h - Conversions between Lathe's dialects ----------*- C++ -*-===//

#ifndef LATHE_CONVERSION_PASSES_H
#define LATHE_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace func {
class FuncOp;
} // namespace func
namespace arith {
class ArithDialect;
}
namespace linalg {
class LinalgDialect;
}
namespace tensor {
class TensorDialect;
}
namespace lowrank {
class LowRankDialect;
}
namespace shard {
class ShardDialect;
}
namespace lathe {
class LatheDialect;
namespace qcomm {
class QCommDialect;
}

#define GEN_PASS_DECL
#include "lathe/Conversion/Passes.h.inc"

/// Patterns of convert-lowrank-to-lathe: lowrank.linear -> lathe.matmul
/// (linalg.matmul with `linalgOnly`), lowrank.conv2d_tucker ->
/// linalg.conv_2d_nchw_fchw.
void populateLowRankToLathePatterns(RewritePatternSet &patterns,
                                    bool linalgOnly = false);

/// Patterns of seqshard-expand-all-to-all (ConvertSeqShardToShard):
/// seqshard.scatter_heads / gather_heads -> reshapes, transposes and
/// shard.all_to_all on dimension 0 (quantized through qcomm's compute ops).
void populateSeqShardToShardPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "lathe/Conversion/Passes.h.inc"

} // namespace lathe
} // namespace mlir

#endif // LATHE_CONVERSION_PASSES_H
