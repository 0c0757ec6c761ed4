func.func @layout(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) {layout = #lathe<layout nchwc>} -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}
