//===- Passes.h - CUDA target passes ----------------------------*- C++ -*-===//

#ifndef LATHE_TARGET_CUDA_PASSES_H
#define LATHE_TARGET_CUDA_PASSES_H

#include "lathe/Target/CUDA/Pipeline.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace affine {
class AffineDialect;
}
namespace arith {
class ArithDialect;
}
namespace func {
class FuncDialect;
class FuncOp;
} // namespace func
namespace gpu {
class GPUDialect;
}
namespace linalg {
class LinalgDialect;
}
namespace math {
class MathDialect;
}
namespace memref {
class MemRefDialect;
}
namespace scf {
class SCFDialect;
}
namespace tensor {
class TensorDialect;
}
namespace lathe {

#define GEN_PASS_DECL
#include "lathe/Target/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lathe/Target/CUDA/Passes.h.inc"

} // namespace lathe
} // namespace mlir

#endif // LATHE_TARGET_CUDA_PASSES_H
