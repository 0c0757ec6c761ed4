// RUN: lathe-opt %s --canonicalize --split-input-file | FileCheck %s

// A full-rank factorization of constant factors folds back into one dense
// weight W = U·V, used transposed by lathe.matmul with the bias fused.
// CHECK-LABEL: func.func @full_rank_folds
// CHECK-SAME: (%[[X:.*]]: tensor<3x2xf32>, %[[B:.*]]: tensor<2xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [3.000000e+00, 7.000000e+00]]> : tensor<2x2xf32>
// CHECK: lathe.matmul ins(%[[X]], %[[W]] : tensor<3x2xf32>, tensor<2x2xf32>) bias(%[[B]] : tensor<2xf32>)
// CHECK-SAME: transpose_rhs
// CHECK-NOT: lowrank.linear
func.func @full_rank_folds(%x: tensor<3x2xf32>, %b: tensor<2xf32>) -> tensor<3x2xf32> {
  %u = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %v = arith.constant dense<[[1.0, 1.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %y = lowrank.linear %x, %u, %v bias(%b)
         : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// A factorization that saves work stays.
// CHECK-LABEL: func.func @low_rank_stays
// CHECK: lowrank.linear
func.func @low_rank_stays(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %u = arith.constant dense<1.0> : tensor<4x1xf32>
  %v = arith.constant dense<2.0> : tensor<1x4xf32>
  %y = lowrank.linear %x, %u, %v : (tensor<3x4xf32>, tensor<4x1xf32>, tensor<1x4xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

// Factors that are not constants cannot be multiplied out.
// CHECK-LABEL: func.func @full_rank_dynamic_factors_stay
// CHECK: lowrank.linear
func.func @full_rank_dynamic_factors_stay(%x: tensor<3x2xf32>, %u: tensor<2x2xf32>,
                                          %v: tensor<2x2xf32>) -> tensor<3x2xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
