//===- MemRedOps.td - Memory-reduction ops -----------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_MEMRED_MEMREDOPS
#define LATHE_DIALECT_MEMRED_MEMREDOPS

include "lathe/Dialect/MemRed/MemRedBase.td"
include "lathe/Interfaces/DecisionInterface.td"
include "lathe/Interfaces/FlopsInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"


//===----------------------------------------------------------------------===//
// Decision
//===----------------------------------------------------------------------===//

def MemRed_DecisionAttr : AttrDef<MemRed_Dialect, "Decision", [
    DeclareAttrInterfaceMethods<Lathe_DecisionAttrInterface>]> {
  let mnemonic = "decision";
  let summary = "How memred-bound-memory bounded (or kept) an op's memory";
  let description = [{
    Records one choice of `memred-bound-memory`, as the `lathe.decision`
    attribute of the op it concerns. `action` says which:

    - `"kept: scores fit"` (on a `memred.attention`): `score_bytes` fit
      `budget_bytes`;
    - `"chunked"` (on the `memred.chunked_attention` it made): `q_chunk`,
      `kv_chunk`, the `working_set_bytes` of `workers` workers, the
      `score_bytes` it avoids;
    - `"bounded streaming cache"` (on a `memred.bank_append`): the `layer`,
      the bank's `capacity` and `frame_rows`, the `recent` and `keep`
      fractions, the `policy`, `bank_bytes`, `scratch_bytes`, the
      `total_bytes` of all banks, and `unbounded_bytes` when known.

    `key_rows_bound` is set when the key length is dynamic with a bound.
    Fields print in alphabetical order, floats at six significant digits.

    ```mlir
    #memred.decision<action = "chunked", budget_bytes = 4194304,
      kv_chunk = 512, q_chunk = 128, score_bytes = 268435456, workers = 2,
      working_set_bytes = 1056768>
    ```
  }];
  let parameters = (ins
      StringRefParameter<"what the pass did">:$action,
      OptionalParameter<"std::optional<int64_t>", "one bank's bytes">:$bank_bytes,
      "int64_t":$budget_bytes,
      OptionalParameter<"std::optional<int64_t>", "bank rows">:$capacity,
      OptionalParameter<"std::optional<int64_t>", "rows per frame">:$frame_rows,
      Lathe_OptionalDecisionFloat<"fraction kept by reduction">:$keep,
      OptionalParameter<"std::optional<int64_t>", "bound of a dynamic key length">:$key_rows_bound,
      OptionalParameter<"std::optional<int64_t>", "key/value chunk">:$kv_chunk,
      OptionalParameter<"std::optional<int64_t>", "layer index">:$layer,
      StringRefParameter<"bank reduction policy", "\"\"">:$policy,
      OptionalParameter<"std::optional<int64_t>", "query chunk">:$q_chunk,
      Lathe_OptionalDecisionFloat<"fraction of recent rows">:$recent,
      OptionalParameter<"std::optional<int64_t>", "reduction scratch bytes">:$scratch_bytes,
      OptionalParameter<"std::optional<int64_t>", "bytes of the full scores">:$score_bytes,
      OptionalParameter<"std::optional<int64_t>", "bytes of all banks">:$total_bytes,
      OptionalParameter<"std::optional<int64_t>", "bytes without a bound">:$unbounded_bytes,
      OptionalParameter<"std::optional<int64_t>", "worker threads assumed">:$workers,
      OptionalParameter<"std::optional<int64_t>", "chunked working set bytes">:$working_set_bytes);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The flag of the pass that records this decision.
    static constexpr ::llvm::StringLiteral kPassName = "memred-bound-memory";
  }];
}

def MemRed_TensorOrMemRef
    : AnyTypeOf<[AnyRankedTensor, AnyMemRef], "ranked tensor or memref">;

class MemRed_DpsOp<string mnemonic, list<Trait> traits = []>
    : MemRed_Op<mnemonic, !listconcat(traits, [
        DestinationStyleOpInterface,
        DeclareOpInterfaceMethods<Lathe_FlopsOpInterface>,
        DeclareOpInterfaceMethods<MemoryEffectsOpInterface>])> {
  code dpsClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getInitMutable());
    }
    /// True when the op works on memrefs (after bufferization).
    bool hasPureBufferSemantics() {
      return ::llvm::isa<::mlir::MemRefType>(getInit().getType());
    }
  }];
}

