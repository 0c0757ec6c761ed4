//===- Passes.h - SparseGCN passes ------------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_SPARSEGCN_PASSES_H
#define LATHE_DIALECT_SPARSEGCN_PASSES_H

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

#define GEN_PASS_DECL
#include "lathe/Dialect/SparseGCN/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lathe/Dialect/SparseGCN/Passes.h.inc"

} // namespace lathe::sparsegcn
} // namespace mlir

#endif // LATHE_DIALECT_SPARSEGCN_PASSES_H
