func.func @pool_kind(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x3x3xf32>) {pool = #lathe<pool avg>} -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}
