func.func @padding_too_small(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x9x8xf32>) -> tensor<1x4x9x8xf32> {
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x9x8xf32>) {padding = array<i64: 1, 1, 1, 1>} -> tensor<1x4x9x8xf32>
  return %y : tensor<1x4x9x8xf32>
}
