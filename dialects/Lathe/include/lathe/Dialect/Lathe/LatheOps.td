//===- LatheOps.td - Lathe core ops ------------------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_LATHE_LATHEOPS
#define LATHE_DIALECT_LATHE_LATHEOPS

include "lathe/Dialect/Lathe/LatheBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "lathe/Support/EnumAttr.td"
include "lathe/Interfaces/FlopsInterface.td"
include "lathe/Interfaces/TargetInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

// Each enum prints as `#lathe<activation relu>` in an attribute dictionary and
// as the bare keyword where an op's format names it (`lathe.rnn lstm ...`); a
// value outside the cases is a parse error that lists them.

def Lathe_Activation : Lathe_I32Enum<"Activation",
    "Activation fused into a kernel's epilogue", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"relu", 1>,
      I32EnumAttrCase<"gelu", 2>,
      I32EnumAttrCase<"gelu_tanh", 3>,
      I32EnumAttrCase<"sigmoid", 4>,
      I32EnumAttrCase<"tanh", 5>],
    "activation", "::mlir::lathe">;
def Lathe_ActivationAttr
    : Lathe_EnumAttr<Lathe_Dialect, Lathe_Activation, "activation">;

def Lathe_ConvLayout : Lathe_I32Enum<"ConvLayout",
    "Dimension order of a convolution's input, filter and output", [
      I32EnumAttrCase<"nchw", 0>,
      I32EnumAttrCase<"nhwc", 1>],
    "layout", "::mlir::lathe">;
def Lathe_ConvLayoutAttr
    : Lathe_EnumAttr<Lathe_Dialect, Lathe_ConvLayout, "layout">;

def Lathe_PoolKind : Lathe_I32Enum<"PoolKind",
    "Pooling fused after a convolution", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"max", 1>],
    "pool", "::mlir::lathe">;
def Lathe_PoolKindAttr : Lathe_EnumAttr<Lathe_Dialect, Lathe_PoolKind, "pool">;

def Lathe_RnnCell : Lathe_I32Enum<"RnnCell", "Recurrent cell of lathe.rnn", [
      I32EnumAttrCase<"lstm", 0>,
      I32EnumAttrCase<"gru", 1>,
      I32EnumAttrCase<"lbr_gru", 2>],
    "cell", "::mlir::lathe">;
def Lathe_RnnCellAttr : Lathe_EnumAttr<Lathe_Dialect, Lathe_RnnCell, "cell">;

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Lathe_ExternalWeightAttr
    : Lathe_Attr<"ExternalWeight", "external", [TypedAttrInterface]> {
  let summary = "A weight stored outside the IR, in an HDF5 dataset";
  let description = [{
    Names an HDF5 file (a path relative to the directory of the .mlir file
    that contains the attribute, or absolute) and a dataset inside it. The
    runtime loads the dataset once, when the module is loaded; the IR never
    holds the values.

    ```mlir
    %w = lathe.weight #lathe.external<"weights.h5", "/fc1/weight"> : tensor<256x64xf32>
    ```
    Like `dense<...>`, the attribute carries the tensor type it stands for.
  }];
  let parameters = (ins StringRefParameter<"file path">:$path,
                        StringRefParameter<"dataset name">:$dataset,
                        AttributeSelfTypeParameter<"">:$type);
  let assemblyFormat = "`<` $path `,` $dataset `>`";
}