class MemRed_AttentionBase<string mnemonic>
    : MemRed_DpsOp<mnemonic, [AttrSizedOperandSegments]> {
  code attentionClassDeclaration = [{
    /// The inits: the output and, when present, the log-sum-exp.
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(
          getOperation(), getInitMutable().getOperandNumber(),
          getLse() ? 2 : 1);
    }
    /// True when the op works on memrefs (after bufferization).
    bool hasPureBufferSemantics() {
      return ::llvm::isa<::mlir::MemRefType>(getInit().getType());
    }
    /// Number of batch elements (product of the leading dimensions), query
    /// rows, key rows, head width and value width; ShapedType::kDynamic when
    /// a size is not static.
    int64_t getBatchSize();
    int64_t getQueryLength() {
      auto t = ::llvm::cast<::mlir::ShapedType>(getQuery().getType());
      return t.getDimSize(t.getRank() - 2);
    }
    int64_t getKeyLength() {
      auto t = ::llvm::cast<::mlir::ShapedType>(getKey().getType());
      return t.getDimSize(t.getRank() - 2);
    }
    int64_t getHeadDim() {
      auto t = ::llvm::cast<::mlir::ShapedType>(getQuery().getType());
      return t.getDimSize(t.getRank() - 1);
    }
    int64_t getValueDim() {
      auto t = ::llvm::cast<::mlir::ShapedType>(getValue().getType());
      return t.getDimSize(t.getRank() - 1);
    }
    /// Bytes of the full f32 score matrix [batch, Lq, Lk], or failure for
    /// dynamic sizes.
    ::mlir::FailureOr<int64_t> getScoreBytes();
  }];
}

//===----------------------------------------------------------------------===//
// memred.attention
//===----------------------------------------------------------------------===//

def MemRed_AttentionOp : MemRed_AttentionBase<"attention"> {
  let summary = "softmax(Q·Kᵀ·scale + biases)·V";
  let description = [{
    Scaled dot-product attention. `query` is [..., Lq, D], `key` [..., Lk, D],
    `value` [..., Lk, Dv] and `init` [..., Lq, Dv] (f32, the same leading
    "batch" dimensions, e.g. batch·heads). Up to two additive `biases` are
    added to the scaled scores before the softmax (over the key axis); each
    has the score shape [..., Lq, Lk] or size 1 in any dimension it
    broadcasts along (a key mask [B, 1, 1, Lk], a pair bias [1, H, Lq, Lk]).
    The op is in destination style: on tensors it returns the new `init`
    (overwritten, not accumulated), on memrefs it writes `init`.

    With the optional `lse` init [..., Lq] (f32) the op also returns the
    log-sum-exp of each score row, m + log Σ exp(s − m) (−inf for a row
    whose scores are all −inf): the softmax normaliser that
    `memred.attention_grad` needs to recompute the probabilities without
    storing them. `lathe-differentiate` adds it to the forward op it
    differentiates.

    This is the op that `memred-raise-attention` raises linalg attention to;
    it says nothing about how the scores are stored. `memred-bound-memory`
    turns it into `memred.chunked_attention` where the full score matrix
    would exceed a memory budget.

    ```mlir
    %o = memred.attention ins(%q, %k, %v : tensor<4x128x64xf32>,
           tensor<4x128x64xf32>, tensor<4x128x64xf32>)
           outs(%init : tensor<4x128x64xf32>) scale(0.125) -> tensor<4x128x64xf32>
    ```
  }];
  let arguments = (ins MemRed_TensorOrMemRef:$query,
                       MemRed_TensorOrMemRef:$key,
                       MemRed_TensorOrMemRef:$value,
                       Variadic<MemRed_TensorOrMemRef>:$biases,
                       MemRed_TensorOrMemRef:$init,
                       Optional<MemRed_TensorOrMemRef>:$lse,
                       F32Attr:$scale);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `:` type($query) `,` type($key) `,`
      type($value) `)`
    (`biases` `(` $biases^ `:` type($biases) `)`)?
    `outs` `(` $init `:` type($init) `)`
    (`lse` `(` $lse^ `:` type($lse) `)`)?
    `scale` `(` $scale `)` attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = attentionClassDeclaration;
}

