// REQUIRES: cuda
// RUN: lathe-opt %s --lathe-cuda-expand-layer-norm | FileCheck %s

// A layer norm becomes a row sum, a row sum of squared deviations from the
// mean and one element-wise generic; no lathe.layer_norm remains. The
// numbers are checked against numpy in lathe-cuda-expand-layer-norm-e2e.test.

// CHECK-LABEL: func.func @ln
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[G:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<16xf32>)
// CHECK-DAG: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK-DAG: %[[N:.*]] = arith.constant 1.600000e+01 : f32
// CHECK: %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<8xf32>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<8x16xf32>) outs(%[[ZERO]] : tensor<8xf32>)
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[SUM]] : {{.*}}) outs(%[[ZERO]] : tensor<8xf32>)
// CHECK:   arith.divf %{{.*}}, %[[N]]
// CHECK:   arith.subf
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[SUM]], %[[SQ]], %[[G]], %[[B]] : {{.*}})
// CHECK:   arith.addf %{{.*}}, %[[EPS]]
// CHECK:   math.rsqrt
// CHECK-NOT: lathe.layer_norm
func.func @ln(%x: tensor<8x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<8x16xf32> {
  %e = tensor.empty() : tensor<8x16xf32>
  %y = lathe.layer_norm ins(%x : tensor<8x16xf32>) gamma(%g : tensor<16xf32>) beta(%b : tensor<16xf32>) outs(%e : tensor<8x16xf32>) {epsilon = 1.0e-05 : f32} -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}

// Without gamma and beta, on a dynamic rank-3 tensor: the row count comes
// from the input, the row length from its last dimension.
// CHECK-LABEL: func.func @ln_dynamic
// CHECK: tensor.dim
// CHECK: arith.uitofp
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-NOT: lathe.layer_norm
func.func @ln_dynamic(%x: tensor<?x4x?xf32>, %e: tensor<?x4x?xf32>) -> tensor<?x4x?xf32> {
  %y = lathe.layer_norm ins(%x : tensor<?x4x?xf32>) outs(%e : tensor<?x4x?xf32>) {epsilon = 1.0e-05 : f32} -> tensor<?x4x?xf32>
  return %y : tensor<?x4x?xf32>
}
