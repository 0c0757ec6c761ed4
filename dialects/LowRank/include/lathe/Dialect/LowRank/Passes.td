//===- Passes.td - lowrank passes --------------------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_LOWRANK_PASSES
#define LATHE_DIALECT_LOWRANK_PASSES

include "mlir/Pass/PassBase.td"

def LowRankSelectRanks : Pass<"lowrank-select-ranks", "ModuleOp"> {
  let summary = "Factorize constant weights with ranks chosen globally under an "
                "error budget and a target latency model (HALOC)";
  let description = [{
    Finds linear layers with a constant f32 weight (`linalg.matmul` whose
    right operand is an `arith.constant` dense or `dense_resource`, used
    transposed `[N, K]` or plain `[K, N]`, with an optional bias-add
    `linalg.generic` consumer) and 2-D convolutions
    (`linalg.conv_2d_nchw_fchw` with a constant filter). For each it takes the
    SVD of the weight (LAPACKE, double precision; for a convolution the SVDs
    of the two channel unfoldings, Tucker-2 by HOSVD with a tied rank),
    prices the candidate ranks (multiples of `granularity`) with the target's
    latency model (the `lowrank` table of the module's `#lathe.target`, else
    the CPU's shipped roofline; attach a measured one with
    `--lathe-attach-target=FILE`), and allocates ranks over the whole module at once
    (`strategy=global`): the choice of one rank (or dense) per layer with the
    least predicted latency whose model-level error is within `max-error`,
    or, with `max-latency`, the one with the least model-level error whose
    predicted latency is within that fraction of the dense layers'
    (HALOC's formulation). Both are solved exactly: a multiple-choice
    knapsack over the layers' candidates, by merging Pareto frontiers of
    latency and error layer by layer.

    The model-level error is the energy-weighted relative Frobenius error
    `E = sqrt(Σ_l ‖W_l − Ŵ_l‖² / Σ_l ‖W_l‖²)`; `max-error` bounds it (0.01 is
    near-lossless, 0.3 aggressive). With `error-norm=spectral` it is instead
    `E = sqrt(Σ_l (σ_{r_l+1} / σ_1)²)`, the relative operator-norm error,
    which bounds how much each layer can change any input's image and ignores
    the small-singular-value tail that trained weights without weight decay
    keep from their random initialisation. With `error-norm=relative` it is
    `E = sqrt(Σ_l ‖W_l − Ŵ_l‖² / ‖W_l‖²)`: every layer's relative Frobenius
    error counts alike, whatever the layer's norm. Chosen layers become `lowrank.linear` /
    `lowrank.conv2d_tucker`; each decision (factorize, or keep dense on
    the dense op) is recorded once, as `lathe.decision = #lowrank.decision<...>`,
    and is also a remark (as is every skipped weight).

    ```
    lathe-opt model.mlir --lowrank-select-ranks="max-error=0.1 granularity=16"
    lathe-opt model.mlir --lowrank-select-ranks="max-latency=0.25 error-norm=spectral"
    ```
  }];
  let options = [
    Option<"maxError", "max-error", "double", "0.05",
           "Global budget of model-level relative Frobenius error, in [0, 1)">,
    Option<"maxLatency", "max-latency", "double", "0.0",
           "Latency budget instead of an error budget: the predicted "
           "latency of the analysed layers as a fraction of their dense "
           "latency, in (0, 1]; the global allocation then minimises the "
           "model-level error within it. 0 (the default): no latency "
           "budget, max-error drives the search. Not together with "
           "max-error">,
    Option<"granularity", "granularity", "int64_t", "-1",
           "Candidate ranks are multiples of this (default: the target's)">,
    Option<"minSaving", "min-saving", "double", "0.0",
           "Leave a layer dense unless its predicted latency drops by at "
           "least this fraction, in [0, 1)">,
    Option<"strategy", "strategy", "::mlir::lowrank::RankStrategy",
           "::mlir::lowrank::RankStrategy::Global",
           "`global` (HALOC: one exact choice over all layers), or the "
           "baselines "
           "`uniform` (one rank for every layer, the smallest within "
           "max-error) and `threshold` (per layer, the fastest rank whose "
           "own relative error is within max-error)", [{::llvm::cl::values(
             clEnumValN(::mlir::lowrank::RankStrategy::Global, "global",
                        "one exact choice over all layers"),
             clEnumValN(::mlir::lowrank::RankStrategy::Uniform, "uniform",
                        "one rank for every layer"),
             clEnumValN(::mlir::lowrank::RankStrategy::Threshold, "threshold",
                        "per layer, the fastest rank within max-error"))}]>,
    Option<"errorNorm", "error-norm", "::mlir::lowrank::ErrorNorm",
           "::mlir::lowrank::ErrorNorm::Frobenius",
           "What max-error bounds: `frobenius` (energy-weighted relative "
           "Frobenius error over all layers), `relative` (root of the sum "
           "over layers of the squared relative Frobenius error "
           "‖W − Ŵ‖/‖W‖) or `spectral` (root of the sum over layers of the "
           "squared relative operator-norm error σ_{r+1}/σ_1)",
           [{::llvm::cl::values(
             clEnumValN(::mlir::lowrank::ErrorNorm::Frobenius, "frobenius",
                        "energy-weighted relative Frobenius error"),
             clEnumValN(::mlir::lowrank::ErrorNorm::Relative, "relative",
                        "per-layer relative Frobenius errors"),
             clEnumValN(::mlir::lowrank::ErrorNorm::Spectral, "spectral",
                        "per-layer relative operator-norm errors"))}]>,
    Option<"batch", "batch", "int64_t", "0",
           "Rows M to price a dynamic-batch layer at (0: the static size, "
           "or 64 when it is dynamic)">,
  ];
  let statistics = [
    Statistic<"numFactorized", "layers-factorized",
              "Weights replaced by low-rank factors (lowrank.linear or "
              "lowrank.conv2d_tucker)">,
    Statistic<"numKeptDense", "layers-kept-dense",
              "Weights considered and kept dense">,
  ];
  let dependentDialects = ["::mlir::lowrank::LowRankDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // LATHE_DIALECT_LOWRANK_PASSES