//===----------------------------------------------------------------------===//
// memred.chunked_attention
//===----------------------------------------------------------------------===//

def MemRed_ChunkedAttentionOp : MemRed_AttentionBase<"chunked_attention"> {
  let summary = "Attention computed block by block with an online softmax";
  let description = [{
    Computes what `memred.attention` computes, in blocks of `q_chunk` query
    rows by `kv_chunk` key rows (Evoformer attention in DeepSpeed4Science,
    FlashAttention's recurrence): for each query block the running row
    maximum m and sum l (f32; their log-sum-exp m + log l is the softmax
    normaliser) are updated per key block, the partial output is rescaled by
    exp(m_old − m_new) and P·V of the block is accumulated. Only a
    q_chunk × kv_chunk block of scores exists at a time per worker; the full
    Lq × Lk matrix is never materialised. A row whose biases are all −inf
    gives a zero output row (no NaN).

    Chunks larger than the sequence are clamped to it (the verifier only
    requires them to be positive).

    With the optional `lse` init [..., Lq] (f32) the op also returns the
    log-sum-exp of each score row, m + log Σ exp(s − m) (−inf for a row
    whose scores are all −inf): the softmax normaliser that
    `memred.attention_grad` needs to recompute the probabilities without
    storing them. `lathe-differentiate` adds it to the forward op it
    differentiates.

    ```mlir
    %o = memred.chunked_attention ins(%q, %k, %v : tensor<1x8192x64xf32>,
           tensor<1x8192x64xf32>, tensor<1x8192x64xf32>)
           biases(%mask : tensor<1x1x8192xf32>)
           outs(%init : tensor<1x8192x64xf32>) scale(0.125) chunks(64, 512)
           -> tensor<1x8192x64xf32>
    ```
  }];
  let arguments = (ins MemRed_TensorOrMemRef:$query,
                       MemRed_TensorOrMemRef:$key,
                       MemRed_TensorOrMemRef:$value,
                       Variadic<MemRed_TensorOrMemRef>:$biases,
                       MemRed_TensorOrMemRef:$init,
                       Optional<MemRed_TensorOrMemRef>:$lse,
                       F32Attr:$scale,
                       I64Attr:$q_chunk,
                       I64Attr:$kv_chunk);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `:` type($query) `,` type($key) `,`
      type($value) `)`
    (`biases` `(` $biases^ `:` type($biases) `)`)?
    `outs` `(` $init `:` type($init) `)`
    (`lse` `(` $lse^ `:` type($lse) `)`)?
    `scale` `(` $scale `)` `chunks` `(` $q_chunk `,` $kv_chunk `)`
    attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = attentionClassDeclaration # [{
    int64_t getQChunkSize() { return getQChunkAttr().getInt(); }
    int64_t getKvChunkSize() { return getKvChunkAttr().getInt(); }
  }];
}

//===----------------------------------------------------------------------===//
// memred.attention_grad
//===----------------------------------------------------------------------===//