def Lathe_TargetAttr
    : Lathe_Attr<"Target", "target",
                 [DeclareAttrInterfaceMethods<Lathe_TargetAttrInterface>]> {
  let summary = "The device a module is compiled for and its cost tables";
  let description = [{
    Attached to the module as `lathe.target`. Carries the device's name, the
    threads its tables were measured with (0: not fixed), its ISA features
    and its measured cost tables, one dictionary per consumer: `lowrank`
    (lowrank-select-ranks' latency model), `sparsegcn` (sparsegcn-tile's
    dense and sparse engine rates), `memred` (the attention kernel's workers,
    the size from which attention is raised). Passes read the tables through
    `TargetAttrInterface` (`lathe/Interfaces/Target.h`); a module without the
    attribute, or a target without a table, uses the table of the target's
    shipped default (lib/Target/CPU for `cpu`). The tools attach it from a
    JSON target description (`lathe-opt --lathe-attach-target=FILE`,
    `lathe-compress --target=FILE`); `lathe-calibrate` writes one.

    ```mlir
    module attributes {lathe.target = #lathe.target<name = "cpu-fast",
        threads = 1, features = ["avx512f"],
        tables = {lowrank = {peak_gflops = 100 : i64, bandwidth_gbps = 1000 : i64}}>} {
    }
    ```
  }];
  let parameters = (ins StringRefParameter<"device name">:$name,
                        "int64_t":$threads,
                        "::mlir::ArrayAttr":$features,
                        "::mlir::DictionaryAttr":$tables);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// lathe.weight
//===----------------------------------------------------------------------===//

def Lathe_WeightOp : Lathe_Op<"weight", [Pure]> {
  let summary = "A constant tensor whose values the runtime loads";
  let description = [{
    A read-only tensor with the values of an external dataset. Bufferization
    turns it into an uninitialised `memref.global` carrying the source; the
    runtime fills the global before the first call (so large weights never
    pass through the compiler).

    ```mlir
    %w = lathe.weight #lathe.external<"mlp_weights.h5", "/fc1/weight"> : tensor<256x64xf32>
    ```
  }];
  let arguments = (ins Lathe_ExternalWeightAttr:$source);
  let results = (outs AnyStaticShapeTensor:$result);
  // The source attribute's `: type` is the result type (as for
  // arith.constant).
  let assemblyFormat = "custom<WeightSource>($source, type($result)) attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// lathe.matmul
//===----------------------------------------------------------------------===//

def Lathe_RankedTensorOrMemRef
    : AnyTypeOf<[AnyRankedTensor, AnyMemRef], "ranked tensor or memref">;

def Lathe_MatmulOp : Lathe_Op<"matmul", [
    AttrSizedOperandSegments,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<Lathe_FlopsOpInterface>,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "(Batched) matmul with a fused bias, activation and residual";
  let description = [{
    `init = act(alpha · op(lhs) · op(rhs) + bias) + residual`, where `op`
    transposes the last two dimensions when `transpose_lhs` / `transpose_rhs`
    is set. `lhs` is [M, K], [B, M, K] or [B1, B2, M, K]; `rhs` is [K, N] (shared
    by every batch) or has the lhs's batch dimensions; `bias` is [N];
    `residual` has the shape of `init`. The op is in destination style: on
    tensors it returns the updated `init`, on memrefs it writes `init` in
    place. `activation` is one of `none`, `relu`, `gelu`, `gelu_tanh`,
    `sigmoid`, `tanh`; `alpha` (default 1) scales the product and cannot be
    combined with a bias.

    `lhs_perm`, `rhs_perm` and `init_perm` read an operand through a
    permutation of its dimensions, with `linalg.transpose` semantics: the
    logical operand is `linalg.transpose(operand, perm)`, so dimension `i` of
    the logical operand is dimension `perm[i]` of the value. `init_perm`
    applies to `init` and `residual` alike. This is how attention heads are
    read from and written to the [batch, seq, heads, head_dim] layout of the
    projections without copies: the runtime sees strided views.

    This is the op the backends lower to a library call (oneDNN on CPU,
    cuBLAS on GPU) with the epilogue as post-ops, so that a linear layer is
    one pass over memory.

    ```mlir
    %y = lathe.matmul ins(%x, %w : tensor<128x256xf32>, tensor<1024x256xf32>)
           bias(%b : tensor<1024xf32>) outs(%init : tensor<128x1024xf32>)
           {transpose_rhs, activation = #lathe<activation relu>}
           -> tensor<128x1024xf32>
    ```
  }];
  let arguments = (ins Lathe_RankedTensorOrMemRef:$lhs,
                       Lathe_RankedTensorOrMemRef:$rhs,
                       Optional<Lathe_RankedTensorOrMemRef>:$bias,
                       Optional<Lathe_RankedTensorOrMemRef>:$residual,
                       Lathe_RankedTensorOrMemRef:$init,
                       UnitAttr:$transpose_lhs,
                       UnitAttr:$transpose_rhs,
                       DefaultValuedAttr<Lathe_ActivationAttr,
                           "::mlir::lathe::Activation::none">:$activation,
                       OptionalAttr<DenseI64ArrayAttr>:$lhs_perm,
                       OptionalAttr<DenseI64ArrayAttr>:$rhs_perm,
                       OptionalAttr<DenseI64ArrayAttr>:$init_perm,
                       DefaultValuedAttr<F32Attr, "1.0f">:$alpha);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $lhs `,` $rhs `:` type($lhs) `,` type($rhs) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`residual` `(` $residual^ `:` type($residual) `)`)?
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
  let builders = [
    // Without permutations and with alpha = 1.
    OpBuilder<(ins "::mlir::TypeRange":$resultTypes, "::mlir::Value":$lhs,
                   "::mlir::Value":$rhs, "::mlir::Value":$bias,
                   "::mlir::Value":$residual, "::mlir::Value":$init,
                   "bool":$transposeLhs, "bool":$transposeRhs,
                   "::mlir::lathe::Activation":$activation), [{
      build($_builder, $_state, resultTypes, lhs, rhs, bias, residual, init,
            transposeLhs ? $_builder.getUnitAttr() : nullptr,
            transposeRhs ? $_builder.getUnitAttr() : nullptr,
            ::mlir::lathe::ActivationAttr::get($_builder.getContext(),
                                               activation),
            nullptr, nullptr, nullptr,
            $_builder.getF32FloatAttr(1.0f));
    }]>
  ];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getInitMutable());
    }
    /// True when the op works on memrefs (after bufferization).
    bool hasPureBufferSemantics() {
      return ::llvm::isa<::mlir::MemRefType>(getInit().getType());
    }
    /// Static sizes {batch, M, N, K} (batch 1 for rank 2, the product of the
    /// batch dimensions otherwise), dynamic sizes as ShapedType::kDynamic.
    ::llvm::SmallVector<int64_t, 4> getProblemSizes();
    /// The logical shapes of lhs, rhs and init: their shapes read through
    /// `lhs_perm`, `rhs_perm` and `init_perm` (before the transpose flags).
    ::llvm::SmallVector<int64_t> getLogicalShape(::mlir::Value operand);
  }];
}

