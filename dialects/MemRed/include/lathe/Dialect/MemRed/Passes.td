//===- Passes.td - MemRed passes ---------------------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_MEMRED_PASSES
#define LATHE_DIALECT_MEMRED_PASSES

include "mlir/Pass/PassBase.td"

def MemRedRaiseAttention : Pass<"memred-raise-attention", "func::FuncOp"> {
  let summary = "Raise linalg attention patterns to memred.attention";
  let description = [{
    Matches softmax(Q·Kᵀ·s)·V written in linalg on tensors and replaces it by
    one `memred.attention`:

    - scores: a batched product — `linalg.batch_matmul` or the matmul-shaped
      `linalg.generic` importers write (multiply-add body) — of Q [N, Lq, D]
      with K [N, Lk, D] transposed by its `indexing_maps`, or with
      Kᵀ [N, D, Lk] (a `linalg.transpose` of the last two dimensions is
      looked through; otherwise a transpose is inserted); a Q scaled before
      the product simply stays the op's query (scale 1);
    - optionally a scale: an element-wise `linalg.generic` multiplying by
      (or dividing by) a scalar constant;
    - the softmax over the last dimension: `linalg.softmax`, or its
      decomposed spelling (max-reduce, exp(x − max), sum-reduce, divide
      generics);
    - the batched product (either spelling) of the probabilities with
      V [N, Lk, Dv].

    Only zero-initialised accumulators are matched and every intermediate
    must have no other use (the score matrix disappears). Anything else is
    left alone. The raised op carries no decision: the pattern is exact.

    `min-scores` leaves attention whose per-batch score matrix (Lq·Lk) is
    statically smaller in linalg, where the CPU backend runs it as oneDNN
    batch-matmuls and softmax: measured here, that was faster at L = 128
    (bench/peers), while the fused kernel was 2.7x faster at L = 1024
    (bench/memred). `min-scores=-1` takes the size from the `memred` table
    of the module's `#lathe.target` (`attention_min_scores`; the CPU's
    shipped default is 512·512), which is what the CPU pipeline does.
  }];
  let options = [
    Option<"minScores", "min-scores", "int64_t", /*default=*/"0",
           "Raise only attention with at least this many scores (Lq*Lk) per "
           "batch; 0 raises all; -1: the target's attention_min_scores">,
  ];
  let dependentDialects = ["::mlir::lathe::memred::MemRedDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def MemRedBoundMemory : Pass<"memred-bound-memory", "func::FuncOp"> {
  let summary = "Bound the memory of attention and streaming caches to a budget";
  let description = [{
    Rewrites every `memred.attention` whose f32 score matrix
    (batch · Lq · Lk · 4 bytes) exceeds `budget` into
    `memred.chunked_attention`. The chunk sizes are the largest
    (q_chunk ≤ 128, kv_chunk ≤ 512, powers of two clamped to the sequence)
    whose working set — per worker a q_chunk × kv_chunk score block, a
    q_chunk × Dv accumulator and two q_chunk row statistics, times
    `workers` — fits the budget; larger kv chunks are preferred (fewer
    rescalings). Every attention op gets a `lathe.decision =
    #memred.decision<...>` (score bytes,
    budget, action, chunk sizes, working-set bytes).

    `budget` is in bytes, or with a `KiB`, `MiB` or `GiB` suffix
    (`budget=64MiB`). A budget that cannot hold even a 1 × 1 chunk, an
    unparsable budget, or attention with dynamic sizes that must be bounded
    is an error naming the op.

    Streaming caches: an `scf.for` over frames whose iter_arg is an f32
    tensor [?, C] that starts empty, grows each iteration by
    `tensor.concat dim(0)` of itself and a static frame [F, C], and is the
    key and value of one rank-2 `memred.attention` (the query's
    cross-attention to the cache) is rewritten to carry a bank
    tensor<capacity x C> and a count instead: a `memred.bank_append` of the
    frame (scored by that attention's query and scale) before the
    attention, which reads the bank's valid rows (`tensor.extract_slice`).
    Memory then no longer grows with the number of frames. The caches of
    the function are layers 0, 1, ... in the order their attention runs;
    layer l keeps `keep · depth-decay^l` of its older rows (deeper layers
    keep less) and `recent` of the newest, and gets a capacity share
    proportional to `depth-decay^l`: the largest capacities whose banks plus
    the largest reduction's scratch fit `budget` (never less than the
    smallest bank that a full bank plus a frame reduces into, never more
    than the whole stream when the trip count is static). Each
    `memred.bank_append` gets a `lathe.decision = #memred.decision<...>`
    (layer, capacity, keep,
    bank, scratch, total, unbounded and budget bytes); a budget below the
    smallest banks is an error, and a growing cache of another shape gets a
    warning naming why it was left alone. The attention that reads a bank
    is then bounded like any other, with the capacity as its key length.

    `policy` chooses how a full bank is reduced (every policy keeps the
    same number of rows, so all use the same memory; see
    `memred.bank_append`): `adacm2` (by the queries' cross-attention, the
    default), `recent` (the newest rows), `random` (the newest
    ceil(recent · n), the rest drawn with `seed`, anew at every frame:
    the op's step is the frame loop's iteration plus 2^20 times that of
    each enclosing scf.for, so every stream of a batch draws differently)
    or `merge` (MA-LMM: the most similar adjacent rows are averaged). The
    budget counts each policy's own reduction scratch.
  }];
  let options = [
    Option<"budget", "budget", "std::string", /*default=*/"\"\"",
           "Memory budget for attention scores: bytes or KiB/MiB/GiB">,
    Option<"workers", "workers", "int64_t", /*default=*/"-1",
           "Workers that each hold one score block (the CPU's threads); "
           "-1: the target's (the `memred` table's `workers`, 2 on the "
           "shipped CPU target)">,
    Option<"recent", "recent", "double", /*default=*/"0.1",
           "Streaming banks: fraction of the newest rows kept whole">,
    Option<"keep", "keep", "double", /*default=*/"0.1",
           "Streaming banks: fraction of the older rows kept by score in the "
           "first layer">,
    Option<"depthDecay", "depth-decay", "double", /*default=*/"0.75",
           "Streaming banks: layer l keeps keep * depth-decay^l and gets a "
           "capacity share proportional to depth-decay^l">,
    Option<"policy", "policy", "::mlir::lathe::memred::BankPolicy",
           /*default=*/"::mlir::lathe::memred::BankPolicy::adacm2",
           "Streaming banks: how a full bank is reduced", [{::llvm::cl::values(
             clEnumValN(::mlir::lathe::memred::BankPolicy::adacm2, "adacm2",
                        "the newest rows plus the older rows the queries "
                        "attend to most"),
             clEnumValN(::mlir::lathe::memred::BankPolicy::recent, "recent",
                        "the newest rows only"),
             clEnumValN(::mlir::lathe::memred::BankPolicy::random, "random",
                        "the newest rows plus older rows drawn at random"),
             clEnumValN(::mlir::lathe::memred::BankPolicy::merge, "merge",
                        "average the most similar adjacent rows (MA-LMM)"))}]>,
    Option<"seed", "seed", "int64_t", /*default=*/"0",
           "Streaming banks: the random policy's seed">,
  ];
  let statistics = [
    Statistic<"numBanks", "banks-bounded",
              "Streaming caches bounded to memred.bank_append banks">,
    Statistic<"numChunked", "attentions-chunked",
              "Attentions rewritten to memred.chunked_attention">,
    Statistic<"numFit", "attentions-kept",
              "Attentions whose scores fit the budget">,
  ];
  let dependentDialects = ["::mlir::lathe::memred::MemRedDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def MemRedEstimatePeakMemory
    : Pass<"memred-estimate-peak-memory", "ModuleOp"> {
  let summary = "Predict the peak memory of bufferized functions (static liveness)";
  let description = [{
    Runs on bufferized IR (after the CPU pipeline's `bufferize` phase, before
    `runtime-calls`). For each function it walks the ops in order, adding the
    bytes of every statically shaped `memref.alloc` when it is allocated and
    removing them at its `memref.dealloc` (views are traced to their
    allocation), and adds the scratch the memred attention kernels allocate
    while they run (`workers` blocks of scores, accumulator and row
    statistics). The maximum is attached as `lathe.predicted_peak_bytes`
    (with `lathe.predicted_peak_complete`: no dynamic allocation) and
    reported as a remark beside the number of allocations and whether the
    prediction is complete (dynamic allocations are not counted; other
    kernels' runtime scratch — oneDNN staging copies, packed weights — is not
    modelled). Nested regions are walked once (one loop iteration live at a
    time). Compare it with `lathe-run --report`'s measured
    `peak_memory_bytes` (the runtime allocator's high-water mark).
  }];
  let options = [
    Option<"workers", "workers", "int64_t", /*default=*/"-1",
           "Threads running attention blocks at once; -1: the target's (the "
           "`memred` table's `workers`, 2 on the shipped CPU target)">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

#endif // LATHE_DIALECT_MEMRED_PASSES
