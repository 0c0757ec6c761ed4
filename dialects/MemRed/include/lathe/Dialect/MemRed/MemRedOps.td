//===- MemRedOps.td - Memory-reduction ops -----------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_MEMRED_MEMREDOPS
#define LATHE_DIALECT_MEMRED_MEMREDOPS

include "lathe/Dialect/MemRed/MemRedBase.td"
include "lathe/Interfaces/FlopsInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

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

class MemRed_AttentionBase<string mnemonic> : MemRed_DpsOp<mnemonic> {
  code attentionClassDeclaration = dpsClassDeclaration # [{
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
                       F32Attr:$scale);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `:` type($query) `,` type($key) `,`
      type($value) `)`
    (`biases` `(` $biases^ `:` type($biases) `)`)?
    `outs` `(` $init `:` type($init) `)`
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
                       F32Attr:$scale,
                       I64Attr:$q_chunk,
                       I64Attr:$kv_chunk);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `:` type($query) `,` type($key) `,`
      type($value) `)`
    (`biases` `(` $biases^ `:` type($biases) `)`)?
    `outs` `(` $init `:` type($init) `)`
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

    The verifier requires that a full bank taking a frame reduces to at most
    `capacity` rows, so the bank never overflows. `count` outside
    [0, capacity] is a runtime error.

    The op is in destination style: `bank` is the init, updated in place on
    memrefs (where only the new count is returned). `memred-bound-memory`
    creates it from an unbounded streaming cache (a loop-carried tensor
    growing by `tensor.concat` each frame); it lowers to
    `lathe_rt_bank_append_f32`.

    ```mlir
    %bank1, %n1 = memred.bank_append ins(%frame : tensor<16x32xf32>)
        queries(%q : tensor<4x32xf32>) outs(%bank : tensor<96x32xf32>)
        count(%n) recent(0.25) keep(0.25) scale(0.176776695)
        -> tensor<96x32xf32>, index
    ```
  }];
  let arguments = (ins MemRed_TensorOrMemRef:$frame,
                       MemRed_TensorOrMemRef:$queries,
                       MemRed_TensorOrMemRef:$bank,
                       Index:$count,
                       F64Attr:$recent,
                       F64Attr:$keep,
                       F32Attr:$scale);
  let results = (outs Variadic<AnyRankedTensor>:$result, Index:$new_count);
  let assemblyFormat = [{
    `ins` `(` $frame `:` type($frame) `)`
    `queries` `(` $queries `:` type($queries) `)`
    `outs` `(` $bank `:` type($bank) `)`
    `count` `(` $count `)`
    `recent` `(` $recent `)` `keep` `(` $keep `)` `scale` `(` $scale `)`
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
    /// Runtime scratch of lathe_rt_bank_append_f32 reducing `rows` rows
    /// (per row: an f64 score, an f32 softmax entry, an i64 index, a flag).
    static int64_t getScratchBytes(int64_t rows);
  }];
}

#endif // LATHE_DIALECT_MEMRED_MEMREDOPS
