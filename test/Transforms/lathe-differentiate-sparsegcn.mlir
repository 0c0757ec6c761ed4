// RUN: lathe-opt --lathe-differentiate --split-input-file %s | FileCheck %s
// The gradient of Y = A·X (sparsegcn.aggregate) with respect to X is Aᵀ·dY:
// another sparsegcn.aggregate on the CSR form of Aᵀ.

// A constant, non-symmetric A = [[1, 2], [0, 3]] (CSR rp [0,2,3], ci [0,1,1],
// v [1,2,3]): Aᵀ = [[1, 0], [2, 3]] is built at compile time (rp [0,1,3],
// ci [0,0,1], v [1,2,3]).
// CHECK-LABEL: func.func @nonsymmetric_grad
// CHECK: %[[RP:.*]] = arith.constant dense<[0, 2, 3]> : tensor<3xi64>
// CHECK: sparsegcn.aggregate csr(%[[RP]],
// CHECK-DAG: %[[TRP:.*]] = arith.constant dense<[0, 1, 3]> : tensor<3xi64>
// CHECK-DAG: %[[TCI:.*]] = arith.constant dense<[0, 0, 1]> : tensor<3xi64>
// CHECK: sparsegcn.aggregate csr(%[[TRP]], %[[TCI]], %{{.*}} : tensor<3xi64>, tensor<3xi64>, tensor<3xf32>) [2, 2]
// CHECK-NOT: sparsegcn.transpose
func.func @nonsymmetric(%x: tensor<2x4xf32> {lathe.param}) -> tensor<f32> {
  %rp = arith.constant dense<[0, 2, 3]> : tensor<3xi64>
  %ci = arith.constant dense<[0, 1, 1]> : tensor<3xi64>
  %v = arith.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<3xi64>, tensor<3xi64>, tensor<3xf32>) [2, 2]
         ins(%x : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %z = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<f32>
  %s1 = linalg.fill ins(%z : f32) outs(%s0 : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%y : tensor<2x4xf32>) outs(%s1 : tensor<f32>) dimensions = [0, 1]
    (%a: f32, %acc: f32) {
      %t = arith.addf %a, %acc : f32
      linalg.yield %t : f32
    }
  return %s : tensor<f32>
}

// -----

// A symmetric constant (same pattern and values after transposition): the
// backward aggregation reuses A's operands, no second copy.
// CHECK-LABEL: func.func @symmetric_grad
// CHECK: %[[RP:.*]] = arith.constant dense<[0, 2, 3]> : tensor<3xi64>
// CHECK: %[[CI:.*]] = arith.constant dense<[0, 1, 0]> : tensor<3xi64>
// CHECK: %[[V:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 2.000000e+00]> : tensor<3xf32>
// CHECK: sparsegcn.aggregate csr(%[[RP]], %[[CI]], %[[V]]
// CHECK-NOT: arith.constant dense<[0,
// CHECK: sparsegcn.aggregate csr(%[[RP]], %[[CI]], %[[V]]
func.func @symmetric(%x: tensor<2x4xf32> {lathe.param}) -> tensor<f32> {
  %rp = arith.constant dense<[0, 2, 3]> : tensor<3xi64>
  %ci = arith.constant dense<[0, 1, 0]> : tensor<3xi64>
  %v = arith.constant dense<[1.0, 2.0, 2.0]> : tensor<3xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<3xi64>, tensor<3xi64>, tensor<3xf32>) [2, 2]
         ins(%x : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %z = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<f32>
  %s1 = linalg.fill ins(%z : f32) outs(%s0 : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%y : tensor<2x4xf32>) outs(%s1 : tensor<f32>) dimensions = [0, 1]
    (%a: f32, %acc: f32) {
      %t = arith.addf %a, %acc : f32
      linalg.yield %t : f32
    }
  return %s : tensor<f32>
}

// -----

