//===- Passes.td - QComm passes ----------------------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_QCOMM_PASSES
#define LATHE_DIALECT_QCOMM_PASSES

include "mlir/Pass/PassBase.td"

def QCommExpandCollectives
    : Pass<"qcomm-expand-collectives", "ModuleOp"> {
  let summary = "Expand quantized collectives into qcomm compute ops and "
                "shard collectives on bytes and scales";
  let description = [{
    Rewrites the communication ops of the qcomm dialect into its compute ops
    and upstream `shard` collectives, on tensors (inits are `tensor.empty`),
    so that only the target's lowering of `shard.all_gather` /
    `shard.all_to_all` moves data. Every hop sends two collectives: the i8
    data and the f32 scales.

    - `qcomm.all_gather` (S values, group of G processes):
      `qcomm.quantize` → `shard.all_gather` of the S·bits/8 bytes and of
      the S/group_size scales over `grid_axes` (gather_axis 0) →
      `qcomm.dequantize` of the L = S·G gathered values, `accumulate` onto
      the `addend` when there is one. Groups never straddle two ranks'
      blocks, so dequantizing the gathered bytes is the concatenation of
      every rank's dequantized block.
    - `qcomm.reduce_scatter` (L values, G1 intra and G2 inter processes):
      [`qcomm.hadamard`] → `qcomm.quantize` (intra bits and group size) →
      `shard.all_to_all` over the intra axes (split and concat axis 0) of
      bytes and scales → `qcomm.dequantize_reduce` of G1 parts into
      L / G1 values; with an inter hop, instead,
      `qcomm.dequantize_reduce_requantize` of the G1 parts (the L / G1 sums
      requantized at the inter bits and group size in one kernel, the f32
      sum never written out) → `shard.all_to_all` over the inter axes →
      `qcomm.dequantize_reduce` of G2 parts into S = L / (G1·G2) values;
      [`qcomm.hadamard`]. Member (i1, i2) ends with block i1·G2 + i2 of
      the sum, as `shard.reduce_scatter` over intra ++ inter orders it.

    With `stochastic(%seed)`, each quantization gets the seed
    (seed·2^16 + process linear index)·4 + hop (`shard.process_linear_index`),
    so that ranks and hops round independently.
  }];
  let dependentDialects = ["::mlir::lathe::qcomm::QCommDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::shard::ShardDialect",
                           "::mlir::tensor::TensorDialect"];
}

def QCommQuantizeWeightDiffs
    : Pass<"qcomm-quantize-weight-diffs", "ModuleOp"> {
  let summary = "SDP4Bit qWD: all-gather 4-bit differences of the weights";
  let description = [{
    In a sharded training step (lathe-shard-data-parallel), the all-gather
    of the new master weights (`shard.all_gather` marked
    `lathe.dp_role = "weights"`) becomes `qcomm.all_gather` of
    `master - model shard` (`bits`, `group-size`) with the model copy as its
    addend: every rank sends the quantized difference between its new master
    shard and the same shard of the model copy all ranks hold (the
    parameters the step was called with), and every rank adds the gathered
    differences to that copy. The model copy only ever moves by what was
    sent, so the quantization error of one step is corrected by the next one
    instead of piling up (SDP4Bit, section 3.1). With `differences=false`
    the master weights themselves are quantized (plain qW, SDP4Bit's
    ablation; ZeRO++'s qwZ at 8 bits).
  }];
  let options = [
    Option<"bits", "bits", "int64_t", /*default=*/"4", "Bits per value (4 or 8)">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"2048",
           "Values per scale">,
    Option<"differences", "differences", "bool", /*default=*/"true",
           "Send differences to the model copy (qWD); false: the weights (qW)">,
  ];
  let dependentDialects = ["::mlir::lathe::qcomm::QCommDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::shard::ShardDialect",
                           "::mlir::tensor::TensorDialect"];
}

def QCommQuantizeGradients
    : Pass<"qcomm-quantize-gradients", "ModuleOp"> {
  let summary = "SDP4Bit TLq-HS: two-hop quantized gradient reduce-scatter";
  let description = [{
    In a sharded training step, the gradient reduce-scatter
    (`shard.reduce_scatter` marked `lathe.dp_role = "gradients"`, over grid
    axes [local, node]) becomes `qcomm.reduce_scatter`: an all-to-all inside
    the node at `intra-bits` (group `intra-group-size`), dequantize + reduce
    in f32 + requantize, an all-to-all across nodes at `inter-bits` (group
    `inter-group-size`), dequantize + reduce (SDP4Bit's two-level
    quantization). With `hadamard`, a blockwise Hadamard transform of order
    32 before the first quantization and its inverse after the last reduce
    smooth outliers (the transform is linear, so sums of transformed
    gradients are the transform of the sum: one forward and one inverse
    transform per step). A reduce-scatter over one grid axis has one hop.
  }];
  let options = [
    Option<"intraBits", "intra-bits", "int64_t", /*default=*/"8",
           "Bits per value inside the node">,
    Option<"intraGroupSize", "intra-group-size", "int64_t", /*default=*/"512",
           "Values per scale inside the node">,
    Option<"interBits", "inter-bits", "int64_t", /*default=*/"4",
           "Bits per value across nodes">,
    Option<"interGroupSize", "inter-group-size", "int64_t", /*default=*/"128",
           "Values per scale across nodes">,
    Option<"hadamard", "hadamard", "bool", /*default=*/"true",
           "Hadamard smoothing (order 32)">,
  ];
  let dependentDialects = ["::mlir::lathe::qcomm::QCommDialect",
                           "::mlir::shard::ShardDialect"];
}

def QCommZeroPP : Pass<"qcomm-zeropp", "ModuleOp"> {
  let summary = "ZeRO++'s qwZ + qgZ on a sharded training step (baseline)";
  let description = [{
    The scheme a user of DeepSpeed would pick today: the weights all-gathered
    as block-quantized values (qwZ, `weight-bits` = 8, group
    `weight-group-size`), the gradients reduce-scattered through two
    all-to-all hops at `grad-bits` = 4 on both (qgZ, group
    `grad-group-size`), without differences or Hadamard smoothing.
  }];
  let options = [
    Option<"weightBits", "weight-bits", "int64_t", /*default=*/"8",
           "Bits per weight">,
    Option<"weightGroupSize", "weight-group-size", "int64_t",
           /*default=*/"2048", "Weights per scale">,
    Option<"gradBits", "grad-bits", "int64_t", /*default=*/"4",
           "Bits per gradient value on both hops">,
    Option<"gradGroupSize", "grad-group-size", "int64_t", /*default=*/"128",
           "Gradient values per scale">,
  ];
  let dependentDialects = ["::mlir::lathe::qcomm::QCommDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::shard::ShardDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // LATHE_DIALECT_QCOMM_PASSES
