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
      L / G1 values; with an inter hop, `qcomm.quantize` (inter bits and
      group size) → `shard.all_to_all` over the inter axes →
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

#endif // LATHE_DIALECT_QCOMM_PASSES
