//===- Passes.h - Train dialect passes --------------------------*- C++ -*-===//

#ifndef LATHE_DIALECT_TRAIN_PASSES_H
#define LATHE_DIALECT_TRAIN_PASSES_H

#include "lathe/Dialect/Train/TrainOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace arith {
class ArithDialect;
}
namespace math {
class MathDialect;
}
namespace tensor {
class TensorDialect;
}
namespace linalg {
class LinalgDialect;
}
namespace lathe::train {

#define GEN_PASS_DECL
#include "lathe/Dialect/Train/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lathe/Dialect/Train/Passes.h.inc"

} // namespace lathe::train
} // namespace mlir

#endif // LATHE_DIALECT_TRAIN_PASSES_H
