//===- LatheOps.td - Lathe core ops ------------------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_LATHE_LATHEOPS
#define LATHE_DIALECT_LATHE_LATHEOPS

include "lathe/Dialect/Lathe/LatheBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "lathe/Interfaces/FlopsInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

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
    `init = act(op(lhs) · op(rhs) + bias) + residual`, where `op` transposes
    the last two dimensions when `transpose_lhs` / `transpose_rhs` is set.
    `lhs` is [M, K] or [B, M, K]; `rhs` is [K, N] or [B, K, N] (a rank-2
    `rhs` is shared by every batch); `bias` is [N]; `residual` has the shape
    of `init`. The op is in destination style: on tensors it returns the
    updated `init`, on memrefs it writes `init` in place. `activation` is one
    of `none`, `relu`, `gelu`, `gelu_tanh`, `sigmoid`, `tanh`.

    This is the op the backends lower to a library call (oneDNN on CPU,
    cuBLAS on GPU) with the epilogue as post-ops, so that a linear layer is
    one pass over memory.

    ```mlir
    %y = lathe.matmul ins(%x, %w : tensor<128x256xf32>, tensor<1024x256xf32>)
           bias(%b : tensor<1024xf32>) outs(%init : tensor<128x1024xf32>)
           {transpose_rhs, activation = "relu"} -> tensor<128x1024xf32>
    ```
  }];
  let arguments = (ins Lathe_RankedTensorOrMemRef:$lhs,
                       Lathe_RankedTensorOrMemRef:$rhs,
                       Optional<Lathe_RankedTensorOrMemRef>:$bias,
                       Optional<Lathe_RankedTensorOrMemRef>:$residual,
                       Lathe_RankedTensorOrMemRef:$init,
                       UnitAttr:$transpose_lhs,
                       UnitAttr:$transpose_rhs,
                       DefaultValuedStrAttr<StrAttr, "none">:$activation);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $lhs `,` $rhs `:` type($lhs) `,` type($rhs) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`residual` `(` $residual^ `:` type($residual) `)`)?
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
    /// Static sizes {batch, M, N, K} (batch 1 for rank 2), dynamic sizes as
    /// ShapedType::kDynamic.
    ::llvm::SmallVector<int64_t, 4> getProblemSizes();
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
    `strides` and `dilations` are those of the convolution (no padding);
    `bias` is [F]; `activation` is one of `none`, `relu`, `gelu`,
    `gelu_tanh`, `sigmoid`, `tanh`.

    With `pool = "max"`, `init` is the output of a max pooling
    (`pool_window`, `pool_strides`, `pool_dilations`, no padding, as
    `linalg.pooling_{nchw,nhwc}_max` from a -inf fill) of the convolution's
    output, which then never exists outside the kernel. The convolution then
    produces as many rows and columns as the pooling windows read.

    Unlike the linalg convolutions the op overwrites `init` (it does not
    accumulate). It is in destination style: on tensors it returns the new
    `init`, on memrefs it writes `init` in place. The CPU backend lowers it to
    one oneDNN convolution with bias and eltwise post-op (and the pooling on
    the convolution's blocked output).

    ```mlir
    %y = lathe.conv2d ins(%x, %w : tensor<8x3x32x32xf32>, tensor<32x3x3x3xf32>)
           bias(%b : tensor<32xf32>) outs(%init : tensor<8x32x15x15xf32>)
           {activation = "relu", pool = "max", pool_window = array<i64: 2, 2>,
            pool_strides = array<i64: 2, 2>} -> tensor<8x32x15x15xf32>
    ```
  }];
  let arguments = (ins Lathe_RankedTensorOrMemRef:$input,
                       Lathe_RankedTensorOrMemRef:$filter,
                       Optional<Lathe_RankedTensorOrMemRef>:$bias,
                       Lathe_RankedTensorOrMemRef:$init,
                       DefaultValuedStrAttr<StrAttr, "nchw">:$layout,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilations,
                       DefaultValuedStrAttr<StrAttr, "none">:$activation,
                       DefaultValuedStrAttr<StrAttr, "none">:$pool,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$pool_window,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$pool_strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$pool_dilations);
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
    bool isNhwc() { return getLayout() == "nhwc"; }
    bool hasPool() { return getPool() != "none"; }
  }];
}

#endif // LATHE_DIALECT_LATHE_LATHEOPS
