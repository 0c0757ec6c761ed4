func.func @block_out_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<32x3x3x3xf32>, %e: tensor<1x1x6x6x16xf32>) -> tensor<1x1x6x6x16xf32> {
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<32x3x3x3xf32>) outs(%e : tensor<1x1x6x6x16xf32>) {output_block = 16 : i64} -> tensor<1x1x6x6x16xf32>
  return %y : tensor<1x1x6x6x16xf32>
}