//===----------------------------------------------------------------------===//
// lathe.layer_norm
//===----------------------------------------------------------------------===//

def Lathe_LayerNormOp : Lathe_Op<"layer_norm", [
    AttrSizedOperandSegments,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<Lathe_FlopsOpInterface>,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "Layer normalization over the last dimension";
  let description = [{
    `init[r, j] = (input[r, j] - mean_r) / sqrt(var_r + epsilon) * gamma[j]
    + beta[j]`, where `r` ranges over all leading dimensions and `mean_r`,
    `var_r` are the mean and the biased variance of row `r` (the last
    dimension). `gamma` and `beta` ([N]) are optional (1 and 0 without them).
    Destination style, on tensors or memrefs, like `lathe.matmul`. The CPU
    backend runs it as one oneDNN layer normalization: one read and one write
    of the data instead of a loop nest per statistic.

    `lathe-cpu-form-kernels` forms it from whatever linalg computes a layer
    norm: it interprets the generics between the input and the normalized
    output on sample rows and compares with the definition above.

    ```mlir
    %y = lathe.layer_norm ins(%x : tensor<128x256xf32>)
           gamma(%g : tensor<256xf32>) beta(%b : tensor<256xf32>)
           outs(%e : tensor<128x256xf32>) {epsilon = 1.0e-05 : f32}
           -> tensor<128x256xf32>
    ```
  }];
  let arguments = (ins Lathe_RankedTensorOrMemRef:$input,
                       Optional<Lathe_RankedTensorOrMemRef>:$gamma,
                       Optional<Lathe_RankedTensorOrMemRef>:$beta,
                       Lathe_RankedTensorOrMemRef:$init,
                       F32Attr:$epsilon);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $input `:` type($input) `)`
    (`gamma` `(` $gamma^ `:` type($gamma) `)`)?
    (`beta` `(` $beta^ `:` type($beta) `)`)?
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getInitMutable());
    }
    bool hasPureBufferSemantics() {
      return ::llvm::isa<::mlir::MemRefType>(getInit().getType());
    }
  }];
}

//===----------------------------------------------------------------------===//
// lathe.conv2d
//===----------------------------------------------------------------------===//