def MemRed_AttentionGradOp : MemRed_DpsOp<"attention_grad",
    [AttrSizedOperandSegments]> {
  let summary = "Gradients of attention, recomputing the scores block by block";
  let description = [{
    The backward of `memred.attention` / `memred.chunked_attention`
    (FlashAttention-2; DeepSpeed4Science's Evoformer attention backward):
    from the forward's operands `query`, `key`, `value` and `biases`, its
    output `out` [..., Lq, Dv] and row log-sum-exp `lse` [..., Lq], and the
    output gradient `out_grad` [..., Lq, Dv], computes the gradients of the
    query, key and value (inits `query_grad` [..., Lq, D], `key_grad`
    [..., Lk, D], `value_grad` [..., Lk, Dv]) and of the biases listed in
    `bias_grads [i, ...]` (one init per listed bias, of that bias' shape:
    summed over the dimensions it broadcasts along). With
    p = exp(s − lse), s = scale·Q·Kᵀ + biases:
    dV = pᵀ·dO, ds = p ∘ (dO·Vᵀ − rowsum(dO ∘ O)), dQ = scale·ds·K,
    dK = scale·dsᵀ·Q, dbias = ds. A row whose `lse` is −inf (all scores
    −inf: the forward's output is the constant 0) gets zero gradients.

    Only a `q_chunk` × `kv_chunk` block of probabilities and one of their
    gradients exist at a time per worker; the L × L matrices are never
    stored. Chunks 0 let the runtime choose; chunks larger than the sequence
    are clamped. Destination style: on tensors the op returns the new
    inits (overwritten), on memrefs it writes them.

    ```mlir
    %dq, %dk, %dv, %dpair = memred.attention_grad
        ins(%q, %k, %v, %o, %do, %lse : tensor<2x4x64x16xf32>,
            tensor<2x4x64x16xf32>, tensor<2x4x64x16xf32>,
            tensor<2x4x64x16xf32>, tensor<2x4x64x16xf32>, tensor<2x4x64xf32>)
        biases(%mask, %pair : tensor<2x1x1x64xf32>, tensor<1x4x64x64xf32>)
        outs(%dq0, %dk0, %dv0 : tensor<2x4x64x16xf32>, tensor<2x4x64x16xf32>,
             tensor<2x4x64x16xf32>)
        bias_grads [1] (%dpair0 : tensor<1x4x64x64xf32>)
        scale(0.25) chunks(64, 128)
        -> tensor<2x4x64x16xf32>, tensor<2x4x64x16xf32>,
           tensor<2x4x64x16xf32>, tensor<1x4x64x64xf32>
    ```
  }];
  let arguments = (ins MemRed_TensorOrMemRef:$query,
                       MemRed_TensorOrMemRef:$key,
                       MemRed_TensorOrMemRef:$value,
                       MemRed_TensorOrMemRef:$out,
                       MemRed_TensorOrMemRef:$out_grad,
                       MemRed_TensorOrMemRef:$lse,
                       Variadic<MemRed_TensorOrMemRef>:$biases,
                       MemRed_TensorOrMemRef:$query_grad,
                       MemRed_TensorOrMemRef:$key_grad,
                       MemRed_TensorOrMemRef:$value_grad,
                       Variadic<MemRed_TensorOrMemRef>:$bias_grads,
                       OptionalAttr<DenseI64ArrayAttr>:$bias_grad_of,
                       F32Attr:$scale,
                       I64Attr:$q_chunk,
                       I64Attr:$kv_chunk);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `,` $out `,` $out_grad `,` $lse `:`
      type($query) `,` type($key) `,` type($value) `,` type($out) `,`
      type($out_grad) `,` type($lse) `)`
    (`biases` `(` $biases^ `:` type($biases) `)`)?
    `outs` `(` $query_grad `,` $key_grad `,` $value_grad `:`
      type($query_grad) `,` type($key_grad) `,` type($value_grad) `)`
    (`bias_grads` $bias_grad_of^ ` ` `(` $bias_grads `:` type($bias_grads) `)`)?
    `scale` `(` $scale `)` `chunks` `(` $q_chunk `,` $kv_chunk `)`
    attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(
          getOperation(), getQueryGradMutable().getOperandNumber(),
          3 + getBiasGrads().size());
    }
    bool hasPureBufferSemantics() {
      return ::llvm::isa<::mlir::MemRefType>(getQueryGrad().getType());
    }
    /// The index of the bias each `bias_grads` init is the gradient of.
    ::llvm::SmallVector<int64_t> getBiasGradIndices() {
      if (auto attr = getBiasGradOfAttr())
        return ::llvm::SmallVector<int64_t>(attr.asArrayRef());
      return {};
    }
    int64_t getQChunkSize() { return getQChunkAttr().getInt(); }
    int64_t getKvChunkSize() { return getKvChunkAttr().getInt(); }
  }];
}

