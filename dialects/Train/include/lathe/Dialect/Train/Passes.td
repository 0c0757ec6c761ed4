//===- Passes.td - Train dialect passes --------------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_TRAIN_PASSES
#define LATHE_DIALECT_TRAIN_PASSES

include "mlir/Pass/PassBase.td"

def TrainLowerToLinalg : Pass<"train-lower-to-linalg"> {
  let summary = "Lower train ops to fused element-wise linalg and scalar arith";
  let description = [{
    `train.sgd` and `train.adamw` become one `linalg.generic` each, with one
    output per updated tensor (a single pass over parameter, gradient and
    state); `train.clip_by_global_norm` becomes one sum-of-squares reduction
    per gradient and one scaling generic each; `train.warmup_cosine` becomes
    scalar `arith`/`math`.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // LATHE_DIALECT_TRAIN_PASSES
