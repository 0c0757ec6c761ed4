// RUN: lathe-opt %s -split-input-file -verify-diagnostics --accel-expand-reordered-aggregates | FileCheck %s
// A tiled_aggregate over a reordered adjacency (row i of the stored matrix
// is node perm[i]) becomes a row gather of the features into the stored
// order, the aggregation without a permutation, and a row gather of its
// result by the inverse permutation (node r is stored row inverse[r]):
// perm = [2, 0, 3, 1] has inverse [1, 3, 0, 2].

// CHECK-LABEL: func.func @reordered
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>)
// CHECK: %[[P:.*]] = arith.constant dense<[2, 0, 3, 1]> : tensor<4xi64>
// CHECK: %[[XP:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<4xi64>)
// CHECK:   %[[ROW:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK:   %[[COL:.*]] = linalg.index 1 : index
// CHECK:   tensor.extract %[[X]][%[[ROW]], %[[COL]]] : tensor<4x16xf32>
// CHECK: %[[YP:.*]] = sparsegcn.tiled_aggregate
// CHECK-NOT: permutation
// CHECK-SAME: ins(%[[XP]] : tensor<4x16xf32>)
// CHECK: %[[INV:.*]] = arith.constant dense<[1, 3, 0, 2]> : tensor<4xi64>
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[INV]] : tensor<4xi64>)
// CHECK:   tensor.extract %[[YP]]
// CHECK: return %[[Y]]
func.func @reordered(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 2, 3, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 1, 2, 3, 0]> : tensor<6xi64>
  %v = arith.constant dense<[0.5, 0.5, 1.0, 0.25, 0.75, 2.0]> : tensor<6xf32>
  %p = arith.constant dense<[2, 0, 3, 1]> : tensor<4xi64>
  %e = tensor.empty() : tensor<4x16xf32>
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2
         permutation(%p : tensor<4xi64>) ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>)
         {tile_classes = array<i8: 1, 1, 1, 1>} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Without a permutation the op is left alone.
// CHECK-LABEL: func.func @plain
// CHECK-NOT: linalg.generic
func.func @plain(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 2, 3, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 1, 2, 3, 0]> : tensor<6xi64>
  %v = arith.constant dense<[0.5, 0.5, 1.0, 0.25, 0.75, 2.0]> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>)
         {tile_classes = array<i8: 1, 1, 1, 1>} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @not_constant(%x: tensor<4x16xf32>, %p: tensor<4xi64>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 2, 3, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 1, 2, 3, 0]> : tensor<6xi64>
  %v = arith.constant dense<[0.5, 0.5, 1.0, 0.25, 0.75, 2.0]> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  // expected-error @+1 {{'sparsegcn.tiled_aggregate' op has a permutation that is not a constant}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2
         permutation(%p : tensor<4xi64>) ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>)
         {tile_classes = array<i8: 1, 1, 1, 1>} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @not_a_permutation(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 2, 3, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 1, 2, 3, 0]> : tensor<6xi64>
  %v = arith.constant dense<[0.5, 0.5, 1.0, 0.25, 0.75, 2.0]> : tensor<6xf32>
  %p = arith.constant dense<[2, 0, 2, 1]> : tensor<4xi64>
  %e = tensor.empty() : tensor<4x16xf32>
  // expected-error @+1 {{'sparsegcn.tiled_aggregate' op has a permutation that is not one of its 4 rows (entry 2 is 2)}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2
         permutation(%p : tensor<4xi64>) ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>)
         {tile_classes = array<i8: 1, 1, 1, 1>} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
