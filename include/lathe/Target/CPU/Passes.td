//===- Passes.td - CPU backend passes ----------------------*- tablegen -*-===//

#ifndef LATHE_TARGET_CPU_PASSES
#define LATHE_TARGET_CPU_PASSES

include "mlir/Pass/PassBase.td"

def LatheCPUFormKernels : Pass<"lathe-cpu-form-kernels", "func::FuncOp"> {
  let summary = "Raise matmul-like linalg ops and their epilogues to lathe.matmul";
  let description = [{
    Works on tensors, before bufferization. What an op computes chooses the
    kernel, not how it is spelled:
    - `linalg.matmul` / `linalg.batch_matmul` with plain, transposing or
      (for batch_matmul) rank-2-broadcast `indexing_maps`, and matmul-shaped
      `linalg.generic`s (a mul-add contraction with those maps), become
      `lathe.matmul` with `transpose_lhs` / `transpose_rhs`;
    - a `linalg.transpose` of the last two dims feeding an operand folds into
      the transpose flag;
    - an accumulating matmul (outs not a zero fill) keeps its accumulator as
      the `residual`;
    - element-wise `linalg.generic` consumers that add a bias broadcast over
      rows, apply ReLU or GELU, or add a same-shape residual are absorbed
      into the matmul's epilogue (oneDNN post-ops), one consumer at a time.
      GELU is recognised by its algebra, not its spelling: a run of
      +, -, *, / by constants, fma and integer powers around one `math.erf`
      or `math.tanh` is brought to a polynomial in x and that function and
      compared with `0.5 x (1 + erf(x / sqrt(2)))` (`gelu`) and
      `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))` (`gelu_tanh`),
      coefficients equal up to 1e-6 relative;
    - attention heads split or merged by `expand_shape` + rank-4
      `linalg.transpose` + `collapse_shape` become rank-4 `lathe.matmul`s
      that read and write the [batch, seq, heads, dim] layout in place
      (`lhs_perm` / `rhs_perm` / `init_perm`, strided views at run time);
    - a constant scale of a bias-free product (attention's 1/sqrt(d))
      becomes the matmul's `alpha` (oneDNN output scale);
    - element-wise generics that compute a softmax or a layer norm over the
      last dimension of some row tensor become `linalg.softmax` or
      `lathe.layer_norm`: the expression of an output element is built from
      the generics' ops, operands and float constants, brought to a normal
      form (a - b = a + (-b), a / b = a * b^-1, rsqrt = sqrt^-1, ...) and
      compared with that of `exp(x - max) / sum(exp(x - max))` or
      `(x - mean) / sqrt(var + eps) * gamma + beta` (biased variance, eps the
      constant under the square root), so spellings that differ by simple
      algebra are recognised and look-alikes (clamps, shifts, scales, other
      dimensions, N - 1, non-constant eps) are not;
    - f32 `linalg.conv_2d_nchw_fchw` / `conv_2d_nhwc_hwcf` from a zero fill
      become `lathe.conv2d`; element-wise consumers that add a per-channel
      bias (rank 1, or `[F,1,1]` read at the channel loop as ONNX importers
      write it) and/or apply ReLU (maximumf or compare+select) or GELU (as
      for matmuls) are absorbed
      as its bias and activation; an added same-shape tensor (a residual
      connection, before any ReLU) becomes its init with `accumulate`; a
      per-channel affine function of constants applied to its result
      (inference batch norm: `(x - mean) * rsqrt(var + eps) * gamma + beta`
      and other spellings of a*x+b per channel) is folded into its constant
      filter and bias (FoldConvAffine.cpp); then a
      `linalg.pooling_{nchw,nhwc}_max` from a -inf fill of its result becomes
      its `pool` epilogue;
    - such a pooling of a `tensor.pad` with -inf of the spatial dimensions
      (PyTorch's and ONNX's padded `MaxPool`) becomes `lathe.max_pool2d`
      with that padding, where every pooling window takes an input element
      (one oneDNN max pooling with padding; no padded copy).

    ```mlir
    %mm = linalg.matmul indexing_maps = [...transposed B...] ins(%x, %w ...)
    %y = linalg.generic {...} ins(%mm, %b ...) { addf; maximumf 0 }
    // becomes
    %y = lathe.matmul ins(%x, %w ...) bias(%b ...) outs(%e ...)
           {transpose_rhs, activation = #lathe<activation relu>}
    ```
  }];
  let options = [
    Option<"fusePooling", "fuse-pooling", "bool", /*default=*/"true",
           "Fuse a max pooling of a convolution's result into the "
           "convolution's `pool` epilogue, and a -inf padding into "
           "`lathe.max_pool2d` (off for targets whose kernels have no "
           "pooling epilogue or padded pooling: the accelerator)">,
  ];
  let statistics = [
    Statistic<"numMatmuls", "matmuls",
              "lathe.matmul ops formed (from linalg matmuls and generics)">,
    Statistic<"numConvs", "convs", "lathe.conv2d ops formed">,
    Statistic<"numEpilogues", "epilogues",
              "Epilogues fused into a matmul or convolution (bias, "
              "activation, residual, pooling)">,
    Statistic<"numSoftmaxRows", "softmax-rows",
              "Row softmaxes formed (linalg.softmax)">,
    Statistic<"numLayerNorms", "layer-norms", "lathe.layer_norm ops formed">,
  ];
  let dependentDialects = ["::mlir::lathe::LatheDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheCPUMergeSiblingMatmuls
    : Pass<"lathe-cpu-merge-sibling-matmuls", "func::FuncOp"> {
  let summary = "Merge matmuls that read one input with constant weights "
                "into one matmul with the weights concatenated";
  let description = [{
    Works on `lathe.matmul` on tensors (after `lathe-cpu-form-kernels`).
    Matmuls in one block that share their `lhs` value (the Q, K and V
    projections of attention, or any other projections of one activation)
    become one matmul whose rank-2 weight is their weights concatenated along
    N at compile time, followed by one `tensor.extract_slice` per original
    result. Every output column is the same dot product as before, so the
    numbers do not change; the input is read (and, in a bf16 session,
    converted to bf16) once instead of once per projection, and oneDNN runs
    one larger product.

    Siblings merge only when all of these hold, and are left alone
    otherwise:
    - the same `lhs` value, `transpose_lhs`, `transpose_rhs`, `activation`
      and `alpha`; no `residual`, no permutations, f32 static shapes;
    - each `rhs` is a rank-2 f32 constant (`dense` or `dense_resource`) or a
      static unit-stride slice of one, with the same K, used by that matmul
      only;
    - either none of them has a bias or each has a constant rank-1 bias (or
      a slice of one).

    Weights that are consecutive slices of one constant in order (an ONNX
    export's fused `in_proj` weight) are read from that constant as they
    are; otherwise a new constant holds the concatenation.

    The CPU pipeline runs it only with its `merge-sibling-matmuls` option
    (off by default): with oneDNN 2.6 the merged product costs what its
    parts did, but f32 attention products that read Q, K and V as strided
    slices of it leave brgemm for `gemm:jit`. `lathe-run --precision=bf16`
    turns it on where the CPU has bf16 kernels (the input is then converted
    to bf16 once).

    ```mlir
    %q = lathe.matmul ins(%x, %wq : tensor<64x256xf32>, tensor<256x256xf32>)
           bias(%bq : tensor<256xf32>) outs(%e : tensor<64x256xf32>) {transpose_rhs}
    %k = lathe.matmul ins(%x, %wk : ...) bias(%bk : ...) outs(%e : ...) {transpose_rhs}
    // becomes
    %qk = lathe.matmul ins(%x, %wqk : tensor<64x256xf32>, tensor<512x256xf32>)
           bias(%bqk : tensor<512xf32>) outs(%e2 : tensor<64x512xf32>) {transpose_rhs}
    %q = tensor.extract_slice %qk[0, 0] [64, 256] [1, 1]
    %k = tensor.extract_slice %qk[0, 256] [64, 256] [1, 1]
    ```
  }];
  let statistics = [
    Statistic<"numMerged", "merged",
              "lathe.matmul ops saved by merging siblings (2 for Q, K, V)">,
  ];
  let dependentDialects = ["::mlir::lathe::LatheDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheCPUChainConvs : Pass<"lathe-cpu-chain-convs", "func::FuncOp"> {
  let summary = "Absorb zero padding, shrink convolutions to what their "
                "consumers read, keep chained convolutions channel-blocked";
  let description = [{
    Works on `lathe.conv2d` on tensors (after `lathe-cpu-form-kernels`):
    - a `tensor.pad` with a constant zero of the input's spatial dimensions
      becomes the convolution's `padding` (no padded copy is made);
    - a `tensor.extract_slice` that keeps a spatial prefix of a single-use
      convolution's output (offsets 0, unit strides, all of N and C) becomes
      that convolution with the smaller output: rows and columns nobody reads
      are not computed (e.g. a 13x13 map that a 2x2/2 pooling reads as 12x12,
      or a pooled 15x15 map whose last row the next convolution never reads);
    - a static-shape `nchw` convolution whose output has 16k channels and
      whose every use is the input of another `nchw` convolution (directly or
      through a rank-preserving `tensor.extract_slice` that keeps whole
      16-channel blocks), the residual (`init`) of a chained accumulating
      convolution, or the input of a chained `lathe.max_pool2d` writes its
      output in oneDNN's channel-blocked layout (`output_block = 16`, a
      [N, C/16, H, W, 16] tensor) and its consumers read it so
      (`input_block = 16`; `block = 16` on the pooling, whose output then
      chains the same way). Accumulating convolutions are chained too: a
      residual that no chained convolution writes is copied to the blocked
      layout once, uses of their output that are not convolutions read an
      NCHW copy. On CPU this removes the layout conversions between the
      convolutions, residual connections included (ResNet-50: all 74 oneDNN
      reorders of a call).
    - `nhwc` convolutions (JAX's form) chain alike among themselves: their
      data operands become the same [N, C/16, H, W, 16] tensors (the filter
      stays HWCF); uses outside the chain read an NHWC copy.
    - with `channels-last` (lathe-run `--precision=bf16`) the chained layout
      is instead one block of all channels (`output_block = C`, a
      [N, 1, H, W, C] tensor: NHWC memory order, the only layout oneDNN's AMX
      bf16 convolutions read and write), for any C. The runtime then
      converts f32 to bf16 per convolution input but transposes nothing
      between convolutions.

    ```mlir
    %a = lathe.conv2d ins(%x, %w1 : ...) outs(%e1 : tensor<8x32x15x15xf32>) {pool = #lathe<pool max>, ...}
    %s = tensor.extract_slice %a[0, 0, 0, 0] [8, 32, 14, 14] [1, 1, 1, 1]
    %b = lathe.conv2d ins(%s, %w2 : ...) outs(%e2 : tensor<8x64x12x12xf32>)
    // becomes
    %a = lathe.conv2d ins(%x, %w1 : ...) outs(%e1 : tensor<8x2x14x14x16xf32>)
           {output_block = 16 : i64, pool = #lathe<pool max>, ...}
    %b = lathe.conv2d ins(%a, %w2 : tensor<8x2x14x14x16xf32>, ...)
           outs(%e2 : tensor<8x64x12x12xf32>) {input_block = 16 : i64}
    ```
  }];
  let options = [
    Option<"blockChannels", "block-channels", "bool", /*default=*/"true",
           "Keep maps between chained convolutions channel-blocked (off for "
           "targets without oneDNN's blocked layouts: the accelerator)">,
    Option<"channelsLast", "channels-last", "bool", /*default=*/"false",
           "Chain convolutions channels-last instead (one block of all "
           "channels, [N, 1, H, W, C]), residual inputs of accumulating "
           "convolutions included: the layout of oneDNN's AMX bf16 kernels "
           "(--precision=bf16)">,
  ];
  let statistics = [
    Statistic<"numPaddingsFolded", "paddings-folded",
              "Zero tensor.pads absorbed as a convolution's padding">,
    Statistic<"numConvsShrunk", "convs-shrunk",
              "Convolutions shrunk to the outputs their consumers read">,
    Statistic<"numConvsBlocked", "convs-blocked",
              "Convolutions whose output stays channel-blocked">,
    Statistic<"numConvsChannelsLast", "convs-channels-last",
              "Convolutions whose output stays channels-last">,
  ];
  let dependentDialects = ["::mlir::lathe::LatheDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheCPUBf16Activations
    : Pass<"lathe-cpu-bf16-activations", "func::FuncOp"> {
  let summary = "Keep activations in bf16 between bf16-capable kernels";
  let description = [{
    For `lathe-run --precision=bf16` on a CPU with bf16 instructions (oneDNN's
    AVX512-BF16 or AMX kernels; the pipeline adds the pass only there). The
    static-shape f32 outputs of `lathe.conv2d`, `lathe.matmul` and
    `lathe.max_pool2d` on tensors become bf16 tensors when every use reads
    them as a bf16 operand:

    - the input of a `lathe.conv2d` (pooled or not), or the residual `init`
      of an accumulating one whose output stays bf16 (oneDNN's sum post-op
      on a bf16 destination);
    - the `lhs` of a linear layer: a `lathe.matmul` with alpha 1, no
      permutations and a constant `rhs` (its `rhs`, bias and residual stay
      f32). Only such matmuls write bf16 too: attention's products stay f32,
      so that lathe-cpu-lower-to-runtime still fuses them with their softmax;
    - the input of a `lathe.max_pool2d` whose output stays bf16;
    - the source of a `tensor.extract_slice`, `tensor.collapse_shape`,
      `tensor.expand_shape` or `linalg.transpose` whose result stays bf16
      (a transpose then gets a bf16 `tensor.empty` as its `init`);
    - an input of a `linalg.generic` on tensors (generated code, e.g. a
      CNN's global average pooling), for the output of a convolution or
      pooling (or a reshape, slice or transpose of one; a matmul's output
      that generated code reads keeps its f32 accumulation): the payload's
      argument becomes bf16
      and an `arith.extf` to f32 (exact) is its only use, so the generated
      loop computes in f32 as before and reads half the bytes.

    A value read by anything else (softmax, a layer norm, a generic's init,
    the function's result) stays f32, and so does what an accumulating
    convolution, a pooling or a reshape reads when its output stays f32: the
    decision is the largest set of values with these properties. A kernel
    whose output becomes bf16 gets a bf16 `tensor.empty` as its `init`
    (accumulating convolutions keep their residual), and
    lathe-cpu-lower-to-runtime calls the runtime's typed entry points for it
    (`lathe/runtime/Bf16.h`, e.g. `lathe_rt_conv2d_bf16_bf16`). The runtime
    then rounds the kernel's f32 accumulation to bf16 when it writes, and the
    next kernel reads bf16 without converting; the conversions at the
    boundaries stay where they were (the f32 input of the first bf16 kernel,
    the f32 output of the last).

    Unmasked attention's probabilities (a `linalg.softmax` over a
    `lathe.matmul`'s scores, through reshapes, read only as the `lhs` of
    products) stay f32 tensors (`linalg.softmax` has one element type), but
    those products get the `lathe.bf16_lhs` attribute: after bufferization
    lathe-cpu-lower-to-runtime makes the probabilities' own buffer bf16, so
    the softmax writes them in bf16 (`lathe_rt_softmax_f32_bf16`) and the
    P·V product reads them without converting. With a mask between scores
    and softmax (generated code) nothing is marked: the masked attention
    kernel takes the products, the mask and the softmax in f32.

    ```mlir
    %a = lathe.conv2d ins(%x, %w1 : tensor<1x3x8x8xf32>, ...)
           outs(%e1 : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
    %b = lathe.conv2d ins(%a, %w2 : tensor<1x4x6x6xf32>, ...)
           outs(%e2 : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    return %b : tensor<1x4x4x4xf32>
    // becomes
    %e = tensor.empty() : tensor<1x4x6x6xbf16>
    %a = lathe.conv2d ins(%x, %w1 : tensor<1x3x8x8xf32>, ...)
           outs(%e : tensor<1x4x6x6xbf16>) -> tensor<1x4x6x6xbf16>
    %b = lathe.conv2d ins(%a, %w2 : tensor<1x4x6x6xbf16>, ...)
           outs(%e2 : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    ```
  }];
  let statistics = [
    Statistic<"numBf16Values", "bf16-values",
              "Kernel outputs (and reshapes of them) kept in bf16">,
  ];
  let dependentDialects = ["::mlir::lathe::LatheDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheCPULowerToRuntime : Pass<"lathe-cpu-lower-to-runtime", "ModuleOp"> {
  let summary = "Lower kernel ops on memrefs to calls into the Lathe runtime";
  let description = [{
    Runs after bufferization. `lathe.matmul`, f32 `linalg.softmax`, and f32
    `linalg.conv_2d_nchw_fchw` / `linalg.conv_2d_nhwc_hwcf` become calls to
    `lathe_rt_*` functions of the runtime (oneDNN on CPU). They take unranked
    memrefs, so strided views (transposes) need no copies. A convolution
    whose output the op just before zero-filled overwrites it (the fill
    goes); any other runs into a temporary added to the output afterwards. A matmul whose right operand is (a view of) a
    `memref.get_global` is flagged constant so the
    runtime pre-packs it once.
    A softmax whose input the op right before writes, a buffer of its own,
    with `select(mask, fill, x)` or `select(mask, x, fill)` (an i1 mask
    broadcast onto the loop dimensions, a float constant fill: causal and
    padding masks of attention) becomes one `lathe_rt_masked_softmax_f32`
    call, and the select goes. When that masked softmax reads scores that
    one plain `lathe.matmul` (alpha the scale) wrote and its output feeds
    one plain `lathe.matmul` as lhs (P·V), the score and probability
    buffers read by nothing else (views and batch reshapes allowed, the
    probabilities possibly over the scores) and nothing between the two
    products writing q, k or the mask, all four become one
    `lathe_rt_masked_attention_f32` call where P·V was.
    `lathe.conv2d` becomes `lathe_rt_conv2d_f32` (bias and activation as
    post-ops; a constant filter is pre-packed once) or, with a pooling
    epilogue, `lathe_rt_conv2d_pool_f32`. f32 `linalg.pooling_{nchw,nhwc}_max`
    with a static window becomes `lathe_rt_pool2d_f32`; a -inf fill of its
    output right before goes, otherwise the runtime keeps the larger value.
    `lathe.max_pool2d` becomes `lathe_rt_pool2d_padded_f32`.
    A convolution or max pooling whose input (or accumulated residual) a
    convolution or pooling last wrote, with nothing else writing it in
    between, carries `LATHE_CONV_INPUT_FROM_CONV` /
    `LATHE_CONV_RESIDUAL_FROM_CONV`: the runtime then takes the bound the
    writer recorded instead of scanning the buffer for NaN/Inf.
    A product marked `lathe.bf16_lhs` (lathe-cpu-bf16-activations) whose
    lhs is an allocation that, through reshapes, only one softmax writes
    and only it reads gets that allocation as bf16: the softmax becomes
    `lathe_rt_softmax_f32_bf16` (it rounds once as it writes) and the
    product reads its bf16 lhs with no conversion.
  }];
  let statistics = [
    Statistic<"numCalls", "calls", "Kernel ops lowered to runtime calls">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def LatheCPUQuantizeInt8 : Pass<"lathe-cpu-quantize-int8", "ModuleOp"> {
  let summary = "Calibrate, or choose int8, for matmuls and convolutions "
                "with constant weights";
  let description = [{
    Post-training static quantization (`lathe-run --precision=int8
    --calibration-data=FILE.h5`), in two compilations of the same module.
    Runs on memrefs right before `lathe-cpu-lower-to-runtime`. Its kernel
    sites are the f32 `lathe.matmul`s whose right operand is (a view of) a
    constant global, with `alpha` 1 and a right operand of rank 2, and the f32
    `lathe.conv2d`s with a constant filter, numbered 0, 1, ... in walk order
    (the same in both compilations, which run the same pipeline).

    With `calibrate`, each site's input (`lhs`, `input`) goes through
    `lathe_rt_observe_range_f32(input, site)` first: running the module on
    calibration data records every site's range in the runtime session.
    With `ranges` (lo0, hi0, lo1, hi1, ...: one pair per site, in site order;
    NaN for a site calibration never reached), each site gets the
    attributes `lathe.int8_input_range = array<f32: lo, hi>` and
    `lathe.int8_site`, which `lathe-cpu-lower-to-runtime` turns into calls of
    the runtime's int8 kernels (`lathe_rt_matmul_int8_f32`,
    `lathe_rt_conv2d{,_pool}_int8_f32`: the input quantized per tensor over
    the range, u8 when it is non-negative and s8 symmetric otherwise, the
    constant weight per output channel, f32 result), and a `lathe.decision =
    #cpu.decision<input_range = ..., precision = "int8", site = ...>` (the CPU
    target's decision attribute, lib/Target/CPU/IR) for the run report. A `ranges` list whose length is not twice the number of sites is
    an error (the module is not the one calibrated).

    ```mlir
    lathe.matmul ins(%x, %w : memref<8x64xf32>, memref<64x10xf32>) ...
    // with ranges = [0.0, 6.5] becomes
    lathe.matmul ins(%x, %w : memref<8x64xf32>, memref<64x10xf32>) ...
        {lathe.int8_input_range = array<f32: 0.0, 6.5>, lathe.int8_site = 0 : i64, ...}
    ```
  }];
  let options = [
    Option<"calibrate", "calibrate", "bool", /*default=*/"false",
           "Record each site's input range at run time">,
    ListOption<"ranges", "ranges", "double",
               "Calibrated input ranges, two values per site">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def LatheCPULowerCollectives
    : Pass<"lathe-cpu-lower-collectives", "ModuleOp"> {
  let summary = "Process coordinates of shard grids from the runtime's rank";
  let description = [{
    Runs after bufferization (the CPU pipeline's runtime-calls phase). The
    collectives of the upstream `shard` dialect bufferize into calls of the
    runtime's multi-rank layer (`lathe_rt_comm_all_gather_<type>`, `_all_to_all_<type>`,
    `_reduce_scatter_sum_f32`, `_all_reduce_sum_f32`: Open MPI underneath,
    see runtime/include/lathe/runtime/Comm.h). This pass first lets each
    all-to-all read and write strided views: a `linalg.transpose` that packs
    its send buffer (when nothing in between writes the transpose's input)
    or unpacks its receive buffer (the receive buffer's only reader, with
    nothing in between touching the destination) folds into the runtime
    call's descriptor, and the packed buffer goes away. Then it lowers what
    is left:
    `shard.process_linear_index` becomes the runtime's world rank and
    `shard.process_multi_index` its row-major grid coordinates, and the
    `shard.grid` symbols are erased. A collective still present (on memrefs)
    is an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
}

def LatheCPULowerMemRed : Pass<"lathe-cpu-lower-memred", "ModuleOp"> {
  let summary = "Lower memred ops on memrefs to calls into the CPU runtime";
  let description = [{
    Runs after bufferization (the CPU pipeline's runtime-calls phase).
    `memred.attention` and `memred.chunked_attention` become
    `lathe_rt_chunked_attention_f32` (blocked online-softmax kernel; chunk
    sizes 0 for `memred.attention` let the runtime choose),
    `memred.cross_modal_reduce` becomes `lathe_rt_cross_modal_reduce_f32`,
    `memred.bank_append` becomes `lathe_rt_bank_append_policy_f32` (which
    returns the new count as i64; the policy as its code, the seed, and the
    step or 0).
    Unused bias slots are passed as the query (ignored by the runtime).
    A module without memred ops is left unchanged.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def LatheCPULowerQComm : Pass<"lathe-cpu-lower-qcomm", "ModuleOp"> {
  let summary = "Lower qcomm compute ops on memrefs to calls into the CPU runtime";
  let description = [{
    Runs after bufferization (the CPU pipeline's runtime-calls phase).
    `qcomm.quantize` becomes `lathe_rt_quantize_f32` (flags: stochastic
    when a seed is given; the seed is 0 otherwise), `qcomm.dequantize`
    `lathe_rt_dequantize_f32`, `qcomm.dequantize_reduce`
    `lathe_rt_dequantize_reduce_f32` (flags: accumulate),
    `qcomm.dequantize_reduce_requantize`
    `lathe_rt_dequantize_reduce_requantize_f32` (flags and seed as for
    quantize) and `qcomm.hadamard` `lathe_rt_hadamard32_f32` (runtime/include/lathe/
    runtime/Quant.h). The kernels need contiguous buffers: an operand whose
    layout is not contiguous is copied into a fresh buffer first (and an
    init copied back after the call). The communication ops must have been
    expanded (`qcomm-expand-collectives`) before bufferization. A module
    without qcomm ops is left unchanged.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def LatheCPULowerSparseGCN
    : Pass<"lathe-cpu-lower-sparsegcn", "ModuleOp"> {
  let summary = "Lower sparsegcn ops on memrefs to calls into the CPU runtime";
  let description = [{
    Runs after bufferization (the CPU pipeline's runtime-calls phase).
    `sparsegcn.aggregate` becomes `lathe_rt_spmm_csr_f32` (multi-threaded
    CSR SpMM, vectorised across feature columns);
    `sparsegcn.tiled_aggregate` becomes `lathe_rt_spmm_tiled_f32` (dense
    tiles gathered once into blocks for oneDNN's sgemm, sparse tiles by the
    CSR kernel, empty tiles skipped), with the tile classes as a constant
    global. CSR operands that are globals (constants, `lathe.weight`) are
    flagged constant so that the runtime builds the tile plan once. A module
    without sparsegcn ops is left unchanged.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def LatheCPUGuardIndices : Pass<"lathe-cpu-guard-indices", "ModuleOp"> {
  let summary = "Check data-dependent tensor indices at run time";
  let description = [{
    Works on tensors. A `tensor.extract` or `tensor.insert` (in a
    `linalg.generic` body or anywhere else) whose index is data -- computed
    from anything but constants, sizes, loop indices and arithmetic on them,
    e.g. a token id read from an input by an embedding lookup -- is checked
    against the size of its dimension: on a failure the generated code calls
    `lathe_rt_index_check_failed`, whose message
    `<op> at <location>: index I out of range [0, n)` becomes the pending
    error that `lathe-run` reports (exit 1), and the access is skipped (an
    extract gives zero, an insert leaves the tensor unchanged), so nothing
    is read or written out of bounds. An access already inside an `scf.if`
    whose condition includes `index ult size` is left alone (the ONNX
    importer's own checks, which name the node, have this form), so the pass
    is idempotent.

    ```mlir
    %v = tensor.extract %table[%id, %j] : tensor<100x8xf32>
    // becomes
    %ok = arith.cmpi ult, %id, %c100 : index
    scf.if %not_ok { func.call @lathe_rt_index_check_failed(%msg, %id64, %c0, %c100) }
    %v = scf.if %ok -> (f32) {
      %e = tensor.extract %table[%id, %j] : tensor<100x8xf32>
      scf.yield %e : f32
    } else {
      scf.yield %zero : f32
    }
    ```
  }];
  let statistics = [
    Statistic<"numGuards", "guards",
              "Data-dependent tensor.extract/insert indices guarded">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheCPUInstrumentTrace
    : Pass<"lathe-cpu-instrument-trace", "ModuleOp"> {
  let summary = "Mark each region of generated code for the trace";
  let description = [{
    Wraps every top-level structured op of generated code (a `linalg` op on
    buffers, a `memref.copy`) in calls to `lathe_rt_trace_region_begin` and
    `lathe_rt_trace_region_end`, which record one Chrome trace event per
    execution while the runtime's tracing is on (`lathe-run --trace`). The
    event's name is the op and its source location; its detail, the operand
    shapes and the bytes they span. Sizes known only at run time are '?' in
    the text, and the region ends with `lathe_rt_trace_region_end_sized`
    instead, which also receives their values and the bytes computed from
    them (a `memref<Nxi64>` in the text's order), so the event shows the
    actual shapes and bytes. Kernel calls into the runtime are traced
    by the runtime itself and are left alone. Runs at the end of the
    'runtime-calls' phase, only when the pipeline's `trace` option is set
    (a traced module is compiled, and cached, separately).

    ```mlir
    linalg.generic ... ins(%a : memref<4x8xf32>) outs(%b : memref<4x8xf32>)
    // becomes
    call @lathe_rt_trace_region_begin(%name) : (memref<*xi8>) -> ()
    linalg.generic ... ins(%a : memref<4x8xf32>) outs(%b : memref<4x8xf32>)
    call @lathe_rt_trace_region_end(%name) : (memref<*xi8>) -> ()
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def LatheCPULowerAsserts : Pass<"lathe-cpu-lower-asserts", "ModuleOp"> {
  let summary = "Lower cf.assert to a call into the runtime that reports its "
                "message";
  let description = [{
    Upstream's `cf.assert` lowering calls `abort()`: the process dies of
    SIGABRT and the message is lost. Here a failing assert calls
    `lathe_rt_assert_failed(message, in_parallel_loop)`, which records the
    message as the pending error and does not return: on the thread that
    entered generated code through `lathe_rt_call_guarded` (lathe-run does)
    it longjmps back there, and lathe-run prints `error: <message>` and exits
    with status 1; inside a parallel loop (`scf.parallel`, `scf.forall`,
    `omp`), where unwinding would strand the loop's other threads, and on
    any other thread, the runtime prints the message and calls `_exit(1)`.
    Runs before `convert-scf-to-openmp` (the `scf.if` it emits is lowered
    with the rest).

    ```mlir
    cf.assert %ok, "mismatched size for broadcast"
    // becomes
    scf.if %not_ok {
      func.call @lathe_rt_assert_failed(%msg, %c0_i64) : (memref<*xi8>, i64) -> ()
    }
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def LatheCPUNestParallelLoops
    : Pass<"lathe-cpu-nest-parallel-loops", "ModuleOp"> {
  let summary = "Run the inner dimensions of scf.parallel loops as scf.for";
  let description = [{
    `convert-scf-to-openmp` turns a multi-dimensional `scf.parallel` into one
    `omp.loop_nest ... collapse(n)`: a single linearized loop that recovers
    every index with divisions on each iteration, and whose innermost
    dimension is no loop LLVM can vectorize. This pass keeps the leading
    dimensions parallel, until their static trip counts multiply to at
    least `min-trips` (a dynamic dimension ends the parallel prefix), and
    runs the remaining ones as an `scf.for` nest inside. An `scf.parallel`
    nested in another one (`convert-linalg-to-parallel-loops` writes one for
    every parallel dimension that follows a reduction, e.g. the channels of
    a global average pooling over [N, H, W, C]) runs wholly as `scf.for`
    loops: as its own OpenMP region it would fork and join on every
    iteration of the loops around it. Loops with reductions are left alone.
    Runs right before `convert-scf-to-openmp`.

    ```mlir
    scf.parallel (%n, %c, %h) = (%c0, %c0, %c0) to (%N, %c16, %c8) step (...) {
      ...
    }
    // becomes
    scf.parallel (%n) = (%c0) to (%N) step (%c1) {
      scf.for %c = %c0 to %c16 step %c1 {
        scf.for %h = %c0 to %c8 step %c1 { ... }
      }
    }
    ```
  }];
  let options = [
    Option<"minTrips", "min-trips", "int64_t", /*default=*/"16",
           "Iterations the parallel dimensions must reach before the "
           "remaining ones become sequential">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def LatheCPUSerializeSmallLoops
    : Pass<"lathe-cpu-serialize-small-loops", "ModuleOp"> {
  let summary = "Run OpenMP parallel regions with little work on the "
                "calling thread";
  let description = [{
    Every `omp.parallel` made from an `scf.parallel` forks and joins the
    thread team, whatever the size of its loop. On a small loop that costs
    more than the loop (a few microseconds with idle cores, a whole time
    slice when a team thread is descheduled on a loaded machine). This pass
    gives each `omp.parallel` whose work-shared loop bounds are defined
    outside it an `if` clause: the loop's innermost iterations (its trip
    count times those of the `scf.for` loops in its body, computed at run
    time for loops whose bounds are defined outside the region, else 16 for
    a dynamic inner loop) must reach `min-work`, else the region runs serialized on
    the calling thread. The default, 131072 iterations (512 KiB of f32), is
    where XLA's simple CPU cost model starts giving an op a second thread (256 KiB
    of output per thread). The condition is folded when the bounds are
    constants. Runs right after `convert-scf-to-openmp`.

    ```mlir
    omp.parallel {
      omp.wsloop { omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) { ... } }
    }
    // becomes
    %work = arith.muli %n, %c64 : index       // trip count x inner iterations
    %big = arith.cmpi sge, %work, %min : index
    omp.parallel if(%big) { ... }
    ```
  }];
  let options = [
    Option<"minWork", "min-work", "int64_t", /*default=*/"131072",
           "Innermost loop iterations below which a parallel region runs "
           "on the calling thread (0: never)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::omp::OpenMPDialect"];
}

def LatheCPUScopeRuntimeCalls
    : Pass<"lathe-cpu-scope-runtime-calls", "ModuleOp"> {
  let summary = "Give each runtime call inside a loop its own stack scope";
  let description = [{
    A runtime call passes its buffers as unranked memrefs; lowering the
    `memref.cast` to an unranked memref allocates the ranked descriptor on
    the stack (`llvm.alloca`) where the cast is. Inside a loop that alloca
    runs every iteration and its space is only given back when the function
    returns, so a loop with runtime calls grew the stack by their
    descriptors every iteration (a streaming model of 16k frame steps with
    eight calls each overflowed the 8 MiB stack). This pass wraps each
    `func.call` that is nested in a region (a loop or a branch) and takes
    unranked memrefs made by `memref.cast`, together with fresh copies of
    those casts, between `llvm.intr.stacksave` and `llvm.intr.stackrestore`,
    so the stack used per call is returned at once. (Not a
    `memref.alloca_scope`: its lowering splits its block, which an `scf`
    body cannot hold, and `convert-scf-to-openmp` makes scopes that must be
    lowered before `scf` is.) Runs in the CPU pipeline's `llvm` phase after
    `lathe-cpu-lower-asserts`, while loops are still `scf`.

    ```mlir
    scf.for %i = %c0 to %n step %c1 {
      %u = memref.cast %buf : memref<8xf32> to memref<*xf32>
      func.call @lathe_rt_kernel(%u) : (memref<*xf32>) -> ()
    }
    // becomes
    scf.for %i = %c0 to %n step %c1 {
      %sp = llvm.intr.stacksave : !llvm.ptr
      %u = memref.cast %buf : memref<8xf32> to memref<*xf32>
      func.call @lathe_rt_kernel(%u) : (memref<*xf32>) -> ()
      llvm.intr.stackrestore %sp : !llvm.ptr
    }
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def LatheCheckContract : Pass<"lathe-check-contract", "ModuleOp"> {
  let summary = "Verify the module is in the form a CPU phase promises";
  let description = [{
    The backend contract of each phase of the CPU pipeline (as torch-mlir
    checks at the end of its pipelines), expressed as a `ConversionTarget`;
    every `lathe-cpu-<phase>` pipeline ends with it:
    - `import`: no `tosa` or `train` op; every public function with a body
      in the top-level module carries `lathe.signature`;
    - `kernels`: no `tosa`, `train` or `lowrank` op; no `linalg.matmul` or
      `linalg.batch_matmul` on f32 tensors with the default indexing maps
      (`lathe-cpu-form-kernels` raises every one to `lathe.matmul`);
    - `bufferize`: no op with a tensor operand or result, no function with
      a tensor in its signature;
    - `runtime-calls`: as `bufferize`, and no op of the `lathe`, `lowrank`,
      `memred` or `sparsegcn` dialects;
    - `loops`: as `runtime-calls`, and no `linalg` op;
    - `llvm`: only the `llvm` dialect (plus `omp` constructs on LLVM types,
      which the OpenMP IR translation handles) and `builtin.module`.

    The first offending op gets an error that names it, the phase, what the
    phase promised and what to do; a note counts the others.

    ```
    lathe-opt m.mlir --lathe-check-contract=phase=bufferize
    // error: phase 'bufferize' must leave no tensor values, but linalg.fill
    //        still has one: the op has no bufferization model
    ```
  }];
  let options = [
    Option<"phase", "phase", "::mlir::lathe::CpuPhase",
           /*default=*/"::mlir::lathe::CpuPhase::LLVM",
           "Phase whose contract to check", [{::llvm::cl::values(
             clEnumValN(::mlir::lathe::CpuPhase::Import, "import",
                        "no tosa or train; signatures recorded"),
             clEnumValN(::mlir::lathe::CpuPhase::Kernels, "kernels",
                        "f32 matmuls formed; no lowrank"),
             clEnumValN(::mlir::lathe::CpuPhase::Bufferize, "bufferize",
                        "no tensors"),
             clEnumValN(::mlir::lathe::CpuPhase::RuntimeCalls, "runtime-calls",
                        "no kernel-dialect ops"),
             clEnumValN(::mlir::lathe::CpuPhase::Loops, "loops",
                        "no linalg"),
             clEnumValN(::mlir::lathe::CpuPhase::LLVM, "llvm",
                        "only llvm and omp"))}]>,
  ];
}

def LatheCPUFormRecurrent : Pass<"lathe-cpu-form-recurrent", "func::FuncOp"> {
  let summary = "Raise the loops of LSTM and GRU layers to lathe.rnn";
  let description = [{
    Works on tensors, before `lathe-cpu-form-kernels` (which would otherwise
    turn the loops' matmuls into per-step library calls). An `scf.for` over
    a sequence that carries an RNN state becomes one `lathe.rnn` when its
    dataflow is that of a cell oneDNN runs:
    - an input projection `linalg.matmul` of `collapse_shape(x [T, N, I])`
      outside the loop (accumulating into a zero fill or a bias broadcast
      over rows), read in the loop at rows `t * N` with `t` the induction
      variable or `T - 1 - i` (reverse), the loop running over all T steps;
    - per step, a recurrent projection `linalg.matmul` of the carried h;
    - an element-wise generic whose yielded state is, element for element,
      the LSTM cell (`c' = σ(f) c + σ(i) tanh(g)`, `h' = σ(o) tanh(c')`),
      the linear-before-reset GRU (`h̃ = tanh(x_h + σ(r) (h R_hᵀ + rb_h))`)
      or, with a second matmul of `σ(r) h` and a second generic, the GRU
      (`h̃ = tanh(x_h + (σ(r) h) R_hᵀ)`), with `h' = h̃ + σ(z) (h - h̃)`;
      σ spelled `1 / (1 + exp(-v))`, operands of adds and muls in either
      order; each gate reads the same column block of both projections;
    - optionally the new h inserted into a [T, D, N, H] Y at step `t`.
    Loops with anything else in their arithmetic (LSTM peepholes, other
    activations, clips) stay as they are.
  }];
  let statistics = [
    Statistic<"numRnns", "rnns", "lathe.rnn ops formed">,
  ];
  let dependentDialects = ["::mlir::lathe::LatheDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LatheCPULowerRecurrent : Pass<"lathe-cpu-lower-recurrent", "ModuleOp"> {
  let summary = "Lower lathe.rnn on memrefs to calls into the Lathe runtime";
  let description = [{
    Runs after bufferization, beside `lathe-cpu-lower-to-runtime`: each
    `lathe.rnn` becomes `lathe_rt_rnn_f32` (oneDNN's lstm_forward,
    gru_forward or lbr_gru_forward); weights that are (views of)
    `memref.get_global` are flagged constant so the runtime reorders them
    into the primitive's layout once per session.
  }];
  let statistics = [
    Statistic<"numCalls", "calls", "lathe.rnn ops lowered to runtime calls">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // LATHE_TARGET_CPU_PASSES
