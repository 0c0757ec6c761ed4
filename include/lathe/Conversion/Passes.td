//===- Passes.td - Conversions between Lathe's dialects ----*- tablegen -*-===//
//
// A dialect never lowers into another from its own folder: conversions
// between dialects live in lib/Conversion/<X>To<Y>/ and are declared here.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_CONVERSION_PASSES
#define LATHE_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertLowRankToLathe
    : Pass<"convert-lowrank-to-lathe", "func::FuncOp"> {
  let summary = "Lower lowrank ops to lathe.matmul and linalg convolutions";
  let description = [{
    `lowrank.linear` becomes two `lathe.matmul`s, `x·Vᵀ` then `·Uᵀ` with the
    bias fused into the second, or, when the row count makes it cheaper
    (`M·r·(K+N) > N·r·K + M·N·K`), one matmul forming `U·V` and the dense
    matmul. `lowrank.conv2d_tucker` becomes three `linalg.conv_2d_nchw_fchw`
    (1×1 with `u_in`, the core with the op's strides and dilations, 1×1 with
    `u_out`) and a bias-add `linalg.generic`. A no-op without lowrank ops.

    With `linalg-only` (the upstream-only reference pipeline) a
    `lowrank.linear` on a 2-D input becomes two `linalg.matmul`s with a
    transposed right operand (`x·Vᵀ` then `·Uᵀ`) and a bias-add
    `linalg.generic` instead, so no Lathe op is left.
  }];
  let options = [
    Option<"linalgOnly", "linalg-only", "bool", "false",
           "Emit upstream linalg ops only (no lathe.matmul)">,
  ];
  let dependentDialects = ["::mlir::lathe::LatheDialect",
                           "::mlir::lowrank::LowRankDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // LATHE_CONVERSION_PASSES