//===----------------------------------------------------------------------===//
// memred.cross_modal_reduce
//===----------------------------------------------------------------------===//

def MemRed_CrossModalReduceOp : MemRed_DpsOp<"cross_modal_reduce"> {
  let summary = "Keep recent and cross-modally relevant cached tokens (AdaCM²)";
  let description = [{
    Reduces a memory of N cached visual tokens `tokens` [N, C] (oldest
    first) to M tokens `init` [M, C], in their original order. The score of
    token i is the cross-attention weight the text/query tokens give it,
    summed over query rows and heads:
    score_i = Σ_h Σ_r softmax_j(scale · queries[h, r] · keys[h, j])[i], with
    `queries` [H, Lq, D] and the tokens' keys `keys` [H, N, D].
    The newest R = ceil(recent · N) tokens are kept whole; of the N − R
    older tokens the K = ceil(keep · (N − R)) with the highest scores are
    kept (ties: the newer token); the rest are dropped. M must be R + K.
    Both fractions are in (0, 1]; AdaCM²'s reported setting is recent = keep
    = 0.1.

    ```mlir
    %r = memred.cross_modal_reduce queries(%q : tensor<8x32x32xf32>)
           keys(%k : tensor<8x320x32xf32>) ins(%tok : tensor<320x256xf32>)
           outs(%init : tensor<61x256xf32>) recent(0.1) keep(0.1)
           scale(0.176776695) -> tensor<61x256xf32>
    ```
  }];
  let arguments = (ins MemRed_TensorOrMemRef:$queries,
                       MemRed_TensorOrMemRef:$keys,
                       MemRed_TensorOrMemRef:$tokens,
                       MemRed_TensorOrMemRef:$init,
                       F64Attr:$recent,
                       F64Attr:$keep,
                       F32Attr:$scale);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `queries` `(` $queries `:` type($queries) `)`
    `keys` `(` $keys `:` type($keys) `)`
    `ins` `(` $tokens `:` type($tokens) `)`
    `outs` `(` $init `:` type($init) `)`
    `recent` `(` $recent `)` `keep` `(` $keep `)` `scale` `(` $scale `)`
    attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = dpsClassDeclaration # [{
    /// Tokens kept out of `n` with fractions (recent, keep): R + K.
    static int64_t getKeptCount(int64_t n, double recent, double keep);
  }];
}


//===----------------------------------------------------------------------===//
// memred.bank_append
//===----------------------------------------------------------------------===//

