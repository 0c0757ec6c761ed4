func.func @block_inner(%x: tensor<1x3x8x8xf32>, %w: tensor<32x3x3x3xf32>, %e: tensor<1x2x6x6x8xf32>) -> tensor<1x2x6x6x8xf32> {
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<32x3x3x3xf32>) outs(%e : tensor<1x2x6x6x8xf32>) {output_block = 16 : i64} -> tensor<1x2x6x6x8xf32>
  return %y : tensor<1x2x6x6x8xf32>
}
