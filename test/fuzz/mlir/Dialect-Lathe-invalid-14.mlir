func.func @residual(%x: tensor<4x8xf32>, %w: tensor<8x6xf32>, %r: tensor<4x7xf32>, %e: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %y = lathe.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x6xf32>) residual(%r : tensor<4x7xf32>) outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}
