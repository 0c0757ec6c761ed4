// RUN: lathe-opt %s --split-input-file --sparsegcn-tile="tile-size=2 dense-threshold=0.5" | FileCheck %s --check-prefix=FIXED
// RUN: lathe-opt %s --split-input-file --sparsegcn-tile | FileCheck %s --check-prefix=MODEL
// RUN: %python %S/Inputs/clique_graph.py | lathe-opt --sparsegcn-tile="tile-size=32 reorder=degree" | FileCheck %s --check-prefix=DEGREE
// RUN: %python %S/Inputs/clique_graph.py | lathe-opt --sparsegcn-tile="tile-size=32 reorder=rcm" | FileCheck %s --check-prefix=RCM
// RUN: %python %S/Inputs/clique_graph.py | lathe-opt --sparsegcn-tile="tile-size=32" | FileCheck %s --check-prefix=NOREORDER
// RUN: %python %S/Inputs/clique_graph.py | lathe-opt --sparsegcn-tile="tile-size=32 reorder=cluster" | FileCheck %s --check-prefix=CLUSTER
// RUN: %python %S/Inputs/clique_graph.py | lathe-opt --sparsegcn-tile="tile-size=32 reorder=auto" | FileCheck %s --check-prefix=AUTO
// RUN: lathe-opt %s --split-input-file --sparsegcn-tile="reorder=cluster" | FileCheck %s --check-prefix=DEFERRED

// A 4-node graph: rows 0-1 x cols 0-1 full (dense at 0.5), (2,0) and (3,3)
// alone in their tiles (sparse), tile (0,1) empty.
// FIXED-LABEL: func.func @constant_csr
// FIXED: sparsegcn.tiled_aggregate csr(%{{.*}}, %{{.*}}, %{{.*}} : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2 ins
// FIXED-SAME: lathe.decision = #sparsegcn.decision<classification = "compile-time", dense_threshold = 0.5,
// FIXED-SAME: threshold_source = "option", tile_size = 2, tile_size_source = "option", tiles_dense = 1, tiles_empty = 1, tiles_sparse = 2>
// FIXED-SAME: sparse_nnz = 2 : i64, tile_classes = array<i8: 2, 0, 1, 1>
// The cost model: on a 4-node graph a 4x4 GEMM never pays (below the
// measured tile sizes the GEMM only slows down), so no tile is dense and the
// op stays the CSR kernel's, with the decision attached.
// MODEL-LABEL: func.func @constant_csr
// MODEL-NOT: tiled_aggregate
// MODEL: sparsegcn.aggregate
// MODEL-SAME: lathe.decision = #sparsegcn.decision<break_even_density =
// MODEL-SAME: result = "kept sparsegcn.aggregate: no tile reaches the dense threshold"
// MODEL-SAME: threshold_source = "cost-model"
// MODEL-SAME: tile_size_source = "cost-model", tiles_dense = 0,
func.func @constant_csr(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 2, 4, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 0, 1, 0, 3]> : tensor<6xi64>
  %v = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// The adjacency is a function argument (as with lathe.weight): the pass
// cannot classify, the runtime will; the decision says so.
// FIXED-LABEL: func.func @runtime_csr
// FIXED: sparsegcn.tiled_aggregate {{.*}} tile 2 ins
// FIXED-SAME: lathe.decision = #sparsegcn.decision<classification = "deferred-to-runtime", dense_threshold = 0.5,
// FIXED-NOT: tile_classes
// MODEL-LABEL: func.func @runtime_csr
// MODEL: sparsegcn.tiled_aggregate {{.*}} tile 64 ins
// MODEL-SAME: classification = "deferred-to-runtime"
// MODEL-NOT: reorder = "
// A reordering is deferred with the classification: the op asks the runtime.
// DEFERRED-LABEL: func.func @runtime_csr
// DEFERRED: sparsegcn.tiled_aggregate
// DEFERRED-SAME: reorder = "cluster (deferred to the runtime, with the classification)"
// DEFERRED-SAME: reorder = #sparsegcn<reorder cluster>}
func.func @runtime_csr(%rp: tensor<5xi32>, %ci: tensor<6xi32>, %v: tensor<6xf32>, %x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<4x16xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi32>, tensor<6xi32>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// Reordering packs the clique into one dense tile; the permutation travels
// with the op. Without reordering the clique is spread over four sparse tiles.
// DEGREE-LABEL: func.func @clique
// DEGREE: sparsegcn.tiled_aggregate {{.*}} tile 32 permutation(%{{.*}} : tensor<64xi64>) ins
// DEGREE-SAME: reorder = "degree (applied)"
// DEGREE-SAME: tiles_dense = 1,
// RCM-LABEL: func.func @clique
// RCM: sparsegcn.tiled_aggregate {{.*}} permutation(
// RCM-SAME: reorder = "rcm (applied)"
// RCM-SAME: tiles_dense = 1,
// CLUSTER-LABEL: func.func @clique
// CLUSTER: sparsegcn.tiled_aggregate {{.*}} permutation(
// CLUSTER-SAME: reorder = "cluster (applied)"
// CLUSTER-SAME: reorder_predicted = "none {{[0-9.]+}} us, cluster {{[0-9.]+}} us (1 dense tiles)"
// CLUSTER-SAME: tiles_dense = 1,
// With auto every ordering is priced; on a tie the first (degree) is kept.
// AUTO-LABEL: func.func @clique
// AUTO: sparsegcn.tiled_aggregate {{.*}} permutation(
// AUTO-SAME: reorder = "degree (applied)"
// AUTO-SAME: reorder_predicted = "none {{.*}}, degree {{.*}}, rcm {{.*}}, cluster {{.*}}"
// AUTO-SAME: tiles_dense = 1,
// NOREORDER-LABEL: func.func @clique
// NOREORDER-NOT: permutation(
// NOREORDER: tiles_dense = 0, tiles_empty = 0, tiles_sparse = 4