def MemRed_BankAppendOp : MemRed_Op<"bank_append", [
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<Lathe_FlopsOpInterface>,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "Append a frame to a bounded streaming memory bank (AdaCM²)";
  let description = [{
    A per-layer memory bank of cached visual tokens with a static capacity:
    `bank` [capacity, C] holds `count` valid rows (oldest first; the rows
    from `count` on are unspecified). The op appends the frame's tokens
    `frame` [F, C]: with x = the `count` valid rows followed by the F frame
    rows (n = count + F rows),

    - if n ≤ capacity, the new bank holds x and the new count is n;
    - otherwise x is reduced as `memred.cross_modal_reduce` reduces it: the
      score of row j is the cross-attention weight the `queries` give it,
      summed over query rows and heads, with row j's key for head h being
      columns [h·D, (h+1)·D) of the row (queries [H, Lq, D], or [Lq, D] for
      one head; H·D ≤ C); the newest ceil(recent · n) rows are kept whole
      plus the top ceil(keep · (n − ceil(recent · n))) older rows by score
      (ties: the newer), in order. The kept rows start the new bank and the
      new count is their number.

    `policy` chooses how the n rows are reduced; every policy keeps
    m = ceil(recent · n) + ceil(keep · (n − ceil(recent · n))) rows, so all
    use the same memory:

    - `adacm2` (the default): as above, the newest rows whole plus the
      older rows the queries attend to most;
    - `recent`: the newest m rows (keep-recent-only);
    - `random`: the newest ceil(recent · n) rows plus older rows chosen at
      random: row j's priority is splitmix64(key + j) with
      key = splitmix64(splitmix64(`seed`) ^ `step`) (64-bit wrap-around),
      the highest priorities are kept (ties: the newer). `step` (an index,
      e.g. the frame loop's iteration) makes each reduction draw anew; it
      is required by this policy and only allowed with it;
    - `merge` (MA-LMM's memory bank compression): while more than m rows
      remain, the adjacent pair (j, j + 1) with the highest cosine
      similarity (f64; 0 when a row is all zeros; ties: the older pair)
      is replaced by its average (a + b) · 0.5 (f32), in place.

    The queries are read only by `adacm2`. The verifier requires that a
    full bank taking a frame reduces to at most `capacity` rows, so the
    bank never overflows. `count` outside [0, capacity] is a runtime
    error.

    The op is in destination style: `bank` is the init, updated in place on
    memrefs (where only the new count is returned). `memred-bound-memory`
    creates it from an unbounded streaming cache (a loop-carried tensor
    growing by `tensor.concat` each frame); it lowers to
    `lathe_rt_bank_append_policy_f32`.

    ```mlir
    %bank1, %n1 = memred.bank_append ins(%frame : tensor<16x32xf32>)
        queries(%q : tensor<4x32xf32>) outs(%bank : tensor<96x32xf32>)
        count(%n) recent(0.25) keep(0.25) scale(0.176776695)
        -> tensor<96x32xf32>, index
    %bank2, %n2 = memred.bank_append ins(%frame : tensor<16x32xf32>)
        queries(%q : tensor<4x32xf32>) outs(%bank : tensor<96x32xf32>)
        count(%n) step(%t) recent(0.25) keep(0.25) scale(0.176776695)
        policy(random) seed(7) -> tensor<96x32xf32>, index
    ```
  }];
  let arguments = (ins MemRed_TensorOrMemRef:$frame,
                       MemRed_TensorOrMemRef:$queries,
                       MemRed_TensorOrMemRef:$bank,
                       Index:$count,
                       Optional<Index>:$step,
                       F64Attr:$recent,
                       F64Attr:$keep,
                       F32Attr:$scale,
                       DefaultValuedAttr<MemRed_BankPolicyAttr,
                           "::mlir::lathe::memred::BankPolicy::adacm2">:$policy,
                       DefaultValuedAttr<I64Attr, "0">:$seed);
  let results = (outs Variadic<AnyRankedTensor>:$result, Index:$new_count);
  let assemblyFormat = [{
    `ins` `(` $frame `:` type($frame) `)`
    `queries` `(` $queries `:` type($queries) `)`
    `outs` `(` $bank `:` type($bank) `)`
    `count` `(` $count `)` (`step` `(` $step^ `)`)?
    `recent` `(` $recent `)` `keep` `(` $keep `)` `scale` `(` $scale `)`
    `` custom<BankPolicy>($policy) (`seed` `(` $seed^ `)`)?
    attr-dict `->` type(results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getBankMutable());
    }
    bool hasPureBufferSemantics() {
      return ::llvm::isa<::mlir::MemRefType>(getBank().getType());
    }
    int64_t getCapacity() {
      return ::llvm::cast<::mlir::ShapedType>(getBank().getType()).getDimSize(0);
    }
    int64_t getFrameRows() {
      return ::llvm::cast<::mlir::ShapedType>(getFrame().getType()).getDimSize(0);
    }
    int64_t getRowWidth() {
      return ::llvm::cast<::mlir::ShapedType>(getBank().getType()).getDimSize(1);
    }
    /// Runtime scratch of lathe_rt_bank_append_policy_f32 reducing `rows`
    /// rows of `width` floats, `frameRows` of them a frame's, with `policy`
    /// (adacm2 and random, per row: an f64 score, an f32 softmax entry, an
    /// i64 index, a flag; recent: none; merge: per row an f64 similarity and
    /// two i64 links, plus a copy of the frame).
    static int64_t getScratchBytes(int64_t rows, int64_t frameRows,
                                   int64_t width,
                                   ::mlir::lathe::memred::BankPolicy policy);
  }];
}

#endif // LATHE_DIALECT_MEMRED_MEMREDOPS
