//===- SeqShardOps.td - Sequence parallelism (Ulysses) -----*- tablegen -*-===//

#ifndef LATHE_DIALECT_SEQSHARD_SEQSHARDOPS
#define LATHE_DIALECT_SEQSHARD_SEQSHARDOPS

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def SeqShard_Dialect : Dialect {
  let name = "seqshard";
  let cppNamespace = "::mlir::lathe::seqshard";
  let summary = "Sequence parallelism for attention (DeepSpeed-Ulysses)";
  let description = [{
    The all-to-alls of DeepSpeed-Ulysses sequence parallelism over an
    upstream `shard.grid`: `seqshard.scatter_heads` turns activations that
    are sharded along the sequence (every rank: N/P positions, all H heads)
    into activations sharded along the heads (every rank: all N positions,
    H/P heads), `seqshard.gather_heads` is its inverse.
    `seqshard-expand-all-to-all` expresses both as upstream
    `shard.all_to_all` (split and concat on the outermost dimension) with the
    reshapes and transposes around it; `seqshard-ulysses` (lib/Transforms)
    shards a model along the sequence and puts them around each attention.
    See docs/Dialects/SeqShard.md.
  }];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

class SeqShard_Op<string mnemonic, list<Trait> traits = []>
    : Op<SeqShard_Dialect, mnemonic, traits>;

def SeqShard_LayoutBSHD : I32EnumAttrCase<"bshd", 0>;
def SeqShard_LayoutSBHD : I32EnumAttrCase<"sbhd", 1>;
def SeqShard_LayoutAttr : I32EnumAttr<"Layout",
    "Order of the dimensions of attention activations",
    [SeqShard_LayoutBSHD, SeqShard_LayoutSBHD]> {
  let cppNamespace = "::mlir::lathe::seqshard";
}

class SeqShard_AllToAllOp<string mnemonic>
    : SeqShard_Op<mnemonic, [Pure,
        DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let arguments = (ins AnyRankedTensor:$input,
                       FlatSymbolRefAttr:$grid,
                       DenseI16ArrayAttr:$grid_axes,
                       SeqShard_LayoutAttr:$layout,
                       OptionalAttr<I64Attr>:$query_heads,
                       OptionalAttr<I64Attr>:$quant_bits,
                       OptionalAttr<I64Attr>:$quant_group_size,
                       UnitAttr:$hadamard);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `on` $grid `grid_axes` `=` $grid_axes `layout` `=` $layout
    (`query_heads` `=` $query_heads^)?
    (`quant_bits` `=` $quant_bits^)?
    (`quant_group_size` `=` $quant_group_size^)?
    (`hadamard` $hadamard^)?
    attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let builders = [
    // The f32 all-to-all (no quantization attributes).
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::FlatSymbolRefAttr":$grid,
                   "::mlir::DenseI16ArrayAttr":$grid_axes,
                   "::mlir::lathe::seqshard::LayoutAttr":$layout,
                   "::mlir::IntegerAttr":$query_heads), [{
      build($_builder, $_state, result, input, grid, grid_axes, layout,
            query_heads, ::mlir::IntegerAttr(), ::mlir::IntegerAttr(),
            ::mlir::UnitAttr());
    }]>
  ];
  let extraClassDeclaration = [{
    /// The sequence dimension of the layout (bshd: 1, sbhd: 0).
    int64_t getSeqDim() { return getLayout() == Layout::bshd ? 1 : 0; }
    /// The heads dimension (2 in both layouts).
    int64_t getHeadsDim() { return 2; }
    /// The group size of the quantized all-to-all (128 when not given).
    int64_t getQuantGroupSizeOr128() {
      return getQuantGroupSize() ? *getQuantGroupSize() : 128;
    }
  }];
}

def SeqShard_ScatterHeadsOp : SeqShard_AllToAllOp<"scatter_heads"> {
  let summary = "Sequence-sharded, all heads → whole sequence, heads-sharded";
  let description = [{
    On a group of P processes (the `grid_axes` of `grid`, ordered as
    upstream `shard` orders them), member k holds positions
    [k·N/P, (k+1)·N/P) of the sequence for all H heads; afterwards it holds
    all N positions for heads [k·H/P, (k+1)·H/P). `layout` names the order
    of the four dimensions: `bshd` = [batch, seq, heads, dim], `sbhd` =
    [seq, batch, heads, dim]. The result's sequence is P times the input's,
    its heads 1/P of them.

    `query_heads` marks the key or value of grouped-query attention (H
    key/value heads shared by `query_heads` query heads); H must be
    divisible by P (then each rank gets the H/P key/value heads of its
    query heads; the query heads must be divisible by P too and by H).

    `quant_bits` (4 or 8) makes the all-to-all quantized, the way qcomm's
    collectives are: the f32 values each rank sends (its P blocks, laid out
    contiguously by `seqshard-expand-all-to-all`) are quantized in groups
    of `quant_group_size` consecutive values (default 128; a group never
    straddles two blocks, so the values per block, numel(input) / P, must
    be a multiple of it) with one f32 absmax scale per group; the bytes and
    the scales are exchanged and dequantized on arrival. A value then costs
    bits + 32 / group_size bits on the wire instead of 32. `hadamard`
    applies qcomm's blockwise Walsh-Hadamard transform of order 32 before
    quantizing and after dequantizing (the group size must be a multiple
    of 32) to spread outliers over their block of 32.

    ```mlir
    shard.grid @seqshard(shape = 2)
    %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd
           : tensor<1x128x4x16xf32> -> tensor<1x256x2x16xf32>
    ```
  }];
}

def SeqShard_GatherHeadsOp : SeqShard_AllToAllOp<"gather_heads"> {
  let summary = "Whole sequence, heads-sharded → sequence-sharded, all heads";
  let description = [{
    The inverse of `seqshard.scatter_heads`: member k of the group holds all
    N positions of heads [k·H/P, (k+1)·H/P) and ends with positions
    [k·N/P, (k+1)·N/P) of all H heads. The input's heads dimension holds
    H/P heads; the result has P times as many and 1/P of the sequence.

    ```mlir
    shard.grid @seqshard(shape = 2)
    %x = seqshard.gather_heads %y on @seqshard grid_axes = [0] layout = sbhd
           : tensor<256x1x2x16xf32> -> tensor<128x1x4x16xf32>
    ```
  }];
}

#endif // LATHE_DIALECT_SEQSHARD_SEQSHARDOPS
