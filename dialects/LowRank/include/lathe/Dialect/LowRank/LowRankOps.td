//===- LowRankOps.td - lowrank ops and attributes ----------*- tablegen -*-===//

#ifndef LATHE_DIALECT_LOWRANK_LOWRANKOPS
#define LATHE_DIALECT_LOWRANK_LOWRANKOPS

include "lathe/Dialect/LowRank/LowRankBase.td"
include "lathe/Interfaces/DecisionInterface.td"
include "lathe/Interfaces/FlopsInterface.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def LowRank_DecisionAttr : LowRank_Attr<"Decision", "decision", [
    DeclareAttrInterfaceMethods<Lathe_DecisionAttrInterface,
                                ["verifyAttachedTo"]>]> {
  let summary = "Why a weight got the rank it has";
  let description = [{
    Records one choice of `lowrank-select-ranks`, as the `lathe.decision`
    attribute of the op it made (a `lowrank.linear` or
    `lowrank.conv2d_tucker`, or the dense op it kept): the action
    (`factorize` or `dense`), the rank (the full rank when kept dense), the
    fraction of the weight's spectral energy (sum of squared singular values)
    the rank keeps, the latency the target model predicts for the layer
    before (dense) and after, in microseconds, at the module's batch and at
    batch 1 and 64, the target whose model priced it, and the allocation it
    is part of: the strategy, the error norm, the budget (`max_error` or
    `max_latency`) and its limit, and the error and latency fraction the
    whole allocation reached (the same on every decision of a run).
    Floats print at six significant digits.

    ```mlir
    #lowrank.decision<action = "factorize", rank = 32, energy = 0.982,
      latency_before_us = 41.5, latency_after_us = 12.25,
      latency_before_b1_us = 3.1, latency_after_b1_us = 1.2,
      latency_before_b64_us = 80.2, latency_after_b64_us = 24.0,
      target = "cpu", strategy = "global", error_norm = "frobenius",
      budget = "max_error", budget_limit = 0.05, model_error = 0.049,
      model_latency = 0.31>
    ```
  }];
  let parameters = (ins
      StringRefParameter<"factorize or dense">:$action,
      "int64_t":$rank,
      Lathe_DecisionFloat<"fraction of energy kept">:$energy,
      Lathe_DecisionFloat<"dense latency (us)">:$latency_before_us,
      Lathe_DecisionFloat<"latency after (us)">:$latency_after_us,
      Lathe_DecisionFloat<"dense latency at batch 1 (us)">:$latency_before_b1_us,
      Lathe_DecisionFloat<"latency after at batch 1 (us)">:$latency_after_b1_us,
      Lathe_DecisionFloat<"dense latency at batch 64 (us)">:$latency_before_b64_us,
      Lathe_DecisionFloat<"latency after at batch 64 (us)">:$latency_after_b64_us,
      StringRefParameter<"target name">:$target,
      StringRefParameter<"rank strategy">:$strategy,
      StringRefParameter<"error norm">:$error_norm,
      StringRefParameter<"max_error or max_latency">:$budget,
      Lathe_DecisionFloat<"the budget's limit">:$budget_limit,
      Lathe_DecisionFloat<"error the allocation reached">:$model_error,
      Lathe_DecisionFloat<"latency fraction the allocation reached">:$model_latency);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The flag of the pass that records this decision.
    static constexpr ::llvm::StringLiteral kPassName = "lowrank-select-ranks";
  }];
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
    cheaper, forms `U·V` first). `lowrank-select-ranks` records how it chose
    the rank in a `lathe.decision = #lowrank.decision<...>` attribute, whose
    rank must be the factors' rank.

    ```mlir
    %y = lowrank.linear %x, %u, %v bias(%b)
           : (tensor<64x1024xf32>, tensor<1024x32xf32>, tensor<32x1024xf32>,
              tensor<1024xf32>) -> tensor<64x1024xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$u,
                       AnyRankedTensor:$v, Optional<AnyRankedTensor>:$bias);
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
    dilations) and a 1×1 convolution (`u_out`). As for `lowrank.linear`, a
    `lathe.decision = #lowrank.decision<...>` records the chosen rank.

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
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilations);
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
