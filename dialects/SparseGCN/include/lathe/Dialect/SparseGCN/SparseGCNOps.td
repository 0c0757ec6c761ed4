//===- SparseGCNOps.td - Sparse graph aggregation ops ------*- tablegen -*-===//

#ifndef LATHE_DIALECT_SPARSEGCN_SPARSEGCNOPS
#define LATHE_DIALECT_SPARSEGCN_SPARSEGCNOPS

include "lathe/Dialect/SparseGCN/SparseGCNBase.td"
include "lathe/Interfaces/DecisionInterface.td"
include "lathe/Interfaces/FlopsInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Decision
//===----------------------------------------------------------------------===//

def SparseGCN_DecisionAttr : AttrDef<SparseGCN_Dialect, "Decision", [
    DeclareAttrInterfaceMethods<Lathe_DecisionAttrInterface>]> {
  let mnemonic = "decision";
  let summary = "How sparsegcn-tile tiled (or kept) an aggregation";
  let description = [{
    Records one choice of `sparsegcn-tile`, as the `lathe.decision`
    attribute of the op it made (`sparsegcn.tiled_aggregate`) or kept
    (`sparsegcn.aggregate`): the target whose cost model priced it, the
    feature width (left out when dynamic), whether the tiles were classified
    at compile time or deferred to the runtime, the tile size and dense
    threshold with where each came from, and, where the pass computed them,
    the tile histogram, the non-zeros, the predicted times of the
    alternatives (microseconds), the node reordering tried and applied, the
    micro-tile and row-group engines' figures and the result in words.
    Fields that do not
    apply are left out; fields print in alphabetical order (as the dictionary
    that held them before) and floats at six significant digits.

    ```mlir
    #sparsegcn.decision<classification = "compile-time",
      dense_threshold = 0.5, feature_width = 16, nnz = 12000,
      nnz_sparse = 310, reorder = "none", target = "cpu",
      threshold_source = "option", tile_size = 64,
      tile_size_source = "option", tiles_dense = 3, tiles_empty = 0,
      tiles_sparse = 1>
    ```
  }];
  let parameters = (ins
      Lathe_OptionalDecisionFloat<"break-even density of the engines">:$break_even_density,
      StringRefParameter<"compile-time or deferred-to-runtime">:$classification,
      StringRefParameter<"the dense tiles' engine", "\"\"">:$dense_engine,
      Lathe_DecisionFloat<"density above which a tile is dense">:$dense_threshold,
      OptionalParameter<"std::optional<int64_t>", "feature width (absent: dynamic)">:$feature_width,
      Lathe_OptionalDecisionFloat<"micro engine break-even density">:$micro_break_even_density,
      OptionalParameter<"std::optional<int64_t>", "non-zeros in dense micro tiles">:$micro_nnz_dense,
      Lathe_OptionalDecisionFloat<"micro engine threshold">:$micro_threshold,
      OptionalParameter<"std::optional<int64_t>", "micro tile size">:$micro_tile,
      OptionalParameter<"std::optional<int64_t>", "dense micro tiles">:$micro_tiles_dense,
      OptionalParameter<"std::optional<int64_t>", "non-zeros">:$nnz,
      OptionalParameter<"std::optional<int64_t>", "non-zeros in sparse tiles">:$nnz_sparse,
      Lathe_OptionalDecisionFloat<"predicted us, all dense">:$predicted_us_all_dense,
      Lathe_OptionalDecisionFloat<"predicted us, all sparse">:$predicted_us_all_sparse,
      Lathe_OptionalDecisionFloat<"predicted us, the best tiling">:$predicted_us_best_tiling,
      Lathe_OptionalDecisionFloat<"predicted us, hybrid">:$predicted_us_hybrid,
      Lathe_OptionalDecisionFloat<"predicted us, micro hybrid">:$predicted_us_micro_hybrid,
      Lathe_OptionalDecisionFloat<"predicted us, row-group hybrid">:$predicted_us_row_group_hybrid,
      StringRefParameter<"why the classification is deferred", "\"\"">:$reason,
      StringRefParameter<"the node reordering and whether it was applied", "\"\"">:$reorder,
      StringRefParameter<"predicted times of the orderings tried", "\"\"">:$reorder_predicted,
      StringRefParameter<"the result in words", "\"\"">:$result,
      OptionalParameter<"std::optional<int64_t>", "largest row group">:$row_group_max,
      OptionalParameter<"std::optional<int64_t>", "non-zeros in row groups">:$row_group_nnz,
      OptionalParameter<"std::optional<int64_t>", "rows in row groups">:$row_group_rows,
      Lathe_OptionalDecisionFloat<"row-group engine threshold">:$row_group_threshold,
      OptionalParameter<"std::optional<int64_t>", "row groups formed">:$row_groups,
      Lathe_OptionalDecisionFloat<"the cost model's safety margin">:$safety_margin,
      StringRefParameter<"target whose cost model priced it">:$target,
      StringRefParameter<"how the threshold follows from the model", "\"\"">:$threshold_rule,
      StringRefParameter<"option or cost-model", "\"\"">:$threshold_source,
      "int64_t":$tile_size,
      StringRefParameter<"option or cost-model", "\"\"">:$tile_size_source,
      OptionalParameter<"std::optional<int64_t>", "dense tiles">:$tiles_dense,
      OptionalParameter<"std::optional<int64_t>", "empty tiles">:$tiles_empty,
      OptionalParameter<"std::optional<int64_t>", "sparse tiles">:$tiles_sparse);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The flag of the pass that records this decision.
    static constexpr ::llvm::StringLiteral kPassName = "sparsegcn-tile";
  }];
}

