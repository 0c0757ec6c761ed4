//===- Passes.td - Target-independent Lathe passes ---------*- tablegen -*-===//

#ifndef LATHE_TRANSFORMS_PASSES
#define LATHE_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def LatheDecomposeAggregates
    : Pass<"lathe-decompose-aggregates", "func::FuncOp"> {
  let summary = "Decompose aggregate linalg ops (linalg.softmax) into generics";
  let description = [{
    Uses the ops' `AggregatedOpInterface` so that backends without a kernel
    for them (and the upstream-only reference pipeline) can lower them to
    loops: `convert-linalg-to-loops` does not handle `linalg.softmax`.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheRaiseGenerics : Pass<"lathe-raise-generics", "func::FuncOp"> {
  let summary = "Lower element-wise ops on tensors to linalg; raise generic "
                "contractions and convolutions to named linalg ops";
  let description = [{
    Model IR from other exporters (JAX, torch-mlir) writes contractions and
    convolutions as `linalg.generic` and element-wise `arith`/`math` ops
    directly on tensors. Backends recognise named ops, so this pass, run
    early, brings such IR to the named form:
    - element-wise ops on ranked tensors (`arith.maximumf`, `arith.addf`,
      `math.exp`, ...) become element-wise `linalg.generic`s (upstream
      `convert-elementwise-to-linalg`'s patterns);
    - a generic whose payload is exactly `out + ext(a) * ext(b)` (float:
      `mulf`/`addf`, `extf` optional; integer: `muli`/`addi`, `extsi`
      optional, so i8 x i8 -> i32 qualifies; operand order free) and whose
      indexing maps are projected permutations is a contraction: every loop
      is a batch (in all three operands), m (lhs and result), n (rhs and
      result) or k (lhs and rhs, reduction) dimension, or the op is left
      alone; k and one of m, n must exist (a matrix-vector product gets a
      unit dimension, a dot product stays generic). Generics with the default `linalg.matmul` / `batch_matmul`
      maps go through upstream's `linalg::specializeGenericOp`; every other
      contraction (transposed operands, several m/n/k/batch dimensions such
      as `bshd,hdk->bsk`) becomes `tensor.collapse_shape` (and a
      `linalg.transpose` only where an operand's dimensions are not already
      grouped) around one `linalg.matmul` / `linalg.batch_matmul`, whose
      `indexing_maps` absorb a transposed lhs or rhs, then
      `tensor.expand_shape` back. (MLIR 22's specialization builds invalid
      ops for transposed maps and treats `extui` payloads as signed, so it
      is not used for those.)
    - a generic with the same payload that upstream recognises as a
      convolution (`linalg::isaConvolutionOpInterface`; 1-D/2-D/3-D,
      NHWC/HWCF, NCHW/FCHW, depthwise and grouped forms, strides and
      dilations read from the maps) becomes the named convolution through
      upstream's specialization, as does a generic max pooling with an
      `arith.maximumf` payload. The named op is built and verified on a
      detached copy first; an op upstream would build wrongly stays generic.

    Recognition looks only at indexing maps, iterator types, element types
    and the payload's ops, never at values. Anything else (a `subf`
    payload, unsigned extensions, broadcast or single-operand reductions,
    dynamic sizes that a reshape would have to split) stays generic.

    ```mlir
    %r = linalg.generic {indexing_maps = [(b,s,k,h,d) -> (b,s,h,d),
                                          (b,s,k,h,d) -> (h,d,k),
                                          (b,s,k,h,d) -> (b,s,k)], ...}
        ins(%x, %w : tensor<2x16x4x8xf32>, tensor<4x8x32xf32>) ...
    // becomes
    %a = tensor.collapse_shape %x [[0, 1], [2, 3]] : ... into tensor<32x32xf32>
    %b = tensor.collapse_shape %w [[0, 1], [2]] : ... into tensor<32x32xf32>
    %c = tensor.collapse_shape %init [[0, 1], [2]] ...
    %m = linalg.matmul ins(%a, %b ...) outs(%c ...)
    %r = tensor.expand_shape %m [[0, 1], [2]] ... into tensor<2x16x32xf32>
    ```
  }];
  let statistics = [
    Statistic<"numElementwise", "elementwise",
              "Element-wise ops on tensors lowered to linalg.generic">,
    Statistic<"numContractions", "contractions",
              "Generic contractions raised to linalg.matmul / batch_matmul">,
    Statistic<"numConvolutions", "convolutions",
              "Generic convolutions and poolings raised to named ops">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheRecordSignature : Pass<"lathe-record-signature", "ModuleOp"> {
  let summary = "Record each public function's tensor signature as an attribute";
  let description = [{
    Sets `lathe.signature = <function type>` on every public function with a
    body that has none yet. Lowering changes argument types (tensors become
    memrefs, then LLVM structs), but the attribute survives, so `lathe-run`
    can feed and read IR from any phase, including the LLVM dialect. The CPU
    pipeline runs it first.
  }];
}

def LatheLLVMFastmath : Pass<"lathe-llvm-fastmath", "ModuleOp"> {
  let summary = "Grant floating-point reassociation and contraction to generated code";
  let description = [{
    Adds LLVM fast-math flags to every `llvm.fadd`, `llvm.fsub` and `llvm.fmul`
    of the module, so that LLVM vectorises reductions (reassociation) and forms
    fused multiply-adds (contraction): the freedom every ML compiler takes, and
    the reason results may differ in the last bits from a strict evaluation.
    No flag that assumes the absence of NaN or Inf (`nnan`, `ninf`) is ever
    set, so NaN and Inf propagate as in IEEE arithmetic. Flags already on an op
    are kept. The CPU pipeline's `llvm` phase runs it with both flags on;
    `lathe-run --fast-math=none` (and the reference pipeline) run it with both
    off, and `lathe-run --report` names the setting.

    Example:
    ```mlir
    %s = llvm.fadd %a, %b : f32
    // --lathe-llvm-fastmath becomes
    %s = llvm.fadd %a, %b {fastmathFlags = #llvm.fastmath<contract, reassoc>} : f32
    ```
  }];
  let options = [
    Option<"reassoc", "reassoc", "bool", /*default=*/"true",
           "Allow reassociation (vectorised reductions)">,
    Option<"contract", "contract", "bool", /*default=*/"true",
           "Allow contraction of a multiply and an add into an FMA">,
  ];
}

def LatheFuseElementwise : Pass<"lathe-fuse-elementwise"> {
  let summary = "Element-wise fusion of linalg ops (upstream's, minus a miscompile)";
  let description = [{
    The pattern set and control of upstream `linalg-fuse-elementwise-ops`,
    except that a producer whose payload reads its own output is not fused:
    MLIR 22 fuses such a producer into a consumer with more loops and the
    result then accumulates once per extra loop iteration (a silently wrong
    answer). One pattern more: a `linalg.transpose` read only by an input of
    a generic folds into that input's indexing map (upstream fuses generic
    producers only), and where the generic reads more elements from its
    source than it writes (a reduction, e.g. a CNN's global average pooling
    of a channel-blocked convolution output) its loops are interchanged so
    that the source is read in storage order. The CPU pipeline's `kernels`
    phase uses this pass.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheDifferentiate : Pass<"lathe-differentiate", "ModuleOp"> {
  let summary = "Generate the gradient function of a scalar loss (reverse-mode AD)";
  let description = [{
    For each function with arguments marked `lathe.param` that returns one
    scalar loss (`tensor<f32>` or `f32`), adds `@<name>_grad` with the same
    arguments, returning the loss and then the gradient of each marked
    argument, in argument order. Works on linalg/tensor IR before kernel
    formation (the CPU pipeline's `import` phase output or earlier), so the
    backward graph gets the same kernels as the forward one.

    Every linalg structured op is differentiated from its indexing maps and
    scalar body (arith/math derivatives); reductions must combine by addf or
    max/min; `linalg.softmax`, `tensor.expand_shape`/`collapse_shape`,
    `extract_slice`/`insert_slice`, constant `pad`, `concat` and `cast` have
    their own rules, and so does `linalg.conv_2d_nchw_fchw` with static
    spatial sizes: its input and filter gradients are convolutions (of the
    spread, padded output gradient with the flipped filter; of the input
    and output gradient with batch and channels swapped), which reach the
    same kernels as the forward convolution. `memred.attention` and `memred.chunked_attention` are
    differentiated by `memred.attention_grad` (the forward op gets a
    log-sum-exp result; the backward recomputes the scores block by block,
    so no L x L tensor is stored). Anything else on the path from a
    parameter to the loss is an error naming the op.
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"\"",
           "Differentiate only this function (default: every function with "
           "lathe.param arguments)">,
  ];
  let statistics = [
    Statistic<"numFunctions", "functions", "Gradient functions generated">,
    Statistic<"numBackwardOps", "backward-ops",
              "linalg ops built for the backward sweep">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::lathe::memred::MemRedDialect"];
}

def LatheMakeTrainStep : Pass<"lathe-make-train-step", "ModuleOp"> {
  let summary = "Build a training step (gradients + optimizer update) from @<fn>_grad";
  let description = [{
    From lathe-differentiate's `@<fn>_grad`, adds
    `@<fn>_train_step(params..., state..., batch..., step: tensor<f32>)`
    returning the loss, the updated parameters and the updated optimizer
    state (per parameter: the momentum buffer for sgd; m, v for adamw).
    The learning rate is `lr`, or `train.warmup_cosine` of the step when
    `total-steps` is set; `clip-norm` > 0 clips the gradients by their global
    norm first. State arguments are marked `lathe.opt_state =
    "<param name>.<kind>"`, the step argument `lathe.step`.

    With `micro-batches` = P > 1 (gradient accumulation), every batch
    argument takes P times the gradient function's batch (dimension 0; a
    dynamic one stays dynamic and must be divisible by P), the gradient
    function's body runs once per part k (rows [k*b, (k+1)*b)), and the
    losses and gradients are added in part order, ((x_0 + x_1) + x_2) + ...,
    then multiplied by 1/P: the arithmetic of P ranks of
    lathe-shard-data-parallel whose collectives add in rank order
    (lathe-train --deterministic).
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"\"",
           "Only @<function>_grad (default: every *_grad function)">,
    Option<"optimizer", "optimizer", "::mlir::lathe::TrainOptimizer",
           /*default=*/"::mlir::lathe::TrainOptimizer::AdamW",
           "The optimizer", [{::llvm::cl::values(
             clEnumValN(::mlir::lathe::TrainOptimizer::Sgd, "sgd",
                        "SGD with momentum"),
             clEnumValN(::mlir::lathe::TrainOptimizer::AdamW, "adamw",
                        "AdamW"))}]>,
    Option<"lr", "lr", "double", /*default=*/"1.0e-3", "Learning rate (peak)">,
    Option<"minLr", "min-lr", "double", /*default=*/"0.0",
           "Final learning rate of the cosine schedule">,
    Option<"warmupSteps", "warmup-steps", "int64_t", /*default=*/"0",
           "Linear warm-up steps (with total-steps)">,
    Option<"totalSteps", "total-steps", "int64_t", /*default=*/"0",
           "Steps of the schedule; 0: constant learning rate">,
    Option<"momentum", "momentum", "double", /*default=*/"0.9", "SGD momentum">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.01",
           "Weight decay (decoupled for adamw, coupled for sgd)">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "AdamW beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "AdamW beta2">,
    Option<"eps", "eps", "double", /*default=*/"1.0e-8", "AdamW epsilon">,
    Option<"clipNorm", "clip-norm", "double", /*default=*/"0.0",
           "Clip gradients to this global L2 norm (0: no clipping)">,
    Option<"microBatches", "micro-batches", "int64_t", /*default=*/"1",
           "Split the batch into this many equal parts along dimension 0 "
           "and sum their gradients and losses in order, then divide by it">,
  ];
  let dependentDialects = ["::mlir::lathe::train::TrainDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheShardDataParallel : Pass<"lathe-shard-data-parallel", "ModuleOp"> {
  let summary = "Sharded data parallelism: the training step one rank runs";
  let description = [{
    Rewrites lathe-make-train-step's `@<function>_train_step` into the step
    of one rank of sharded data parallelism (ZeRO / Megatron's distributed
    optimizer). Every rank keeps the full parameters (its model copy) and
    computes gradients on its part of the batch; the gradients, flattened in
    parameter order and zero-padded to `ranks * S` values (S: a multiple of
    `align`), are reduce-scattered (`shard.reduce_scatter`, sum, then / ranks)
    so that each rank holds the mean gradient of one shard of S values; the
    optimizer updates that shard of the master weights and of its state; the
    new master shards are all-gathered (`shard.all_gather`) into the new
    parameters. The loss returned is the mean over the ranks
    (`shard.all_reduce`).

    Signature: `(params..., master: tensor<Sxf32>, state shards...,
    batch..., step) -> (loss, new params..., new master, new state...)`;
    the shard arguments carry `lathe.dp_state = "master" | "m" | "v" |
    "momentum"`, the function `lathe.data_parallel = {grid, ranks,
    ranks_per_node, shard_size, total_size}`. The grid is
    `shard.grid @lathe_dp(shape = NODESxRANKS_PER_NODE)`; the collectives run
    over `grid_axes = [1, 0]`, so the process at (node n, local rank l) owns
    shard `l * NODES + n` (where a reduce-scatter inside the node, then
    across nodes, leaves it). The collectives are marked
    `lathe.dp_role = "gradients" | "weights"` for the qcomm passes.
    Clipping by the global norm (`train.clip_by_global_norm`) moves onto the
    shards: the squared norms of the shards are summed over the ranks
    (`shard.all_reduce`) and every shard is scaled by the same factor.
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"loss\"",
           "Shard @<function>_train_step">,
    Option<"ranks", "ranks", "int64_t", /*default=*/"1", "Number of ranks">,
    Option<"ranksPerNode", "ranks-per-node", "int64_t", /*default=*/"0",
           "Ranks per node (0: all ranks on one node)">,
    Option<"align", "align", "int64_t", /*default=*/"2048",
           "The shard size is a multiple of this (quantization groups)">,
  ];
  let dependentDialects = ["::mlir::shard::ShardDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheAppendLoss : Pass<"lathe-append-loss", "ModuleOp"> {
  let summary = "Build a loss function from a forward model";
  let description = [{
    Adds `@<loss-name>(weights..., args..., labels) -> tensor<f32>` computing
    the mean cross-entropy (logits [..., C], i64 labels [...]) or mean
    squared error (labels shaped as the prediction) of the first result of
    `@<function>`, and `@<loss-name>_predict` (same arguments but the
    labels) returning the prediction, for evaluation. With
    `promote-weights`, the function's float `lathe.weight`
    ops become leading `lathe.param` arguments named by their dataset
    (`lathe.name`), with the source in `lathe.init`.
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"main\"",
           "The forward function">,
    Option<"kind", "kind", "::mlir::lathe::LossKind",
           /*default=*/"::mlir::lathe::LossKind::CrossEntropy",
           "The loss", [{::llvm::cl::values(
             clEnumValN(::mlir::lathe::LossKind::CrossEntropy, "cross-entropy",
                        "mean cross-entropy of logits and i64 labels"),
             clEnumValN(::mlir::lathe::LossKind::Mse, "mse",
                        "mean squared error"))}]>,
    Option<"labels", "labels", "std::string", /*default=*/"\"labels\"",
           "Name (lathe.name) of the labels argument">,
    Option<"lossName", "loss-name", "std::string", /*default=*/"\"loss\"",
           "Name of the new function">,
    Option<"promoteWeights", "promote-weights", "bool", /*default=*/"true",
           "Turn float lathe.weight ops into lathe.param arguments">,
    ListOption<"frozen", "frozen", "std::string",
               "Weights (dataset names) that stay constants, e.g. buffers">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}


def SeqShardUlysses : Pass<"seqshard-ulysses", "ModuleOp"> {
  let summary = "DeepSpeed-Ulysses sequence parallelism: shard a model's "
                "activations along the sequence over `degree` ranks";
  let description = [{
    Rewrites `@<function>` so that each of `degree` = P ranks computes on its
    part of the sequence, keeping the signature (full inputs, full outputs):

    - argument `seq-arg` is sliced along `seq-dim` by the process's index
      on `shard.grid @seqshard(shape = P)` (`shard.process_linear_index`):
      rank k takes positions [k·N/P, (k+1)·N/P);
    - every op the sequence flows through is retyped from N to N/P: linalg
      ops (element-wise, layer norms, projections, transposes) through their
      indexing maps, `tensor.expand_shape`/`collapse_shape`, element-wise
      arith and `linalg.softmax`. Operands without the sequence that a loop
      over it reads (positional embeddings, constants) take the rank's
      slice; `linalg.index` of the sequence loop is offset by k·N/P;
    - each attention (`memred.attention` / `chunked_attention`, after
      memred's raising of the linalg pattern) on [B, H, N/P, D] becomes
      `seqshard.scatter_heads` of q, k and v (whole sequence, H/P heads),
      the attention on those heads (biases keep the whole sequence and take
      the rank's heads), and `seqshard.gather_heads` of its output;
    - each returned value with the sequence is all-gathered along it; with
      `gather-results=false` each rank returns its block instead (the
      result type has N/P positions and the function attribute
      `seqshard.sharded_results` lists, per result, the dimension of the
      block or -1 for a whole one), so no rank holds the whole output.

    `quantize=8` (or 4) marks every all-to-all `quant_bits`, with
    `quant-group-size` values per f32 scale and `hadamard`: the all-to-alls
    then send qcomm's bytes and scales instead of f32 values.

    Ops that reduce over the sequence or mix it with other dimensions in a
    way this pass does not follow are errors naming the op. Heads or a
    sequence not divisible by P, or grouped-query key/value heads that
    neither divide nor are divisible by P, are errors naming the numbers and
    the degrees that would work.
  }];
  let options = [
    Option<"degree", "degree", "int64_t", /*default=*/"2",
           "Ranks the sequence is sharded over">,
    Option<"function", "function", "std::string", /*default=*/"\"main\"",
           "The function to shard">,
    Option<"seqArg", "seq-arg", "int64_t", /*default=*/"0",
           "The argument that carries the sequence">,
    Option<"seqDim", "seq-dim", "int64_t", /*default=*/"1",
           "Its sequence dimension (1: [batch, seq, ...], 0: [seq, ...])">,
    Option<"raiseAttention", "raise-attention", "bool", /*default=*/"true",
           "Raise linalg attention to memred.attention first">,
    Option<"gatherResults", "gather-results", "bool", /*default=*/"true",
           "All-gather each returned value with the sequence (false: each "
           "rank returns its block, listed in seqshard.sharded_results)">,
    Option<"quantize", "quantize", "int64_t", /*default=*/"0",
           "Quantize the all-to-alls to this many bits (4 or 8; 0: f32)">,
    Option<"quantGroupSize", "quant-group-size", "int64_t",
           /*default=*/"128",
           "Values per scale of the quantized all-to-alls">,
    Option<"hadamard", "hadamard", "bool", /*default=*/"false",
           "Hadamard-transform (order 32) before quantizing">,
  ];
  let dependentDialects = ["::mlir::lathe::seqshard::SeqShardDialect",
                           "::mlir::lathe::memred::MemRedDialect",
                           "::mlir::shard::ShardDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheAttachTarget : Pass<"lathe-attach-target", "ModuleOp"> {
  let summary = "Attach a JSON target description to the module as "
                "lathe.target";
  let description = [{
    Reads a target description (the JSON that `lathe-calibrate` writes; see
    docs/Architecture.md, "The target in the IR") once, before any module is
    visited, and sets it as the module's `lathe.target` attribute
    (`#lathe.target<...>`), replacing one already attached. Passes that
    price kernels (`lowrank-select-ranks`, `sparsegcn-tile`,
    `memred-bound-memory`, ...) read their tables from that attribute; none
    of them reads a file. Run it first:

    ```
    lathe-opt model.mlir --lathe-attach-target=my-cpu.json --lowrank-select-ranks
    ```
    A bare path is the same as `file=PATH`. A file that cannot be read or
    parsed is an error naming the file and the key.
  }];
  let options = [
    Option<"file", "file", "std::string", "\"\"",
           "The JSON target description to attach">,
  ];
  let dependentDialects = ["::mlir::lathe::LatheDialect"];
}

#endif // LATHE_TRANSFORMS_PASSES
