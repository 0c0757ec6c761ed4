// RUN: lathe-opt %s | lathe-opt | FileCheck %s

// CHECK-LABEL: func.func @stem
// CHECK: lathe.max_pool2d ins(%{{.*}} : tensor<1x64x112x112xf32>) outs(%{{.*}} : tensor<1x64x56x56xf32>) {padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, window = array<i64: 3, 3>} -> tensor<1x64x56x56xf32>
func.func @stem(%x: tensor<1x64x112x112xf32>, %e: tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32> {
  %y = lathe.max_pool2d ins(%x : tensor<1x64x112x112xf32>) outs(%e : tensor<1x64x56x56xf32>) {window = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x64x56x56xf32>
  return %y : tensor<1x64x56x56xf32>
}

// CHECK-LABEL: func.func @nhwc_memref
// CHECK: lathe.max_pool2d ins(%{{.*}} : memref<2x8x8x3xf32>) outs(%{{.*}} : memref<2x4x4x3xf32>) {layout = #lathe<layout nhwc>, strides = array<i64: 2, 2>, window = array<i64: 2, 2>}
// CHECK-NOT: ->
func.func @nhwc_memref(%x: memref<2x8x8x3xf32>, %y: memref<2x4x4x3xf32>) {
  lathe.max_pool2d ins(%x : memref<2x8x8x3xf32>) outs(%y : memref<2x4x4x3xf32>) {layout = #lathe<layout nhwc>, window = array<i64: 2, 2>, strides = array<i64: 2, 2>}
  return
}

// Channel-blocked operands (nChw16c), as lathe-cpu-chain-convs writes them.
// CHECK-LABEL: func.func @blocked
// CHECK: lathe.max_pool2d ins(%{{.*}} : tensor<1x4x112x112x16xf32>) outs(%{{.*}} : tensor<1x4x56x56x16xf32>) {block = 16 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, window = array<i64: 3, 3>}
func.func @blocked(%x: tensor<1x4x112x112x16xf32>, %e: tensor<1x4x56x56x16xf32>) -> tensor<1x4x56x56x16xf32> {
  %y = lathe.max_pool2d ins(%x : tensor<1x4x112x112x16xf32>) outs(%e : tensor<1x4x56x56x16xf32>) {block = 16 : i64, window = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x4x56x56x16xf32>
  return %y : tensor<1x4x56x56x16xf32>
}
