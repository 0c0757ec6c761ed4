//===- Passes.h - QComm passes ----------------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_QCOMM_PASSES_H
#define LATHE_DIALECT_QCOMM_PASSES_H

#include "lathe/Dialect/QComm/QCommOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace arith {
class ArithDialect;
}
namespace tensor {
class TensorDialect;
}
namespace lathe::qcomm {

#define GEN_PASS_DECL
#include "lathe/Dialect/QComm/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lathe/Dialect/QComm/Passes.h.inc"

/// Patterns expanding qcomm.all_gather and qcomm.reduce_scatter into qcomm
/// compute ops and shard.all_gather / shard.all_to_all.
void populateExpandCollectivesPatterns(RewritePatternSet &patterns);

} // namespace lathe::qcomm
} // namespace mlir

#endif // LATHE_DIALECT_QCOMM_PASSES_H
