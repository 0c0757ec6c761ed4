func.func @block_channels(%x: tensor<1x2x8x8x16xf32>, %w: tensor<4x16x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  %y = lathe.conv2d ins(%x, %w : tensor<1x2x8x8x16xf32>, tensor<4x16x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) {input_block = 16 : i64} -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}
