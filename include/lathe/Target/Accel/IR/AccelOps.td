//===- AccelOps.td - Engine-level ops of the accelerator target -*- tablegen -*-===//
//
// The IR the accelerator target lowers to (docs/Targets/Accel.md): one op per
// engine operation (a matrix-engine product, a vector-core kernel, a DMA
// transfer), each repeated over `tiles` identical tiles, ordered by tokens.
// runtime/accel simulates it; the op and attribute names are the simulator's.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_TARGET_ACCEL_OPS
#define LATHE_TARGET_ACCEL_OPS

include "lathe/Interfaces/DecisionInterface.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Accel_Dialect : Dialect {
  let name = "accel";
  let summary = "Engine operations of a simulated matrix-engine + vector-core device";
  let description = [{
    Engine-level ops of Lathe's accelerator target: `accel.mme_matmul` on a
    matrix engine (MME), `accel.tpc_*` kernels on the vector cores (TPC),
    `accel.dma_load` / `accel.dma_store` between HBM and on-chip SRAM, all
    inside an `accel.program`. Each op stands for `tiles` identical tiles
    whose sizes are its attributes; a `!accel.token` result is its
    completion and an operand token is a dependency. Ops with the same
    `group` (one compute op with its transfers) depend on each other tile by
    tile, which is how double buffering (`buffers = 2`) is expressed.
    `#accel.decision` records where `accel-place` put a compute op.
  }];
  let cppNamespace = "::mlir::lathe::accel";
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
}

def Accel_DecisionAttr : AttrDef<Accel_Dialect, "Decision", [
    DeclareAttrInterfaceMethods<Lathe_DecisionAttrInterface>]> {
  let mnemonic = "decision";
  let summary = "Where accel-place put a compute op";
  let description = [{
    Records one choice of `accel-place`, as the `lathe.decision` attribute
    of the compute op it placed, and is what `accel-tile` lowers the op by:
    the engine kind (`mme`, the matrix engines; `tpc`, the vector cores;
    `sparse`, the sparse engine; `split`, a share of the product on the
    matrix engines and the vector cores), the op's predicted cycles on each
    kind (`mme_cycles` and `sparse_cycles` left out where that engine cannot
    run it), the reason in words and, for a split, the dimension shared out
    (`rows`, `columns` or `batch`), its extent (`split_extent`) and how many
    of those rows, columns or batch members the vector cores take
    (`tpc_extent`, in [1, split_extent - 1]; the matrix engines take the
    rest). The split is integral so that it survives printing and parsing
    exactly; `toDictionary()` adds the share `tpc_fraction` = tpc_extent /
    split_extent for readers. Fields print in alphabetical order.

    ```mlir
    #accel.decision<engine = "mme", mme_cycles = 2048,
      reason = "cheaper on the matrix engine", tpc_cycles = 16640>
    ```
  }];
  let parameters = (ins
      StringRefParameter<"mme, tpc, sparse or split">:$engine,
      OptionalParameter<"std::optional<int64_t>", "cycles on the matrix engines (absent: they cannot run it)">:$mme_cycles,
      StringRefParameter<"why, in words">:$reason,
      OptionalParameter<"std::optional<int64_t>", "cycles on the sparse engine (absent: it cannot run it)">:$sparse_cycles,
      StringRefParameter<"the dimension a split shares out", "\"\"">:$split,
      OptionalParameter<"std::optional<int64_t>", "the extent of the dimension a split shares out">:$split_extent,
      "int64_t":$tpc_cycles,
      OptionalParameter<"std::optional<int64_t>", "how much of it a split gives the vector cores">:$tpc_extent);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The flag of the pass that records this decision.
    static constexpr ::llvm::StringLiteral kPassName = "accel-place";
    /// A split's share of the vector cores, tpc_extent / split_extent
    /// (informational: accel-tile splits by the extents).
    std::optional<double> getTpcShare() const;
  }];
}

def Accel_TokenType : TypeDef<Accel_Dialect, "Token"> {
  let mnemonic = "token";
  let summary = "Completion of an engine op";
}