def Lathe_Conv2DOp : Lathe_Op<"conv2d", [
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<Lathe_FlopsOpInterface>,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "2-D convolution with fused bias, activation and max pooling";
  let description = [{
    `init = pool(act(conv(input, filter) + bias))`. `layout` is `nchw`
    (input [N, C, H, W], filter [F, C, KH, KW], output [N, F, OH, OW], as
    `linalg.conv_2d_nchw_fchw`) or `nhwc` (input [N, H, W, C], filter
    [KH, KW, C, F], output [N, OH, OW, F], as `linalg.conv_2d_nhwc_hwcf`).
    `strides` and `dilations` are those of the convolution; `padding` is
    [top, left, bottom, right]: the input read as if surrounded by that many
    zero rows and columns (rows past the last one the output reads are
    ignored);
    `bias` is [F]; `activation` is one of `none`, `relu`, `gelu`,
    `gelu_tanh`, `sigmoid`, `tanh`.

    `input_block` / `output_block` (0 = plain) keep the
    input / `init` in the channel-blocked layout oneDNN's direct and Winograd
    kernels use (nChw16c): the operand is then a rank-5 [N, C/16, H, W, 16]
    tensor whose element [n, cb, h, w, ci] is channel cb*16+ci of the plain
    [N, C, H, W] (or, with layout `nhwc`, [N, H, W, C]) tensor; the layout
    then still names the filter's order (FCHW or HWCF). `lathe-cpu-chain-convs` chooses it between
    convolutions, so no layout conversion runs between them. The block is 16,
    or all C channels in one block: a [N, 1, H, W, C] tensor, the
    channels-last (NHWC) memory order that oneDNN's AMX bf16 kernels read and
    write (chosen with `--precision=bf16`).

    With `pool = #lathe<pool max>`, `init` is the output of a max pooling
    (`pool_window`, `pool_strides`, `pool_dilations`, no padding, as
    `linalg.pooling_{nchw,nhwc}_max` from a -inf fill) of the convolution's
    output, which then never exists outside the kernel. The convolution then
    produces as many rows and columns as the pooling windows read.

    Unlike the linalg convolutions the op overwrites `init` (it does not
    accumulate), unless `accumulate` is set: then
    `init = act(conv(input, filter) + bias + init)`, a residual connection
    computed in place (oneDNN's sum post-op); not with `pool`. It is in destination style: on tensors it returns the new
    `init`, on memrefs it writes `init` in place. The CPU backend lowers it to
    one oneDNN convolution with bias and eltwise post-op (and the pooling on
    the convolution's blocked output).

    ```mlir
    %y = lathe.conv2d ins(%x, %w : tensor<8x3x32x32xf32>, tensor<32x3x3x3xf32>)
           bias(%b : tensor<32xf32>) outs(%init : tensor<8x32x15x15xf32>)
           {activation = #lathe<activation relu>, pool = #lathe<pool max>,
            pool_window = array<i64: 2, 2>, pool_strides = array<i64: 2, 2>}
           -> tensor<8x32x15x15xf32>
    ```
  }];
  let arguments = (ins Lathe_RankedTensorOrMemRef:$input,
                       Lathe_RankedTensorOrMemRef:$filter,
                       Optional<Lathe_RankedTensorOrMemRef>:$bias,
                       Lathe_RankedTensorOrMemRef:$init,
                       DefaultValuedAttr<Lathe_ConvLayoutAttr,
                           "::mlir::lathe::ConvLayout::nchw">:$layout,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilations,
                       DefaultValuedAttr<Lathe_ActivationAttr,
                           "::mlir::lathe::Activation::none">:$activation,
                       DefaultValuedAttr<Lathe_PoolKindAttr,
                           "::mlir::lathe::PoolKind::none">:$pool,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$pool_window,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$pool_strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$pool_dilations,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0, 0, 0}">:$padding,
                       DefaultValuedAttr<I64Attr, "0">:$input_block,
                       DefaultValuedAttr<I64Attr, "0">:$output_block,
                       UnitAttr:$accumulate);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $filter `:` type($input) `,` type($filter) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getInitMutable());
    }
    /// True when the op works on memrefs (after bufferization).
    bool hasPureBufferSemantics() {
      return ::llvm::isa<::mlir::MemRefType>(getInit().getType());
    }
    bool isNhwc() { return getLayout() == ::mlir::lathe::ConvLayout::nhwc; }
    bool hasPool() { return getPool() != ::mlir::lathe::PoolKind::none; }
    /// Rows (dim 0) or columns (dim 1) of the zero-padded input the op reads
    /// (counted from the first padding row): every convolution output a
    /// pooling window (if any) reads, with the filter's extent.
    /// ShapedType::kDynamic when a size is dynamic.
    int64_t getInputSpan(unsigned dim);
    /// The block sizes supported for input_block / output_block.
    static constexpr int64_t kChannelBlock = 16;
  }];
}

