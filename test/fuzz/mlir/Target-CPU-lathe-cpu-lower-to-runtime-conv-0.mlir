memref.global "private" constant @w : memref<4x3x3x3xf32> = dense<1.0>
func.func @conv_pool(%x: memref<2x3x10x10xf32>, %b: memref<4xf32>, %y: memref<2x4x4x4xf32>) {
  %w = memref.get_global @w : memref<4x3x3x3xf32>
  lathe.conv2d ins(%x, %w : memref<2x3x10x10xf32>, memref<4x3x3x3xf32>) bias(%b : memref<4xf32>)
      outs(%y : memref<2x4x4x4xf32>) {activation = #lathe<activation relu>, pool = #lathe<pool max>, pool_window = array<i64: 2, 2>, pool_strides = array<i64: 2, 2>}
  return
}
func.func @conv_nhwc(%x: memref<1x9x9x3xf32>, %w: memref<3x3x3x5xf32>, %y: memref<1x4x3x5xf32>) {
  lathe.conv2d ins(%x, %w : memref<1x9x9x3xf32>, memref<3x3x3x5xf32>)
      outs(%y : memref<1x4x3x5xf32>) {layout = #lathe<layout nhwc>, strides = array<i64: 2, 1>, dilations = array<i64: 1, 3>}
  return
}
func.func @pool_after_fill(%x: memref<2x4x9x9xf32>, %y: memref<2x4x7x4xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %win = memref.alloc() : memref<3x2xf32>
  linalg.fill ins(%ninf : f32) outs(%y : memref<2x4x7x4xf32>)
  linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<[1, 2]> : tensor<2xi64>}
      ins(%x, %win : memref<2x4x9x9xf32>, memref<3x2xf32>) outs(%y : memref<2x4x7x4xf32>)
  memref.dealloc %win : memref<3x2xf32>
  return
}
func.func @pool_accumulates(%x: memref<1x4x4x3xf32>, %y: memref<1x2x2x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %win = memref.alloc() : memref<2x2xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x2x2x3xf32>)
  linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %win : memref<1x4x4x3xf32>, memref<2x2xf32>) outs(%y : memref<1x2x2x3xf32>)
  memref.dealloc %win : memref<2x2xf32>
  return
}
func.func @conv_blocked(%x: memref<1x2x6x6x16xf32>, %w: memref<32x32x3x3xf32>, %y: memref<1x2x4x4x16xf32>) {
  lathe.conv2d ins(%x, %w : memref<1x2x6x6x16xf32>, memref<32x32x3x3xf32>)
      outs(%y : memref<1x2x4x4x16xf32>) {input_block = 16 : i64, output_block = 16 : i64}
  return
}
func.func @conv_padded(%x: memref<1x3x6x6xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x6x8xf32>) {
  lathe.conv2d ins(%x, %w : memref<1x3x6x6xf32>, memref<4x3x3x3xf32>)
      outs(%y : memref<1x4x6x8xf32>) {padding = array<i64: 1, 2, 1, 2>}
  return
}
