// RUN: lathe-opt %s | lathe-opt | FileCheck %s

// Round trip on tensors and memrefs; defaults (nchw, strides/dilations 1,
// no activation, no pool) are not printed.
// CHECK-LABEL: func.func @tensors
// CHECK: lathe.conv2d ins(%{{.*}}, %{{.*}} : tensor<?x3x32x32xf32>, tensor<32x3x3x3xf32>) bias(%{{.*}} : tensor<32xf32>) outs(%{{.*}} : tensor<?x32x15x15xf32>) {activation = #lathe<activation relu>, pool = #lathe<pool max>, pool_strides = array<i64: 2, 2>, pool_window = array<i64: 2, 2>} -> tensor<?x32x15x15xf32>
// CHECK: lathe.conv2d ins(%{{.*}}, %{{.*}} : tensor<?x3x32x32xf32>, tensor<32x3x3x3xf32>) outs(%{{.*}} : tensor<?x32x30x30xf32>) -> tensor<?x32x30x30xf32>
func.func @tensors(%x: tensor<?x3x32x32xf32>, %w: tensor<32x3x3x3xf32>, %b: tensor<32xf32>,
                   %e: tensor<?x32x15x15xf32>, %f: tensor<?x32x30x30xf32>) -> (tensor<?x32x15x15xf32>, tensor<?x32x30x30xf32>) {
  %y = lathe.conv2d ins(%x, %w : tensor<?x3x32x32xf32>, tensor<32x3x3x3xf32>) bias(%b : tensor<32xf32>)
         outs(%e : tensor<?x32x15x15xf32>) {activation = #lathe<activation relu>, pool = #lathe<pool max>, pool_window = array<i64: 2, 2>, pool_strides = array<i64: 2, 2>} -> tensor<?x32x15x15xf32>
  %z = lathe.conv2d ins(%x, %w : tensor<?x3x32x32xf32>, tensor<32x3x3x3xf32>) outs(%f : tensor<?x32x30x30xf32>) {layout = #lathe<layout nchw>, strides = array<i64: 1, 1>} -> tensor<?x32x30x30xf32>
  return %y, %z : tensor<?x32x15x15xf32>, tensor<?x32x30x30xf32>
}

// CHECK-LABEL: func.func @memrefs
// CHECK: lathe.conv2d ins(%{{.*}}, %{{.*}} : memref<1x9x9x3xf32>, memref<3x3x3x5xf32>) outs(%{{.*}} : memref<1x4x3x5xf32>) {dilations = array<i64: 1, 3>, layout = #lathe<layout nhwc>, strides = array<i64: 2, 1>}
// CHECK-NOT: ->
func.func @memrefs(%x: memref<1x9x9x3xf32>, %w: memref<3x3x3x5xf32>, %y: memref<1x4x3x5xf32>) {
  lathe.conv2d ins(%x, %w : memref<1x9x9x3xf32>, memref<3x3x3x5xf32>) outs(%y : memref<1x4x3x5xf32>)
      {layout = #lathe<layout nhwc>, strides = array<i64: 2, 1>, dilations = array<i64: 1, 3>}
  return
}

// Channel-blocked input and output (nChw16c as [N, C/16, H, W, 16]).
// CHECK-LABEL: func.func @blocked
// CHECK: lathe.conv2d ins(%{{.*}}, %{{.*}} : tensor<2x2x8x8x16xf32>, tensor<48x32x3x3xf32>) outs(%{{.*}} : tensor<2x3x6x6x16xf32>) {input_block = 16 : i64, output_block = 16 : i64} -> tensor<2x3x6x6x16xf32>
func.func @blocked(%x: tensor<2x2x8x8x16xf32>, %w: tensor<48x32x3x3xf32>, %e: tensor<2x3x6x6x16xf32>) -> tensor<2x3x6x6x16xf32> {
  %y = lathe.conv2d ins(%x, %w : tensor<2x2x8x8x16xf32>, tensor<48x32x3x3xf32>) outs(%e : tensor<2x3x6x6x16xf32>) {input_block = 16 : i64, output_block = 16 : i64} -> tensor<2x3x6x6x16xf32>
  return %y : tensor<2x3x6x6x16xf32>
}

// Channels-last: one block of all channels ([N, 1, H, W, C], NHWC memory).
// CHECK-LABEL: func.func @channels_last
// CHECK: lathe.conv2d ins(%{{.*}}, %{{.*}} : tensor<2x1x8x8x24xf32>, tensor<40x24x3x3xf32>) outs(%{{.*}} : tensor<2x1x6x6x40xf32>) {input_block = 24 : i64, output_block = 40 : i64}
func.func @channels_last(%x: tensor<2x1x8x8x24xf32>, %w: tensor<40x24x3x3xf32>, %e: tensor<2x1x6x6x40xf32>) -> tensor<2x1x6x6x40xf32> {
  %y = lathe.conv2d ins(%x, %w : tensor<2x1x8x8x24xf32>, tensor<40x24x3x3xf32>) outs(%e : tensor<2x1x6x6x40xf32>) {input_block = 24 : i64, output_block = 40 : i64} -> tensor<2x1x6x6x40xf32>
  return %y : tensor<2x1x6x6x40xf32>
}