//===----------------------------------------------------------------------===//
// lathe.max_pool2d
//===----------------------------------------------------------------------===//

def Lathe_MaxPool2DOp : Lathe_Op<"max_pool2d", [
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<Lathe_FlopsOpInterface>,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "2-D max pooling with padding that no window takes";
  let description = [{
    `init[n, c, h, w] = max over i < window[0], j < window[1] of
    input[n, c, h*strides[0] + i*dilations[0] - padding[0],
    w*strides[1] + j*dilations[1] - padding[1]]`, taken over the positions
    inside the input only: the input read as if surrounded by `padding`
    ([top, left, bottom, right]) rows and columns of -inf, which is
    `linalg.pooling_{nchw,nhwc}_max` from a -inf fill on a `tensor.pad` with
    -inf (PyTorch's and ONNX's `MaxPool` with pads). Every window must take
    at least one input element. `layout` is `nchw` ([N, C, H, W]) or `nhwc`
    ([N, H, W, C]) for both operands; input rows and columns that no window
    reads are ignored. With `block` = B > 0 (layout `nchw` only) both
    operands are channel-blocked like `lathe.conv2d`'s `input_block` /
    `output_block`: [N, C/B, H, W, B], B = 16 or one block of all channels
    ([N, 1, H, W, C]); `lathe-cpu-chain-convs` sets it on a pooling between
    chained convolutions. Overwrites `init`; destination style like
    `lathe.conv2d`. The CPU backend runs it as one oneDNN max pooling with
    padding.

    `lathe-cpu-form-kernels` forms it from the linalg pooling of a -inf
    `tensor.pad`, so the padded copy is never made.

    ```mlir
    %y = lathe.max_pool2d ins(%x : tensor<1x64x112x112xf32>)
           outs(%init : tensor<1x64x56x56xf32>)
           {window = array<i64: 3, 3>, strides = array<i64: 2, 2>,
            padding = array<i64: 1, 1, 1, 1>} -> tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins Lathe_RankedTensorOrMemRef:$input,
                       Lathe_RankedTensorOrMemRef:$init,
                       DefaultValuedAttr<Lathe_ConvLayoutAttr,
                           "::mlir::lathe::ConvLayout::nchw">:$layout,
                       DenseI64ArrayAttr:$window,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilations,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0, 0, 0}">:$padding,
                       DefaultValuedAttr<I64Attr, "0">:$block);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $input `:` type($input) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getInitMutable());
    }
    bool hasPureBufferSemantics() {
      return ::llvm::isa<::mlir::MemRefType>(getInit().getType());
    }
    bool isNhwc() { return getLayout() == ::mlir::lathe::ConvLayout::nhwc; }
  }];
}

//===----------------------------------------------------------------------===//
// lathe.rnn
//===----------------------------------------------------------------------===//

def Lathe_RnnOp : Lathe_Op<"rnn", [
    AttrSizedOperandSegments,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<Lathe_FlopsOpInterface>,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "One direction of an LSTM or GRU layer over a whole sequence";
  let description = [{
    Runs a recurrent cell over the T steps of `input` [T, N, I] (in reverse
    time order with `reverse`), from the state `initial_h` [N, H] (and, for
    an LSTM, `initial_c` [N, H]). `weights` [G*H, I] and `recurrent_weights`
    [G*H, H] hold G gate blocks of H rows each (the ONNX and PyTorch layout);
    `gates` names, for each gate of the cell in its canonical order, the
    block that holds it: LSTM (G = 4) i, f, c, o; GRU (G = 3) z (update),
    r (reset), h (candidate). With x_t the input at step t, h the state,
    block k of a product written [k], the `cell` (the keyword after the op
    name) is one of:

    - `lstm`: i = σ(x·W[i]ᵀ + h·R[i]ᵀ + b[i] + rb[i]), likewise
      f, o; c̃ = tanh(... [c]); c' = f ⊙ c + i ⊙ c̃; h' = o ⊙ tanh(c').
    - `gru`: z, r as above; h̃ = tanh(x·W[h]ᵀ + b[h] +
      (r ⊙ h)·R[h]ᵀ + rb[h]); h' = (1 - z) ⊙ h̃ + z ⊙ h.
    - `lbr_gru` (linear before reset): h̃ = tanh(x·W[h]ᵀ + b[h] +
      r ⊙ (h·R[h]ᵀ + rb[h])).

    `bias` [G*H] is added to the input projection and `recurrent_bias`
    [G*H] (optional, zero without it) to the recurrent one. The inits are
    `y` [T, N, H] (the state after each step, at that step's index),
    the final h [N, H] and, for an LSTM, the final c [N, H]; the op
    overwrites them. Destination style, on tensors or memrefs like
    `lathe.matmul`.

    With `batch_first`, `input` is [N, T, I] and `y` is [N, T, H] (what a
    PyTorch `batch_first` layer reads and writes, so the transposes around
    the op fold into it).

    `lathe-cpu-form-recurrent` forms it from the scf.for loops the ONNX
    importer writes for LSTM and GRU; the CPU backend runs it as one oneDNN
    RNN primitive (lstm_forward, gru_forward or lbr_gru_forward) whose
    constant weights are reordered once per session.

    ```mlir
    %y, %h, %c = lathe.rnn lstm ins(%x, %w, %r : tensor<32x4x64xf32>,
           tensor<512x64xf32>, tensor<512x128xf32>) bias(%b : tensor<512xf32>)
           initial_h(%h0 : tensor<4x128xf32>) initial_c(%c0 : tensor<4x128xf32>)
           outs(%ye, %he, %ce : tensor<32x4x128xf32>, tensor<4x128xf32>,
                tensor<4x128xf32>) {gates = array<i64: 0, 2, 3, 1>}
           -> tensor<32x4x128xf32>, tensor<4x128xf32>, tensor<4x128xf32>
    ```
  }];
  let arguments = (ins Lathe_RnnCellAttr:$cell,
                       Lathe_RankedTensorOrMemRef:$input,
                       Lathe_RankedTensorOrMemRef:$weights,
                       Lathe_RankedTensorOrMemRef:$recurrent_weights,
                       Lathe_RankedTensorOrMemRef:$bias,
                       Optional<Lathe_RankedTensorOrMemRef>:$recurrent_bias,
                       Lathe_RankedTensorOrMemRef:$initial_h,
                       Optional<Lathe_RankedTensorOrMemRef>:$initial_c,
                       Variadic<Lathe_RankedTensorOrMemRef>:$inits,
                       DenseI64ArrayAttr:$gates,
                       UnitAttr:$reverse,
                       UnitAttr:$batch_first);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    custom<EnumKeyword>($cell) `ins` `(` $input `,` $weights `,` $recurrent_weights `:`
      type($input) `,` type($weights) `,` type($recurrent_weights) `)`
    `bias` `(` $bias `:` type($bias) `)`
    (`recurrent_bias` `(` $recurrent_bias^ `:` type($recurrent_bias) `)`)?
    `initial_h` `(` $initial_h `:` type($initial_h) `)`
    (`initial_c` `(` $initial_c^ `:` type($initial_c) `)`)?
    `outs` `(` $inits `:` type($inits) `)` attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getInitsMutable();
    }
    bool hasPureBufferSemantics() {
      return ::llvm::isa<::mlir::MemRefType>(getInits().front().getType());
    }
    bool isLstm() { return getCell() == ::mlir::lathe::RnnCell::lstm; }
    /// Gates of the cell: 4 for an LSTM, 3 for a GRU.
    int64_t getNumGates() { return isLstm() ? 4 : 3; }
  }];
}

#endif // LATHE_DIALECT_LATHE_LATHEOPS