// A structurally symmetric pattern with unequal values is not symmetric:
// A = [[0, 2], [5, 0]] gets its own transpose.
// CHECK-LABEL: func.func @pattern_only_grad
// CHECK-DAG: %[[TV:.*]] = arith.constant dense<[5.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK: sparsegcn.aggregate csr({{.*}}, {{.*}}, %[[TV]]
func.func @pattern_only(%x: tensor<2x4xf32> {lathe.param}) -> tensor<f32> {
  %rp = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %ci = arith.constant dense<[1, 0]> : tensor<2xi32>
  %v = arith.constant dense<[2.0, 5.0]> : tensor<2xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<3xi32>, tensor<2xi32>, tensor<2xf32>) [2, 2]
         ins(%x : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %z = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<f32>
  %s1 = linalg.fill ins(%z : f32) outs(%s0 : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%y : tensor<2x4xf32>) outs(%s1 : tensor<f32>) dimensions = [0, 1]
    (%a: f32, %acc: f32) {
      %t = arith.addf %a, %acc : f32
      linalg.yield %t : f32
    }
  return %s : tensor<f32>
}

// -----

// An adjacency the compiler cannot see (here function arguments; lathe.weight
// from HDF5 alike) is transposed at run time, once for both aggregations.
// CHECK-LABEL: func.func @runtime_grad
// CHECK-SAME: (%[[RP:[a-z0-9]+]]: tensor<5xi64>, %[[CI:[a-z0-9]+]]: tensor<?xi64>, %[[V:[a-z0-9]+]]: tensor<?xf32>
// CHECK: %[[T:.*]]:3 = sparsegcn.transpose csr(%[[RP]], %[[CI]], %[[V]] : tensor<5xi64>, tensor<?xi64>, tensor<?xf32>) [4, 4] outs({{.*}} : tensor<5xi64>, tensor<?xi64>, tensor<?xf32>)
// CHECK-NOT: sparsegcn.transpose
// CHECK: sparsegcn.aggregate csr(%[[T]]#0, %[[T]]#1, %[[T]]#2 {{.*}} ins({{.*}} : tensor<4x8xf32>)
// CHECK: sparsegcn.aggregate csr(%[[T]]#0, %[[T]]#1, %[[T]]#2 {{.*}} ins({{.*}} : tensor<4x8xf32>)
func.func @runtime(%rp: tensor<5xi64>, %ci: tensor<?xi64>, %v: tensor<?xf32>,
                   %x: tensor<4x8xf32> {lathe.param}) -> tensor<f32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %y1 = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<?xi64>, tensor<?xf32>) [4, 4]
         ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<?xi64>, tensor<?xf32>) [4, 4]
         ins(%y1 : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %z = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<f32>
  %s1 = linalg.fill ins(%z : f32) outs(%s0 : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%y : tensor<4x8xf32>) outs(%s1 : tensor<f32>) dimensions = [0, 1]
    (%a: f32, %acc: f32) {
      %t = arith.addf %a, %acc : f32
      linalg.yield %t : f32
    }
  return %s : tensor<f32>
}

// -----

// A tiled aggregation keeps its permutation and tile size; its tile classes
// are transposed (tile (r, c) of Aᵀ is tile (c, r) of A).
// CHECK-LABEL: func.func @tiled_grad
// CHECK-SAME: %[[P:[a-z0-9]+]]: tensor<4xi64>
// CHECK: %[[T:.*]]:3 = sparsegcn.transpose
// CHECK: sparsegcn.tiled_aggregate csr(%[[T]]#0, %[[T]]#1, %[[T]]#2 {{.*}} [4, 4] tile 2 permutation(%[[P]] : tensor<4xi64>)
// CHECK-SAME: tile_classes = array<i8: 2, 1, 0, 1>
func.func @tiled(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %p: tensor<4xi64>,
                 %x: tensor<4x8xf32> {lathe.param}) -> tensor<f32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2
         permutation(%p : tensor<4xi64>) ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>)
         {tile_classes = array<i8: 2, 0, 1, 1>} -> tensor<4x8xf32>
  %z = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<f32>
  %s1 = linalg.fill ins(%z : f32) outs(%s0 : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%y : tensor<4x8xf32>) outs(%s1 : tensor<f32>) dimensions = [0, 1]
    (%a: f32, %acc: f32) {
      %t = arith.addf %a, %acc : f32
      linalg.yield %t : f32
    }
  return %s : tensor<f32>
}
