// RUN: lathe-opt %s | FileCheck %s
// RUN: lathe-opt %s | lathe-opt | FileCheck %s

// CHECK-LABEL: func.func @aggregate
func.func @aggregate(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>,
                     %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // CHECK: %{{.*}} = sparsegcn.aggregate csr(%{{.*}}, %{{.*}}, %{{.*}} : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
  // CHECK-SAME: ins(%{{.*}} : tensor<4x16xf32>) outs(%{{.*}} : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// CHECK-LABEL: func.func @aggregate_i32_memref
func.func @aggregate_i32_memref(%rp: memref<5xi32>, %ci: memref<6xi32>, %v: memref<6xf32>,
                                %x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  // CHECK: sparsegcn.aggregate csr({{.*}} : memref<5xi32>, memref<6xi32>, memref<6xf32>) [4, 4]
  // CHECK-NOT: ->
  sparsegcn.aggregate csr(%rp, %ci, %v : memref<5xi32>, memref<6xi32>, memref<6xf32>) [4, 4]
    ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
  return
}

// CHECK-LABEL: func.func @grouped
func.func @grouped(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>,
                            %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // CHECK: sparsegcn.tiled_aggregate csr({{.*}}) [4, 4] tile 3 ins
  // CHECK-SAME: dense_engine = #sparsegcn<dense_engine row_groups>
  // CHECK-SAME: dense_threshold = 8.750000e-01 : f64
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 3
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>)
         {dense_engine = #sparsegcn<dense_engine row_groups>, dense_threshold = 0.875 : f64} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// CHECK-LABEL: func.func @tiled
func.func @tiled(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>,
                 %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // CHECK: sparsegcn.tiled_aggregate csr({{.*}}) [4, 4] tile 2 ins
  // CHECK-SAME: sparse_nnz = 2 : i64, tile_classes = array<i8: 2, 0, 1, 1>
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>)
         {tile_classes = array<i8: 2, 0, 1, 1>, dense_threshold = 0.25 : f64, sparse_nnz = 2 : i64} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// CHECK-LABEL: func.func @tiled_deferred_permuted
func.func @tiled_deferred_permuted(%rp: tensor<5xi32>, %ci: tensor<6xi32>, %v: tensor<6xf32>, %p: tensor<4xi32>,
                                   %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // CHECK: sparsegcn.tiled_aggregate {{.*}} tile 3 permutation(%{{.*}} : tensor<4xi32>) ins
  // CHECK-NOT: tile_classes
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi32>, tensor<6xi32>, tensor<6xf32>) [4, 4] tile 3
         permutation(%p : tensor<4xi32>)
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {dense_threshold = 0.4 : f64} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// A rectangular 3 x 5 matrix's transpose has 5 + 1 row pointers.
// CHECK-LABEL: func.func @transpose
func.func @transpose(%rp: tensor<4xi32>, %ci: tensor<?xi32>, %v: tensor<?xf32>,
                     %e0: tensor<6xi32>, %e1: tensor<?xi32>, %e2: tensor<?xf32>)
    -> (tensor<6xi32>, tensor<?xi32>, tensor<?xf32>) {
  // CHECK: %{{.*}}:3 = sparsegcn.transpose csr(%{{.*}}, %{{.*}}, %{{.*}} : tensor<4xi32>, tensor<?xi32>, tensor<?xf32>) [3, 5]
  // CHECK-SAME: outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<6xi32>, tensor<?xi32>, tensor<?xf32>) -> tensor<6xi32>, tensor<?xi32>, tensor<?xf32>
  %t:3 = sparsegcn.transpose csr(%rp, %ci, %v : tensor<4xi32>, tensor<?xi32>, tensor<?xf32>) [3, 5]
           outs(%e0, %e1, %e2 : tensor<6xi32>, tensor<?xi32>, tensor<?xf32>)
           -> tensor<6xi32>, tensor<?xi32>, tensor<?xf32>
  return %t#0, %t#1, %t#2 : tensor<6xi32>, tensor<?xi32>, tensor<?xf32>
}

// CHECK-LABEL: func.func @transpose_buffers
func.func @transpose_buffers(%rp: memref<5xi64>, %ci: memref<6xi64>, %v: memref<6xf32>,
                             %e0: memref<5xi64>, %e1: memref<6xi64>, %e2: memref<6xf32>) {
  // CHECK: sparsegcn.transpose csr({{.*}}) [4, 4] outs({{.*}} : memref<5xi64>, memref<6xi64>, memref<6xf32>)
  sparsegcn.transpose csr(%rp, %ci, %v : memref<5xi64>, memref<6xi64>, memref<6xf32>) [4, 4]
    outs(%e0, %e1, %e2 : memref<5xi64>, memref<6xi64>, memref<6xf32>)
  return
}

// The decision sparsegcn-tile records: fields in alphabetical order whatever
// order they were written in, absent fields left out, floats at six
// significant digits.
// CHECK-LABEL: func.func @decision
func.func @decision(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>,
                    %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // CHECK: sparsegcn.aggregate
  // CHECK-SAME: {lathe.decision = #sparsegcn.decision<classification = "compile-time", dense_threshold = 0.333333, feature_width = 16, nnz = 6, predicted_us_hybrid = 12.3457, reorder = "none", target = "cpu", tile_size = 2, tiles_dense = 0>}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {lathe.decision = #sparsegcn.decision<tile_size = 2, target = "cpu", tiles_dense = 0, reorder = "none", classification = "compile-time", dense_threshold = 0.333333333, feature_width = 16, nnz = 6, predicted_us_hybrid = 12.3456789>} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// The row-group engine's fields (sparsegcn-tile records them whenever the
// target's table describes the engine).
// CHECK-LABEL: func.func @decision_row_groups
func.func @decision_row_groups(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>,
                               %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // CHECK: sparsegcn.aggregate
  // CHECK-SAME: {lathe.decision = #sparsegcn.decision<classification = "compile-time", dense_threshold = 0.5, nnz = 6, predicted_us_row_group_hybrid = 1.5, row_group_max = 4, row_group_nnz = 4, row_group_rows = 2, row_group_threshold = 0.840665, row_groups = 1, target = "cpu", tile_size = 2>}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {lathe.decision = #sparsegcn.decision<row_groups = 1, row_group_rows = 2, row_group_nnz = 4, row_group_max = 4, row_group_threshold = 0.8406645569, predicted_us_row_group_hybrid = 1.5, tile_size = 2, target = "cpu", classification = "compile-time", dense_threshold = 0.5, nnz = 6>} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
