func.func @block_nhwc(%x: tensor<1x1x8x8x16xf32>, %w: tensor<3x3x16x4xf32>, %e: tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32> {
  %y = lathe.conv2d ins(%x, %w : tensor<1x1x8x8x16xf32>, tensor<3x3x16x4xf32>) outs(%e : tensor<1x6x6x4xf32>) {layout = #lathe<layout nhwc>, input_block = 16 : i64} -> tensor<1x6x6x4xf32>
  return %y : tensor<1x6x6x4xf32>
}