def Accel_ProgramOp : Op<Accel_Dialect, "program",
    [SingleBlock, NoTerminator, IsolatedFromAbove]> {
  let summary = "The engine ops of one function, in schedule order";
  let description = [{
    Holds the engine ops lowered from the function named `function`, in the
    order `accel-schedule` issues them (every dependency first). `buffers`
    lists the data the ops' `accesses` name, one dictionary per buffer:
    `elements`, and `arg` (the function argument it holds), `result` (the
    function result it holds) or `value` (a constant's elements) where they
    apply; without it the program is timing only, and `not_executable`
    says why (the first op whose data semantics the engine ops cannot
    express).

    ```mlir
    accel.program "main" {
      %0 = accel.dma_load() {bytes = 4096 : i64, group = 0 : i64, tiles = 4 : i64}
      %1 = accel.mme_matmul(%0) {group = 0 : i64, k = 256 : i64, m = 128 : i64, n = 128 : i64, tiles = 4 : i64}
    }
    ```
  }];
  let arguments = (ins StrAttr:$function, OptionalAttr<ArrayAttr>:$buffers,
                       OptionalAttr<StrAttr>:$not_executable);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$function attr-dict-with-keyword $body";
}

// What a compute op computes, for functional execution (runtime/accel's
// AccelExec.h): the iteration `domain` of this op's part (starting at
// `domain_offset`), one access per operand as [buffer, offset, loaded,
// stride per domain dimension...] with the output first, the `roles` of
// inputs (bias, residual, gamma, beta, init: input positions; alpha,
// epsilon: f32; activation: a `#lathe<activation ...>` enum attribute) and
// an element-wise `payload` (one instruction per string: "input I",
// "const V", "add A B", "select C A B", ...).
// Absent: the op is timing only.
defvar Accel_ExecArgs = (ins OptionalAttr<DenseI64ArrayAttr>:$domain,
                             OptionalAttr<DenseI64ArrayAttr>:$domain_offset,
                             OptionalAttr<ArrayAttr>:$accesses,
                             OptionalAttr<DictionaryAttr>:$roles,
                             OptionalAttr<StrArrayAttr>:$payload);

class Accel_EngineOp<string mnemonic, string engine> :
    Op<Accel_Dialect, mnemonic> {
  let results = (outs Accel_TokenType:$done);
  let assemblyFormat = "`(` $deps `)` attr-dict";
  let hasVerifier = 1;
  string engineDoc = engine;
}

def Accel_DmaLoadOp : Accel_EngineOp<"dma_load", "dma"> {
  let summary = "Copy `bytes` per tile from HBM into on-chip SRAM";
  let description = [{
    ```mlir
    %t = accel.dma_load() {bytes = 65536 : i64, buffers = 2 : i64, group = 3 : i64, tiles = 8 : i64}
    ```
    With `buffers = 2` the load of tile i waits for the group's compute of
    tile i - 2 (its buffer is free again), so loads overlap compute.
  }];
  let arguments = (ins Variadic<Accel_TokenType>:$deps, I64Attr:$tiles,
                   I64Attr:$bytes, DefaultValuedAttr<I64Attr, "2">:$buffers,
                   OptionalAttr<I64Attr>:$group, OptionalAttr<StrAttr>:$source);
}

def Accel_DmaStoreOp : Accel_EngineOp<"dma_store", "dma"> {
  let summary = "Copy `bytes` per tile from on-chip SRAM to HBM";
  let description = [{
    ```mlir
    %t = accel.dma_store(%c) {bytes = 65536 : i64, group = 3 : i64, tiles = 8 : i64}
    ```
  }];
  let arguments = (ins Variadic<Accel_TokenType>:$deps, I64Attr:$tiles,
                   I64Attr:$bytes, OptionalAttr<I64Attr>:$group,
                   OptionalAttr<StrAttr>:$source);
}

class Accel_MatmulOp<string mnemonic, string engine>
    : Accel_EngineOp<mnemonic, engine> {
  let arguments = !con((ins Variadic<Accel_TokenType>:$deps, I64Attr:$tiles,
                   I64Attr:$m, I64Attr:$n, I64Attr:$k,
                   DefaultValuedAttr<StrAttr, "\"f32\"">:$element_type,
                   OptionalAttr<I64Attr>:$group, OptionalAttr<StrAttr>:$source),
                   Accel_ExecArgs);
}

def Accel_MmeMatmulOp : Accel_MatmulOp<"mme_matmul", "mme"> {
  let summary = "A [m x k] x [k x n] product per tile on a matrix engine";
  let description = [{
    ```mlir
    %t = accel.mme_matmul(%a, %b) {k = 256 : i64, m = 256 : i64, n = 256 : i64, tiles = 2 : i64}
    ```
    Costs ceil(m/rows) * ceil(n/cols) passes of k cycles (divided by the
    f32 rate for f32) plus the array fill, per tile.
  }];
}

def Accel_TpcMatmulOp : Accel_MatmulOp<"tpc_matmul", "tpc"> {
  let summary = "A [m x k] x [k x n] product per tile on a vector core";
  let description = [{
    ```mlir
    %t = accel.tpc_matmul() {k = 64 : i64, m = 16 : i64, n = 16 : i64, tiles = 32 : i64}
    ```
  }];
}

def Accel_TpcElementwiseOp : Accel_EngineOp<"tpc_elementwise", "tpc"> {
  let summary = "`elements` elements of `ops_per_element` instructions per tile";
  let description = [{
    ```mlir
    %t = accel.tpc_elementwise(%x) {elements = 4096 : i64, ops_per_element = 2.0 : f64, tiles = 8 : i64}
    ```
  }];
  let arguments = !con((ins Variadic<Accel_TokenType>:$deps, I64Attr:$tiles,
                   I64Attr:$elements, F64Attr:$ops_per_element,
                   OptionalAttr<I64Attr>:$group, OptionalAttr<StrAttr>:$source),
                   Accel_ExecArgs);
}

def Accel_TpcReduceOp : Accel_EngineOp<"tpc_reduce", "tpc"> {
  let summary = "A reduction over `elements` inputs per tile";
  let description = [{
    Where the tiles differ (a sparse aggregation's blocks of output rows,
    each with its own non-zeros), `tile_elements` gives each tile's inputs,
    one entry per tile; `elements` is then the average tile's.

    ```mlir
    %t = accel.tpc_reduce(%x) {elements = 4096 : i64, ops_per_element = 1.0 : f64, tiles = 1 : i64}
    %u = accel.tpc_reduce(%x) {elements = 48 : i64, ops_per_element = 2.0 : f64, tile_elements = array<i64: 64, 32>, tiles = 2 : i64}
    ```
  }];
  let arguments = !con((ins Variadic<Accel_TokenType>:$deps, I64Attr:$tiles,
                   I64Attr:$elements, F64Attr:$ops_per_element,
                   OptionalAttr<DenseI64ArrayAttr>:$tile_elements,
                   OptionalAttr<I64Attr>:$group, OptionalAttr<StrAttr>:$source),
                   Accel_ExecArgs);
}

class Accel_RowOp<string mnemonic> : Accel_EngineOp<mnemonic, "tpc"> {
  let arguments = !con((ins Variadic<Accel_TokenType>:$deps, I64Attr:$tiles,
                   I64Attr:$rows, I64Attr:$cols,
                   OptionalAttr<I64Attr>:$group, OptionalAttr<StrAttr>:$source),
                   Accel_ExecArgs);
}

def Accel_TpcSoftmaxOp : Accel_RowOp<"tpc_softmax"> {
  let summary = "Softmax over `rows` rows of `cols` per tile on a vector core";
  let description = [{
    ```mlir
    %t = accel.tpc_softmax(%s) {cols = 128 : i64, rows = 16 : i64, tiles = 32 : i64}
    ```
  }];
}

def Accel_TpcLayerNormOp : Accel_RowOp<"tpc_layernorm"> {
  let summary = "Layer norm over `rows` rows of `cols` per tile on a vector core";
  let description = [{
    ```mlir
    %t = accel.tpc_layernorm(%s) {cols = 256 : i64, rows = 16 : i64, tiles = 8 : i64}
    ```
  }];
}

def Accel_SparseSpmmOp : Accel_EngineOp<"sparse_spmm", "sparse"> {
  let summary = "`nnz` non-zeros times `cols` features per tile on the sparse engine";
  let description = [{
    A block of a sparse graph aggregation's output rows (a CSR SpMM) on the
    device's sparse engine (the programmable logic of a Versal-like device,
    H-GCN's sparse tiles): `nnz` is the block's non-zeros, `cols` the
    feature width. Its `roles` carry the adjacency's structure
    (`csr_row_ptr`, `csr_cols`) and the rows of a tile (`csr_tile_rows`).
    `tile_nnz` (optional, one entry per tile) gives each block its own
    non-zeros; `nnz` is then the average block's.

    ```mlir
    %t = accel.sparse_spmm(%x) {cols = 16 : i64, nnz = 4160 : i64, tiles = 1 : i64}
    %u = accel.sparse_spmm(%x) {cols = 16 : i64, nnz = 3 : i64, tile_nnz = array<i64: 5, 0>, tiles = 2 : i64}
    ```
  }];
  let arguments = !con((ins Variadic<Accel_TokenType>:$deps, I64Attr:$tiles,
                   I64Attr:$nnz, I64Attr:$cols,
                   OptionalAttr<DenseI64ArrayAttr>:$tile_nnz,
                   OptionalAttr<I64Attr>:$group, OptionalAttr<StrAttr>:$source),
                   Accel_ExecArgs);
}

#endif // LATHE_TARGET_ACCEL_OPS
