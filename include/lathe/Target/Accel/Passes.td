//===- Passes.td - Accelerator target passes ---------------*- tablegen -*-===//

#ifndef LATHE_TARGET_ACCEL_PASSES
#define LATHE_TARGET_ACCEL_PASSES

include "mlir/Pass/PassBase.td"

def AccelAttachDevice : Pass<"accel-attach-device", "ModuleOp"> {
  let summary = "Load a device description (JSON) into the module's target as its `accel` table";
  let description = [{
    Reads `config` (configs/accel/*.json: clock, matrix engines, vector
    cores, SRAM, HBM, DMA, optional sparse engine), checks every field and
    attaches it as the `accel` cost table of the module's `lathe.target`
    (`#lathe.target`, lathe/Interfaces/Target.h; the simulator's field
    names, numbers in cycles and bytes): added to an attached target (its
    other tables kept), or a new target named after the device. Later passes
    look the device up as every pass looks up its table
    (`TargetTable::lookup(module, "accel")`). A missing file, a malformed
    one, an unknown or missing key or a non-positive size is an error naming
    the file and the key.

    A device with a sparse engine (`sparse.macs_per_cycle`, the Versal-like
    H-GCN device) also gets a `sparsegcn` table (replacing any the target
    had): sparsegcn-tile's density-aware tiling then decides per tile
    between the device's dense engine (the matrix engines) and its sparse
    engine, priced with the simulator's tile costs (`accelSparseGCNTable`,
    lathe/Target/Accel/Device.h).

    ```mlir
    module attributes {lathe.target = #lathe.target<name = "gaudi2",
        threads = 0, features = [],
        tables = {accel = {clock_ghz = 1.65 : f64, mme_count = 2 : i64, ...}}>}
    ```
  }];
  let options = [
    Option<"config", "config", "std::string", /*default=*/"\"\"",
           "Device description (JSON)">,
    Option<"mmeType", "mme-type", "::mlir::lathe::AccelMmeType",
           /*default=*/"::mlir::lathe::AccelMmeType::F32",
           "Element type the matrix engines run products at (timing only)",
           "LATHE_ACCEL_MME_TYPE_VALUES">,
  ];
  let dependentDialects = ["::mlir::lathe::LatheDialect"];
}

def AccelExpandReorderedAggregates
    : Pass<"accel-expand-reordered-aggregates", "ModuleOp"> {
  let summary = "A sparse aggregation over a reordered adjacency as a row gather, the aggregation and a row scatter";
  let description = [{
    A `sparsegcn.tiled_aggregate` with a `permutation` (sparsegcn-tile's
    `reorder=...`: its CSR operands hold P·A·Pᵀ, row i of the stored
    matrix being node `permutation[i]`) becomes what the accelerator runs:
    the features gathered into the stored order (Xp[i] = X[perm[i]], a row
    gather on the vector cores), the tiled aggregation of the stored
    matrix without a permutation (Yp = P·A·Pᵀ·Xp = P·A·X), and its rows
    scattered back to node order (Y[perm[i]] = Yp[i], a row gather by the
    inverse permutation). Both gathers are `linalg.generic`s of the form
    lathe-import-onnx writes for ONNX Gather (an integer id input, an
    `index_cast` and a `tensor.extract` of the table), so accel-place and
    accel-tile cost them as vector-core work and the engine program
    executes them. The permutation must be a constant permutation of the
    rows (an error naming the op otherwise).

    ```mlir
    // before
    %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : ...) [64, 64] tile 16
           permutation(%p : tensor<64xi64>) ins(%x : ...) outs(%e : ...)
    // after
    %xp = linalg.generic ... // %x[%p[i], j]
    %yp = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : ...) [64, 64] tile 16
           ins(%xp : ...) outs(%e : ...)
    %y = linalg.generic ...  // %yp[%inverse[i], j]
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def AccelExpandRecurrences : Pass<"accel-expand-recurrences", "ModuleOp"> {
  let summary = "LSTM and GRU layers (lathe.rnn) as per-step matrix-engine products and vector-core gates";
  let description = [{
    Unrolls each `lathe.rnn` (one direction of an LSTM or GRU layer, static
    shapes) into what the accelerator's engines run: the input projection
    of all steps as one product (x·Wᵀ + b, a matrix-engine candidate), then
    per time step (in reverse order for `reverse`) the recurrent product
    h·Rᵀ + rb and the gates as element-wise `linalg.generic`s on column
    blocks of the two projections (σ as 1 / (1 + exp(-v)), tanh; LSTM: the
    new c, then h = o ⊙ tanh(c); GRU: the new h; a `gru` cell, not linear
    before reset, also a product of (r ⊙ h) with R's candidate block). Each
    step reads the previous step's state, so the steps run one after the
    other in the simulated timeline. The step's h is inserted into `y`
    ([T, N, H], or [N, T, H] with `batch_first`) with `tensor.insert_slice`;
    the op's results become `y`, the last step's h and (LSTM) c.

    It also turns the element-wise form the ONNX importer gives Concat (a
    `linalg.generic` with no inputs whose body selects, by the index along
    one dimension, a clamped `tensor.extract` of each source) into
    `tensor.insert_slice`s of the sources into its output, which the engine
    program copies on the vector cores (how a stacked or bidirectional
    layer's final states are joined), and the element-wise form it gives
    Slice (a `tensor.extract` at offset + step × index in every dimension;
    how each layer's initial state is taken from a state input) into a
    `tensor.extract_slice`; any other body is left alone.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

def AccelPlace : Pass<"accel-place", "ModuleOp"> {
  let summary = "Assign each compute op to the matrix engine or the vector cores by cost";
  let description = [{
    Works on the CPU target's `kernels` output (tensors): `lathe.matmul`,
    `lathe.conv2d`, `linalg.matmul`/`batch_matmul` can run on either
    engine; `linalg.softmax`, `lathe.layer_norm`, element-wise and reduction
    generics and copies run on the vector cores. With `policy=cost` an op
    that can run on both goes where it would finish first: its cost on
    each engine (the simulator's tile costs over the tiles accel-tile would
    make, spread over the engines of that kind) is added to the time that
    engine kind is already busy and to the time its inputs are ready, in
    program order (a greedy earliest-finish list schedule). So small or
    skinny products that waste a systolic array's passes, and products that
    would queue behind a busy matrix engine, go to the vector cores. When
    sharing a compute-bound product's output blocks between both kinds (a
    fraction f on the vector cores, chosen so that both finish together)
    finishes at least 10% sooner than either alone, the op is split:
    `engine = "split"` with the dimension shared out, its extent
    (`split_extent`) and the vector cores' part of it in whole rows, columns
    or batch members (`tpc_extent`).
    `all-mme` puts every op that can run on the MME there; `all-tpc` puts
    everything on the vector cores. The decision is the op's
    `lathe.decision = #accel.decision<...>` (implementing
    `DecisionAttrInterface`; lathe-run's report lists it under
    `simulated.placement`): the engine,
    the predicted cycles on each kind and the reason; `accel-tile` lowers
    the op by it.

    ```mlir
    %0 = lathe.matmul ... {lathe.decision = #accel.decision<engine = "mme", mme_cycles = 2560, reason = "cheaper on the matrix engine", tpc_cycles = 43690>}
    ```
  }];
  let dependentDialects = ["::mlir::lathe::accel::AccelDialect"];
  let options = [
    Option<"policy", "policy", "::mlir::lathe::AccelPolicy",
           /*default=*/"::mlir::lathe::AccelPolicy::Cost",
           "Where an op that either engine can run goes",
           "LATHE_ACCEL_POLICY_VALUES">,
  ];
}

def AccelTile : Pass<"accel-tile", "ModuleOp"> {
  let summary = "Lower placed ops to engine ops tiled to on-chip memory, with explicit DMA";
  let description = [{
    For every function, builds an `accel.program` of the same name. Each
    placed compute op becomes one engine op over tiles that fit on chip:
    matrix-engine products in tiles whose operand and result blocks, times
    `buffers`, fit in the SRAM share of one MME; vector-core kernels in
    tiles whose rows or elements, times `buffers`, fit in a core's local
    memory. A tensor that fits in a quarter of the SRAM stays on chip
    between its producer and its consumers; every other operand (function
    arguments, weights, large intermediates) is loaded by an
    `accel.dma_load` per tile of the same `group` and every result that
    does not stay on chip is written back by an `accel.dma_store`. Loads
    are double buffered (`buffers = 2`). Tokens follow the tensors'
    def-use chains (reshapes and slices pass their source's token on).

    ```mlir
    accel.program "main" {
      %0 = accel.dma_load() {bytes = 262144 : i64, buffers = 2 : i64, group = 0 : i64, tiles = 1 : i64}
      %1 = accel.mme_matmul(%0) {group = 0 : i64, k = 256 : i64, m = 128 : i64, n = 256 : i64, tiles = 1 : i64}
    }
    ```
  }];
  let options = [
    Option<"buffers", "buffers", "int64_t", /*default=*/"2",
           "Buffers per operand tile (2 = double buffering)">,
  ];
  let dependentDialects = ["::mlir::lathe::accel::AccelDialect"];
}

def AccelSchedule : Pass<"accel-schedule", "ModuleOp"> {
  let summary = "Order each accel.program by critical path (list scheduling)";
  let description = [{
    Groups (a compute op with its transfers) are issued in list-scheduling
    order: among the groups whose dependencies are issued, the one with the
    longest remaining path to the end of the program (its own cost plus
    the costliest chain of dependants, in the simulator's cycles) goes
    first. The simulator runs ops in program order on append-only engine
    timelines, so this order decides which independent work overlaps.
    Each op gets `accel.priority` (its group's remaining path, cycles).
  }];
}

#endif // LATHE_TARGET_ACCEL_PASSES
