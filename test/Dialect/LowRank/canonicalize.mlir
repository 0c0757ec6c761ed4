// RUN: lathe-opt %s --canonicalize --split-input-file | FileCheck %s

// A full-rank factorization of constant factors folds back into one dense
// weight W = U·V (by hand: [[1, 2], [3, 4]]·[[1, 1], [0, 1]] = [[1, 3], [3, 7]],
// symmetric, so Wᵀ = W): x·Wᵀ as a linalg.matmul, then the bias add; upstream
// ops only, never a backend op.
// CHECK-LABEL: func.func @full_rank_folds
// CHECK-SAME: (%[[X:.*]]: tensor<3x2xf32>, %[[B:.*]]: tensor<2xf32>)
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [3.000000e+00, 7.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[F:.*]] = linalg.fill
// CHECK: %[[M:.*]] = linalg.matmul ins(%[[X]], %[[W]] : tensor<3x2xf32>, tensor<2x2xf32>) outs(%[[F]] : tensor<3x2xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {{.*}}ins(%[[M]], %[[B]] : tensor<3x2xf32>, tensor<2xf32>)
// CHECK: arith.addf
// CHECK: return %[[Y]]
// CHECK-NOT: lathe.
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

// -----

// Tucker-2 at full rank with Cin = Cout = 2 and a 1x1 window stores 12 numbers
// for a 4-number filter: it folds back into one convolution. By hand:
// core·u_in = [[1, 0], [0, 2]]·[[1, 2], [3, 4]] = [[1, 2], [6, 8]];
// u_out·that = [[1, 1], [0, 1]]·[[1, 2], [6, 8]] = [[7, 10], [6, 8]] = W[o, i].
// CHECK-LABEL: func.func @tucker_full_rank_folds
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x3x3xf32>, %[[B:.*]]: tensor<2xf32>)
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[}}{{\[}}{{\[}}[7.000000e+00]], {{\[}}[1.000000e+01]]], {{\[}}{{\[}}[6.000000e+00]], {{\[}}[8.000000e+00]]]]> : tensor<2x2x1x1xf32>
// CHECK-DAG: %[[Z:.*]] = arith.constant -0.000000e+00 : f32
// CHECK: %[[F:.*]] = linalg.fill ins(%[[Z]] : f32)
// CHECK: %[[C:.*]] = linalg.conv_2d_nchw_fchw {{.*}}ins(%[[X]], %[[W]] : tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) outs(%[[F]] : tensor<1x2x3x3xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {{.*}}ins(%[[C]], %[[B]] : tensor<1x2x3x3xf32>, tensor<2xf32>)
// CHECK: arith.addf
// CHECK: return %[[Y]]
// CHECK-NOT: lowrank.conv2d_tucker
func.func @tucker_full_rank_folds(%x: tensor<1x2x3x3xf32>, %b: tensor<2xf32>) -> tensor<1x2x3x3xf32> {
  %uin = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %core = arith.constant dense<[[[[1.0]], [[0.0]]], [[[0.0]], [[2.0]]]]> : tensor<2x2x1x1xf32>
  %uout = arith.constant dense<[[1.0, 1.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout bias(%b)
         : (tensor<1x2x3x3xf32>, tensor<2x2xf32>, tensor<2x2x1x1xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}

// -----

// A 3x3 window with stride 2, rank 4 of Cin = Cout = 4 (4·4 + 16·9 + 4·4 = 176
// >= 144): one dense [4, 4, 3, 3] filter, the strides kept, no bias add.
// CHECK-LABEL: func.func @tucker_full_rank_strided
// CHECK: linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%{{.*}}, %{{.*}} : tensor<1x4x9x9xf32>, tensor<4x4x3x3xf32>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: lowrank.conv2d_tucker
func.func @tucker_full_rank_strided(%x: tensor<1x4x9x9xf32>) -> tensor<1x4x4x4xf32> {
  %uin = arith.constant dense<1.0> : tensor<4x4xf32>
  %core = arith.constant dense<0.5> : tensor<4x4x3x3xf32>
  %uout = arith.constant dense<2.0> : tensor<4x4xf32>
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout {strides = array<i64: 2, 2>}
         : (tensor<1x4x9x9xf32>, tensor<4x4xf32>, tensor<4x4x3x3xf32>, tensor<4x4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// A Tucker-2 rank that saves work (16·2 + 4·9 + 2·32 = 132 < 4608) stays, and
// so does a full-rank one whose factors are not constants.
// CHECK-LABEL: func.func @tucker_low_rank_stays
// CHECK: lowrank.conv2d_tucker
// CHECK-LABEL: func.func @tucker_dynamic_factors_stay
// CHECK: lowrank.conv2d_tucker
func.func @tucker_low_rank_stays(%x: tensor<1x16x10x10xf32>) -> tensor<1x32x8x8xf32> {
  %uin = arith.constant dense<1.0> : tensor<2x16xf32>
  %core = arith.constant dense<0.5> : tensor<2x2x3x3xf32>
  %uout = arith.constant dense<2.0> : tensor<32x2xf32>
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout
         : (tensor<1x16x10x10xf32>, tensor<2x16xf32>, tensor<2x2x3x3xf32>, tensor<32x2xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}
func.func @tucker_dynamic_factors_stay(%x: tensor<1x2x3x3xf32>, %uin: tensor<2x2xf32>) -> tensor<1x2x3x3xf32> {
  %core = arith.constant dense<1.0> : tensor<2x2x1x1xf32>
  %uout = arith.constant dense<1.0> : tensor<2x2xf32>
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout
         : (tensor<1x2x3x3xf32>, tensor<2x2xf32>, tensor<2x2x1x1xf32>, tensor<2x2xf32>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}

// -----

// On a 3-D input with a dynamic batch the folded Wᵀ is broadcast over the
// batch by a linalg.batch_matmul; no bias, no generic.
// CHECK-LABEL: func.func @full_rank_folds_3d
// CHECK-SAME: (%[[X:.*]]: tensor<?x3x2xf32>)
// CHECK: %[[N:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x3x2xf32>
// CHECK: %[[E:.*]] = tensor.empty(%[[N]]) : tensor<?x3x2xf32>
// CHECK: %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<?x3x2xf32>)
// CHECK: %[[M:.*]] = linalg.batch_matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[X]], %{{.*}} : tensor<?x3x2xf32>, tensor<2x2xf32>) outs(%[[F]] : tensor<?x3x2xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[M]]
func.func @full_rank_folds_3d(%x: tensor<?x3x2xf32>) -> tensor<?x3x2xf32> {
  %u = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %v = arith.constant dense<[[1.0, 1.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %y = lowrank.linear %x, %u, %v
         : (tensor<?x3x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<?x3x2xf32>
  return %y : tensor<?x3x2xf32>
}