def SparseGCN_TensorOrMemRef
    : AnyTypeOf<[AnyRankedTensor, AnyMemRef], "ranked tensor or memref">;

class SparseGCN_AggregateBase<string mnemonic, list<Trait> traits = []>
    : SparseGCN_Op<mnemonic, !listconcat(traits, [
        DestinationStyleOpInterface,
        DeclareOpInterfaceMethods<Lathe_FlopsOpInterface>,
        DeclareOpInterfaceMethods<MemoryEffectsOpInterface>])> {
  code commonClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getInitMutable());
    }
    /// True when the op works on memrefs (after bufferization).
    bool hasPureBufferSemantics() {
      return ::llvm::isa<::mlir::MemRefType>(getInit().getType());
    }
    /// Signed views of the size attributes (I64Attr getters are unsigned).
    int64_t getRows() { return getNumRowsAttr().getInt(); }
    int64_t getCols() { return getNumColsAttr().getInt(); }
    /// Number of stored non-zeros (the static length of col_idx), or
    /// ShapedType::kDynamic.
    int64_t getNumNonZeros() {
      return ::llvm::cast<::mlir::ShapedType>(getColIdx().getType())
          .getDimSize(0);
    }
    /// Feature width F (columns of the features), or ShapedType::kDynamic.
    int64_t getFeatureWidth() {
      return ::llvm::cast<::mlir::ShapedType>(getFeatures().getType())
          .getDimSize(1);
    }
  }];
}

//===----------------------------------------------------------------------===//
// sparsegcn.aggregate
//===----------------------------------------------------------------------===//

def SparseGCN_AggregateOp : SparseGCN_AggregateBase<"aggregate"> {
  let summary = "Graph aggregation Y = A·X with A in CSR form";
  let description = [{
    `init = A · features`, where the adjacency `A` is a square
    `num_rows` × `num_cols` matrix in CSR form: `row_ptr` [num_rows + 1],
    `col_idx` [nnz] and `values` [nnz] (f32). `row_ptr` and `col_idx` are
    i32 or i64 (the same type). `features` is [num_cols, F] and `init`
    [num_rows, F], f32. The op is in destination style: on tensors it
    returns the updated `init` (whose contents are overwritten, not
    accumulated), on memrefs it writes `init` in place.

    The CSR operands are usually constants (`arith.constant`, or
    `lathe.weight` loaded from HDF5 by the runtime); `sparsegcn-tile` can
    only classify tiles when it sees the values.

    ```mlir
    %y = sparsegcn.aggregate
           csr(%rp, %ci, %v : tensor<2709xi64>, tensor<13264xi64>, tensor<13264xf32>)
           [2708, 2708] ins(%h : tensor<2708x16xf32>)
           outs(%e : tensor<2708x16xf32>) -> tensor<2708x16xf32>
    ```
  }];
  let arguments = (ins SparseGCN_TensorOrMemRef:$row_ptr,
                       SparseGCN_TensorOrMemRef:$col_idx,
                       SparseGCN_TensorOrMemRef:$values,
                       SparseGCN_TensorOrMemRef:$features,
                       SparseGCN_TensorOrMemRef:$init,
                       I64Attr:$num_rows,
                       I64Attr:$num_cols);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `csr` `(` $row_ptr `,` $col_idx `,` $values `:` type($row_ptr) `,`
      type($col_idx) `,` type($values) `)`
    `[` $num_rows `,` $num_cols `]`
    `ins` `(` $features `:` type($features) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = commonClassDeclaration;
}

