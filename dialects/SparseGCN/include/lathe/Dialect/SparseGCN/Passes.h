//===- Passes.h - SparseGCN passes ------------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_SPARSEGCN_PASSES_H
#define LATHE_DIALECT_SPARSEGCN_PASSES_H

#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"
#include "lathe/Support/EnumOption.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
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
namespace lathe::sparsegcn {
struct TileCostTable;

} // namespace lathe::sparsegcn
} // namespace mlir

LATHE_ENUM_OPTION_PARSER(::mlir::lathe::sparsegcn::NodeReorder)

namespace mlir {
namespace lathe::sparsegcn {

#define GEN_PASS_DECL
#include "lathe/Dialect/SparseGCN/Passes.h.inc"

/// The `sparsegcn` table of the target `op` is compiled for (its
/// `#lathe.target`, else the shipped default): tile_sizes, widths (strictly
/// increasing integers), gemm_gflops and spmm_local_gflops ([tile size]
/// [width]), spmm_resident_gflops and spmm_streamed_gflops ([width]),
/// cache_bytes, safety_margin (>= 1). Emits an error naming the key.
FailureOr<TileCostTable> readTileCostTable(Operation *op);

#define GEN_PASS_REGISTRATION
#include "lathe/Dialect/SparseGCN/Passes.h.inc"

} // namespace lathe::sparsegcn
} // namespace mlir

#endif // LATHE_DIALECT_SPARSEGCN_PASSES_H
