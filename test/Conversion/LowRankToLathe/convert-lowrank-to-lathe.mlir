// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(convert-lowrank-to-lathe))' | FileCheck %s

// Small batch: x·Vᵀ first (rank columns), then ·Uᵀ with the bias fused.
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[U:.*]]: tensor<32x8xf32>, %[[V:.*]]: tensor<8x64xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK: %[[T:.*]] = lathe.matmul ins(%[[X]], %[[V]] : tensor<4x64xf32>, tensor<8x64xf32>) outs(%{{.*}} : tensor<4x8xf32>) {{.*}}transpose_rhs
// CHECK: %[[Y:.*]] = lathe.matmul ins(%[[T]], %[[U]] : tensor<4x8xf32>, tensor<32x8xf32>) bias(%[[B]] : tensor<32xf32>) outs(%{{.*}} : tensor<4x32xf32>) {{.*}}transpose_rhs
// CHECK: return %[[Y]]
func.func @linear(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>,
                  %b: tensor<32xf32>) -> tensor<4x32xf32> {
  %y = lowrank.linear %x, %u, %v bias(%b)
         : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// Dynamic batch: the intermediate takes its row count from the input.
// CHECK-LABEL: func.func @linear_dynamic
// CHECK: %[[D:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x64xf32>
// CHECK: tensor.empty(%[[D]]) : tensor<?x8xf32>
// CHECK: lathe.matmul {{.*}} -> tensor<?x8xf32>
// CHECK: lathe.matmul {{.*}} -> tensor<?x32xf32>
func.func @linear_dynamic(%x: tensor<?x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<?x32xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<?x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Many rows and a rank close to min(N, K): forming W = U·V once is cheaper.
// CHECK-LABEL: func.func @linear_form_weight
// CHECK-SAME: (%[[X:.*]]: tensor<512x16xf32>, %[[U:.*]]: tensor<16x12xf32>, %[[V:.*]]: tensor<12x16xf32>)
// CHECK: %[[W:.*]] = lathe.matmul ins(%[[U]], %[[V]] : tensor<16x12xf32>, tensor<12x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: lathe.matmul ins(%[[X]], %[[W]] : tensor<512x16xf32>, tensor<16x16xf32>) {{.*}}transpose_rhs
func.func @linear_form_weight(%x: tensor<512x16xf32>, %u: tensor<16x12xf32>, %v: tensor<12x16xf32>) -> tensor<512x16xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<512x16xf32>, tensor<16x12xf32>, tensor<12x16xf32>) -> tensor<512x16xf32>
  return %y : tensor<512x16xf32>
}

// -----

// Tucker-2: 1x1 (u_in), core (strides, dilations), 1x1 (u_out), bias.
// CHECK-LABEL: func.func @tucker
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x9x9xf32>, %[[UIN:.*]]: tensor<4x16xf32>, %[[CORE:.*]]: tensor<4x4x3x3xf32>, %[[UOUT:.*]]: tensor<8x4xf32>, %[[B:.*]]: tensor<8xf32>)
// Accumulators start at -0.0 so that CSE cannot merge them with the model's +0.0 fills.
// CHECK: %[[NZ:.*]] = arith.constant -0.000000e+00 : f32
// CHECK: linalg.fill ins(%[[NZ]] : f32)
// CHECK: %[[F1:.*]] = tensor.expand_shape %[[UIN]] {{\[}}[0], [1, 2, 3]] {{.*}} : tensor<4x16xf32> into tensor<4x16x1x1xf32>
// CHECK: %[[T1:.*]] = linalg.conv_2d_nchw_fchw {{.*}} ins(%[[X]], %[[F1]] : {{.*}}) {{.*}} -> tensor<2x4x9x9xf32>
// CHECK: %[[T2:.*]] = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%[[T1]], %[[CORE]] : {{.*}}) {{.*}} -> tensor<2x4x4x4xf32>
// CHECK: %[[F3:.*]] = tensor.expand_shape %[[UOUT]] {{.*}} : tensor<8x4xf32> into tensor<8x4x1x1xf32>
// CHECK: %[[T3:.*]] = linalg.conv_2d_nchw_fchw {{.*}} ins(%[[T2]], %[[F3]] : {{.*}}) {{.*}} -> tensor<2x8x4x4xf32>
// CHECK: linalg.generic {{.*}} ins(%[[T3]], %[[B]] : tensor<2x8x4x4xf32>, tensor<8xf32>)
// CHECK: arith.addf
func.func @tucker(%x: tensor<2x16x9x9xf32>, %uin: tensor<4x16xf32>,
                  %core: tensor<4x4x3x3xf32>, %uout: tensor<8x4xf32>,
                  %b: tensor<8xf32>) -> tensor<2x8x4x4xf32> {
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout bias(%b) {strides = array<i64: 2, 2>}
         : (tensor<2x16x9x9xf32>, tensor<4x16xf32>, tensor<4x4x3x3xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<2x8x4x4xf32>
  return %y : tensor<2x8x4x4xf32>
}

// -----

// No lowrank ops: nothing changes.
// CHECK-LABEL: func.func @untouched
// CHECK-NEXT: return %arg0
func.func @untouched(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
