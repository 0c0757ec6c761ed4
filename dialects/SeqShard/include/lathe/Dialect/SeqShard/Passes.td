//===- Passes.td - SeqShard passes -------------------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_SEQSHARD_PASSES
#define LATHE_DIALECT_SEQSHARD_PASSES

include "mlir/Pass/PassBase.td"

def SeqShardExpandAllToAll
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

#endif // LATHE_DIALECT_SEQSHARD_PASSES
