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

def ConvertSeqShardToShard
    : Pass<"seqshard-expand-all-to-all", "ModuleOp"> {
  let summary = "Express the Ulysses all-to-alls as shard.all_to_all";
  let description = [{
    Rewrites `seqshard.scatter_heads` and `seqshard.gather_heads` into one
    upstream `shard.all_to_all` that splits and concatenates dimension 0
    (the form every target runs: the blocks are contiguous), with the
    reshapes and transposes that the sequence and heads dimensions of the
    layout call for. For an op that sends out dimension `o` (scatter: the
    heads, gather: the sequence) and receives into dimension `i` (scatter:
    the sequence, gather: the heads):

    1. `tensor.expand_shape` splits `o` into [P, o/P];
    2. `linalg.transpose` brings P to the front, the other dimensions in
       their order: block j of dimension 0 goes to member j;
    3. `shard.all_to_all` split_axis = concat_axis = 0: block j now came
       from member j;
    4. `linalg.transpose` puts P right before `i`;
    5. `tensor.collapse_shape` merges [P, i] into P·i.

    E.g. scatter_heads on [B, N/P, H, D]: [B, N/P, P, H/P, D] →
    [P, B, N/P, H/P, D] → all-to-all → [B, P, N/P, H/P, D] → [B, N, H/P, D].

    With `quant_bits`, step 3 flattens the [P, ...] tensor (block j is then
    the j-th contiguous numel / P values), optionally applies
    `qcomm.hadamard`, `qcomm.quantize`s it (bytes and one f32 scale per
    group), exchanges the bytes and the scales with two `shard.all_to_all`
    on dimension 0, `qcomm.dequantize`s what arrived (and applies
    `qcomm.hadamard` again, its own inverse) and reshapes it back: the
    scheme of qcomm's quantized reduce-scatter hops.
  }];
  let dependentDialects = ["::mlir::lathe::qcomm::QCommDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::shard::ShardDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // LATHE_CONVERSION_PASSES