//===----------------------------------------------------------------------===//
// sparsegcn.tiled_aggregate
//===----------------------------------------------------------------------===//

def SparseGCN_TiledAggregateOp : SparseGCN_AggregateBase<"tiled_aggregate"> {
  let summary = "Graph aggregation on density-classified tiles (H-GCN)";
  let description = [{
    Computes what `sparsegcn.aggregate` computes, with the adjacency split
    into `tile_size` × `tile_size` tiles (the last tile row/column may be
    smaller), numbered row-major over the tile grid. `tile_classes` holds
    one class per tile: 0 = empty (skipped), 1 = sparse (run by
    `sparse_engine`, a CSR SpMM kernel), 2 = dense (gathered once into a
    dense block and run by `dense_engine`, a GEMM). When `tile_classes` is
    absent the pass could not see the adjacency (e.g. it is a `lathe.weight`
    loaded at run time): the runtime classifies each tile once, as dense when
    its density is at least `dense_threshold`.

    With a `permutation` operand, the CSR operands describe P·A·Pᵀ, the
    adjacency with rows and columns reordered (row i of the stored matrix is
    node `permutation[i]`), so that non-zeros are packed into dense tiles;
    the result is still in the original node order.

    `reorder` (default `none`; otherwise only without `tile_classes` and
    `permutation`: `#sparsegcn<reorder degree>`, `rcm`, `cluster` or `auto`)
    asks the runtime to reorder the adjacency itself when it classifies the
    tiles (the adjacency was not visible to the compiler); `auto` keeps the
    ordering that puts the most non-zeros into dense tiles, or none when no
    ordering gives a dense tile. `dense_engine` (`onednn_sgemm`) and
    `sparse_engine` (`csr_spmm`) name the kernels of the two classes.

    `dense_engine` is `onednn_sgemm` (dense tiles gathered into blocks
    for a GEMM) or `micro_bsr`, the micro-tile engine: 4 × 4 tiles only
    (`tile_size` 4), each dense tile stored as a 4 × 4 block and multiplied
    by a register-blocked kernel fused with the CSR kernel on the tile
    row's other non-zeros; border tiles (fewer than 4 rows or columns) run
    as sparse. `row_groups` is the row-group engine: consecutive rows whose
    column sets (nearly) agree form groups of at most `tile_size` (≤ 4)
    rows while a group's stored entries fill at least `dense_threshold` of
    (its rows × the union of their columns); each group runs as a dense
    block times the gathered rows of X (each row of X loaded once for the
    whole group), the other rows run the CSR kernel. No `tile_classes`:
    the runtime forms the groups with the same rule the pass priced.

    `sparse_nnz` (optional) is the number of non-zeros in sparse tiles, used
    for the FLOP count: 2·nnz·F over sparse tiles plus 2·T·T·F per dense tile.

    ```mlir
    %y = sparsegcn.tiled_aggregate
           csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>)
           [4, 4] tile 2 ins(%x : tensor<4x16xf32>)
           outs(%e : tensor<4x16xf32>)
           {tile_classes = array<i8: 2, 0, 1, 1>, dense_threshold = 0.25 : f64,
            sparse_nnz = 2 : i64} -> tensor<4x16xf32>
    ```
  }];
  let arguments = (ins SparseGCN_TensorOrMemRef:$row_ptr,
                       SparseGCN_TensorOrMemRef:$col_idx,
                       SparseGCN_TensorOrMemRef:$values,
                       Optional<SparseGCN_TensorOrMemRef>:$permutation,
                       SparseGCN_TensorOrMemRef:$features,
                       SparseGCN_TensorOrMemRef:$init,
                       I64Attr:$num_rows,
                       I64Attr:$num_cols,
                       I64Attr:$tile_size,
                       OptionalAttr<DenseI8ArrayAttr>:$tile_classes,
                       DefaultValuedAttr<F64Attr, "0.5">:$dense_threshold,
                       OptionalAttr<I64Attr>:$sparse_nnz,
                       DefaultValuedAttr<SparseGCN_DenseEngineAttr,
                           "::mlir::lathe::sparsegcn::DenseEngine::OnednnSgemm">
                           :$dense_engine,
                       DefaultValuedAttr<SparseGCN_SparseEngineAttr,
                           "::mlir::lathe::sparsegcn::SparseEngine::CsrSpmm">
                           :$sparse_engine,
                       DefaultValuedAttr<SparseGCN_NodeReorderAttr,
                           "::mlir::lathe::sparsegcn::NodeReorder::None">
                           :$reorder);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `csr` `(` $row_ptr `,` $col_idx `,` $values `:` type($row_ptr) `,`
      type($col_idx) `,` type($values) `)`
    `[` $num_rows `,` $num_cols `]` `tile` $tile_size
    (`permutation` `(` $permutation^ `:` type($permutation) `)`)?
    `ins` `(` $features `:` type($features) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = commonClassDeclaration # [{
    /// Tiles per dimension of the tile grid.
    int64_t getTile() { return getTileSizeAttr().getInt(); }
    int64_t getNumTileRows() { return (getRows() + getTile() - 1) / getTile(); }
    int64_t getNumTileCols() { return (getCols() + getTile() - 1) / getTile(); }
  }];
}

