//===- Passes.td - SparseGCN passes ------------------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_SPARSEGCN_PASSES
#define LATHE_DIALECT_SPARSEGCN_PASSES

include "mlir/Pass/PassBase.td"

def SparseGCNTile : Pass<"sparsegcn-tile", "func::FuncOp"> {
  let summary = "Tile sparse graph aggregations and classify tiles by density";
  let description = [{
    Rewrites each `sparsegcn.aggregate` into `sparsegcn.tiled_aggregate`.

    When the CSR operands are `arith.constant`s, the pass sees the adjacency:
    it optionally reorders nodes (`reorder=degree` sorts by decreasing
    degree, `reorder=rcm` is reverse Cuthill–McKee, `reorder=cluster` places
    size-bounded label-propagation clusters of at most one tile contiguously,
    `reorder=auto` tries all three; an ordering is applied only when the
    cost model predicts the reordered tiling, including the per-call gather
    of X and scatter of Y, to be faster than the original order's), splits
    the matrix into `tile-size` tiles and classifies each as empty, sparse or
    dense. A tile is dense when its density reaches the threshold at which
    the target's dense GEMM beats its sparse kernel at the op's feature
    width F, with a safety margin (the cost model in CostModel.h, priced
    with the `sparsegcn` table of the module's `#lathe.target`, else the
    CPU's shipped table; for a dynamic F the largest threshold over the
    calibrated widths), unless `dense-threshold` overrides it.
    `tile-size=-1` (the default) lets the cost model choose among the
    target's preferred tile sizes. When no tile is dense, the op stays a
    `sparsegcn.aggregate` (the CSR kernel needs no tile plan) and only gets
    the decision; aggregates that carry one are not revisited, so the pass
    can run again (the CPU pipeline runs it in its kernels phase).

    When the adjacency is not visible (`lathe.weight` from HDF5, function
    arguments) the op is still tiled, without `tile_classes`: the runtime
    classifies tiles once with the same threshold, and the decision records
    that the classification was deferred. A `reorder` other than `none` is
    then deferred as well (the op's `reorder` attribute): the runtime
    reorders the adjacency when it builds its tile plan (`auto` there: the
    ordering with the most non-zeros in dense tiles, none without any).

    When the target's `sparsegcn` table describes a micro-tile engine
    (`micro_tile`, `micro_gflops`, `micro_csr_gflops`: register-blocked
    4 × 4 dense tiles, fused with the CSR kernel on the rest) and the tile
    size and threshold are the cost model's, the pass also classifies the
    (possibly reordered) adjacency into micro tiles: a micro tile is dense
    when its density reaches the micro engine's break-even against the CSR
    kernel at the op's width times the safety margin. When the predicted
    time of that hybrid beats the best T × T tiling's, the op becomes a
    `tiled_aggregate` with `tile_size` 4 and `dense_engine` `micro_bsr`
    (no `tile_classes`: at T = 4 they would be (n/4)² bytes; the runtime
    applies the same threshold, rounded up to a whole number of entries per
    tile, when it builds its plan). `micro-tiles=false` leaves the micro
    engine out.

    When the table also describes a row-group engine (`row_group_max`,
    `row_group_gflops`, `row_group_csr_gflops`: per group size and width,
    the engine on full groups of consecutive rows sharing their columns and
    the CSR kernel on the same non-zeros), the pass cuts the adjacency's
    rows into groups (lathe/runtime/RowGroups.h, the rule the runtime
    applies): a row joins the group above it while the group's stored
    entries fill at least the threshold of (its rows × the union of their
    columns), the threshold being the largest break-even over the group
    sizes times the safety margin. When that hybrid's predicted time is at
    least 2 % below the best alternative's, the op becomes a
    `tiled_aggregate` with `tile_size` = the largest group and
    `dense_engine` `row_groups`. `row-groups=false` leaves it out.

    Every rewritten op carries a `lathe.decision = #sparsegcn.decision<...>`
    (its one record of the choice, implementing `DecisionAttrInterface`): tile size,
    threshold and where it came from, the tile-class histogram, the
    predicted time of hybrid, all-sparse and all-dense execution, the
    reordering. A `tile-size` of 0 (or below -1), a `dense-threshold` above
    1 or an unknown `reorder` is a command-line error naming the allowed
    values; a `sparsegcn` table with a missing or ill-typed key is an error
    naming the key.
  }];
  let options = [
    Option<"tileSize", "tile-size", "int64_t", /*default=*/"-1",
           "Tile edge in nodes; -1 = chosen by the cost model">,
    Option<"denseThreshold", "dense-threshold", "double", /*default=*/"-1.0",
           "Density at which a tile is dense; < 0 = from the cost model">,
    Option<"reorder", "reorder", "::mlir::lathe::sparsegcn::NodeReorder",
           /*default=*/"::mlir::lathe::sparsegcn::NodeReorder::None",
           "Node reordering tried before tiling", [{::llvm::cl::values(
             clEnumValN(::mlir::lathe::sparsegcn::NodeReorder::None, "none",
                        "no reordering"),
             clEnumValN(::mlir::lathe::sparsegcn::NodeReorder::Degree,
                        "degree", "by descending degree"),
             clEnumValN(::mlir::lathe::sparsegcn::NodeReorder::RCM, "rcm",
                        "reverse Cuthill-McKee"),
             clEnumValN(::mlir::lathe::sparsegcn::NodeReorder::Cluster,
                        "cluster", "size-bounded label-propagation clusters"),
             clEnumValN(::mlir::lathe::sparsegcn::NodeReorder::Auto, "auto",
                        "the best predicted of degree, rcm and cluster"))}]>,
    Option<"microTiles", "micro-tiles", "bool", /*default=*/"true",
           "Consider the target's micro-tile engine (register-blocked "
           "small dense tiles) when tile-size and dense-threshold are left "
           "to the cost model">,
    Option<"rowGroups", "row-groups", "bool", /*default=*/"true",
           "Consider the target's row-group engine (consecutive rows with "
           "nearly equal column sets as dense blocks) when tile-size and "
           "dense-threshold are left to the cost model">,
    Option<"forceReorder", "force-reorder", "bool", /*default=*/"false",
           "Apply the best predicted ordering even when the cost model "
           "predicts no gain (tests, benchmarks of the ordering)">,
  ];
  let statistics = [
    Statistic<"numTiled", "aggregates-tiled",
              "sparsegcn.aggregate ops tiled (sparsegcn.tiled_aggregate)">,
    Statistic<"numDeferred", "aggregates-deferred",
              "Tiled aggregates whose tiles the runtime classifies (the "
              "adjacency is not a constant)">,
    Statistic<"numKept", "aggregates-kept",
              "Aggregates kept untiled (no tile reaches the dense "
              "threshold)">,
    Statistic<"numDenseTiles", "tiles-dense", "Tiles classified dense">,
    Statistic<"numSparseTiles", "tiles-sparse", "Tiles classified sparse">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // LATHE_DIALECT_SPARSEGCN_PASSES
