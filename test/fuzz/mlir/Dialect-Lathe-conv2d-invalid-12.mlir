func.func @f64(%x: tensor<1x3x8x8xf64>, %w: tensor<4x3x3x3xf64>, %e: tensor<1x4x6x6xf64>) -> tensor<1x4x6x6xf64> {
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf64>, tensor<4x3x3x3xf64>) outs(%e : tensor<1x4x6x6xf64>) -> tensor<1x4x6x6xf64>
  return %y : tensor<1x4x6x6xf64>
}