//===----------------------------------------------------------------------===//
// sparsegcn.transpose
//===----------------------------------------------------------------------===//

def SparseGCN_TransposeOp : SparseGCN_Op<"transpose", [
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "The CSR form of Aᵀ from the CSR form of A";
  let description = [{
    Builds the CSR operands of the transpose of the `num_rows` × `num_cols`
    matrix `A` given by `row_ptr` [num_rows + 1], `col_idx` [nnz] and
    `values` [nnz]: `t_row_ptr` [num_cols + 1], `t_col_idx` [nnz] and
    `t_values` [nnz] (a counting sort by column; within a row of Aᵀ the
    column indices come out in increasing order). Index operands are i32 or
    i64 (all the same type), values f32.

    `lathe-differentiate` uses it for the gradient of `sparsegcn.aggregate`
    (`Y = A·X` gives `dX = Aᵀ·dY`) when the adjacency is only known at run
    time; a constant adjacency is transposed at compile time instead. In
    destination style: on tensors it returns the three filled outputs, on
    memrefs it writes them. The runtime validates the input like the
    aggregation kernels (a bad `row_ptr` or column index is a pending error
    naming the position).

    ```mlir
    %trp, %tci, %tv = sparsegcn.transpose
        csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
        outs(%e0, %e1, %e2 : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>)
        -> tensor<5xi64>, tensor<6xi64>, tensor<6xf32>
    ```
  }];
  let arguments = (ins SparseGCN_TensorOrMemRef:$row_ptr,
                       SparseGCN_TensorOrMemRef:$col_idx,
                       SparseGCN_TensorOrMemRef:$values,
                       SparseGCN_TensorOrMemRef:$t_row_ptr,
                       SparseGCN_TensorOrMemRef:$t_col_idx,
                       SparseGCN_TensorOrMemRef:$t_values,
                       I64Attr:$num_rows,
                       I64Attr:$num_cols);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `csr` `(` $row_ptr `,` $col_idx `,` $values `:` type($row_ptr) `,`
      type($col_idx) `,` type($values) `)`
    `[` $num_rows `,` $num_cols `]`
    `outs` `(` $t_row_ptr `,` $t_col_idx `,` $t_values `:` type($t_row_ptr)
      `,` type($t_col_idx) `,` type($t_values) `)`
    attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), 3, 3);
    }
    bool hasPureBufferSemantics() {
      return ::llvm::isa<::mlir::MemRefType>(getTValues().getType());
    }
    int64_t getRows() { return getNumRowsAttr().getInt(); }
    int64_t getCols() { return getNumColsAttr().getInt(); }
  }];
}

#endif // LATHE_DIALECT_SPARSEGCN_SPARSEGCNOPS
