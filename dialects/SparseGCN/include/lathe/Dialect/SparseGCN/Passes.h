//===- Passes.h - SparseGCN passes ------------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_SPARSEGCN_PASSES_H
#define LATHE_DIALECT_SPARSEGCN_PASSES_H

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

/// sparsegcn-tile's `target`: whose cost model prices the tiles.
enum class TileTarget { CPU };

/// sparsegcn-tile's `reorder`: the node reordering tried before tiling.
enum class NodeReorder { None, Degree, RCM, Cluster, Auto };

/// "cpu".
StringRef stringifyTileTarget(TileTarget target);
/// "none", "degree", "rcm", "cluster" or "auto".
StringRef stringifyNodeReorder(NodeReorder reorder);

} // namespace lathe::sparsegcn
} // namespace mlir

LATHE_ENUM_OPTION_PARSER(::mlir::lathe::sparsegcn::TileTarget)
LATHE_ENUM_OPTION_PARSER(::mlir::lathe::sparsegcn::NodeReorder)

namespace mlir {
namespace lathe::sparsegcn {

#define GEN_PASS_DECL
#include "lathe/Dialect/SparseGCN/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lathe/Dialect/SparseGCN/Passes.h.inc"

} // namespace lathe::sparsegcn
} // namespace mlir

#endif // LATHE_DIALECT_SPARSEGCN_PASSES_H
