//===- LowRankOps.td - lowrank ops and attributes ----------*- tablegen -*-===//

#ifndef LATHE_DIALECT_LOWRANK_LOWRANKOPS
#define LATHE_DIALECT_LOWRANK_LOWRANKOPS

include "lathe/Dialect/LowRank/LowRankBase.td"
include "lathe/Interfaces/FlopsInterface.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def LowRank_DecisionAttr : LowRank_Attr<"Decision", "decision"> {
  let summary = "Why a weight got the rank it has";
  let description = [{
    Records one choice of `lowrank-select-ranks`: the rank, the fraction of
    the weight's spectral energy (sum of squared singular values) the rank
    keeps, the latency the target model predicts for the layer before
    (dense) and after (factorized), in microseconds, and the target whose
    model priced it.

    ```mlir
    #lowrank.decision<rank = 32, energy = 0.982, latency_before = 41.5,
                      latency_after = 12.25, target = "cpu">
    ```
  }];
  let parameters = (ins "int64_t":$rank,
                        APFloatParameter<"fraction of energy kept">:$energy,
                        APFloatParameter<"dense latency (us)">:$latencyBefore,
                        APFloatParameter<"factorized latency (us)">:$latencyAfter,
                        StringRefParameter<"target name">:$target);
  let builders = [
    AttrBuilder<(ins "int64_t":$rank, "double":$energy, "double":$before,
                     "double":$after, "::llvm::StringRef":$target), [{
      return $_get($_ctxt, rank, ::llvm::APFloat(energy), ::llvm::APFloat(before),
                   ::llvm::APFloat(after), target);
    }]>];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// lowrank.linear
//===----------------------------------------------------------------------===//

def LowRank_LinearOp : LowRank_Op<"linear", [
    Pure, DeclareOpInterfaceMethods<Lathe_FlopsOpInterface>]> {
  let summary = "A linear layer whose [N, K] weight is given as U·V";
  let description = [{
    `result = input · (U · V)ᵀ + bias`, i.e. `input · Vᵀ · Uᵀ + bias`, with
    the weight in PyTorch's `[out, in]` layout factorized as `W ≈ U · V`:

    | operand  | shape                     |
    |----------|---------------------------|
    | `input`  | `[M, K]` or `[B, M, K]`   |
    | `u`      | `[N, r]` (output side)    |
    | `v`      | `[r, K]` (input side)     |
    | `bias`   | `[N]` (optional)          |
    | `result` | `[M, N]` or `[B, M, N]`   |

    `0 < r ≤ min(N, K)`. It performs `2·M·r·(K + N)` floating-point
    operations (plus `M·N` for the bias) instead of the dense `2·M·N·K`.
    `convert-lowrank-to-lathe` turns it into two `lathe.matmul`s (or, when that is
    cheaper, forms `U·V` first). The optional `decision` records how the rank
    was chosen.

    ```mlir
    %y = lowrank.linear %x, %u, %v bias(%b)
           : (tensor<64x1024xf32>, tensor<1024x32xf32>, tensor<32x1024xf32>,
              tensor<1024xf32>) -> tensor<64x1024xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$u,
                       AnyRankedTensor:$v, Optional<AnyRankedTensor>:$bias,
                       OptionalAttr<LowRank_DecisionAttr>:$decision);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $u `,` $v (`bias` `(` $bias^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The rank r (the shared dimension of U and V).
    int64_t getRank();
  }];
}

//===----------------------------------------------------------------------===//
// lowrank.conv2d_tucker
//===----------------------------------------------------------------------===//

def LowRank_Conv2DTuckerOp : LowRank_Op<"conv2d_tucker", [
    Pure, DeclareOpInterfaceMethods<Lathe_FlopsOpInterface>]> {
  let summary = "A 2-D NCHW convolution with a Tucker-2 factorized filter";
  let description = [{
    The filter `W[Cout, Cin, kh, kw]` is given as a Tucker-2 decomposition
    over its two channel modes with one (tied) rank r:
    `W[o, i, y, x] = Σ_{a,b} u_out[o, a] · core[a, b, y, x] · u_in[b, i]`.

    | operand  | shape                                  |
    |----------|----------------------------------------|
    | `input`  | `[N, Cin, H, W]` (already padded)      |
    | `u_in`   | `[r, Cin]`                             |
    | `core`   | `[r, r, kh, kw]`                       |
    | `u_out`  | `[Cout, r]`                            |
    | `bias`   | `[Cout]` (optional)                    |
    | `result` | `[N, Cout, Ho, Wo]`                    |

    with `Ho = (H - dilation·(kh - 1) - 1) / stride + 1` (likewise `Wo`) and
    `0 < r ≤ min(Cin, Cout)`. Like `linalg.conv_2d_nchw_fchw` it has no
    padding: a padded convolution pads its input first. A rank whose factors
    store no fewer numbers than the filter (`Cin·r + r²·kh·kw + r·Cout ≥
    Cin·Cout·kh·kw`, e.g. full rank with Cin = Cout) saves nothing: with
    constant factors it canonicalizes back to one `linalg.conv_2d_nchw_fchw`
    with the multiplied-out filter. `convert-lowrank-to-lathe` turns it into a 1×1 convolution (`u_in`), the `core` convolution (strides and
    dilations) and a 1×1 convolution (`u_out`).

    ```mlir
    %y = lowrank.conv2d_tucker %x, %uin, %core, %uout bias(%b)
           {strides = array<i64: 1, 1>}
           : (tensor<1x16x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>,
              tensor<32x8xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$u_in,
                       AnyRankedTensor:$core, AnyRankedTensor:$u_out,
                       Optional<AnyRankedTensor>:$bias,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilations,
                       OptionalAttr<LowRank_DecisionAttr>:$decision);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $u_in `,` $core `,` $u_out (`bias` `(` $bias^ `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The tied channel rank r.
    int64_t getRank();
  }];
}

#endif // LATHE_DIALECT_LOWRANK_LOWRANKOPS
