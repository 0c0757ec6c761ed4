func.func @batch(%x: tensor<2x4x4xf32>, %w: tensor<3x4x4xf32>, %e: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  %y = lathe.matmul ins(%x, %w : tensor<2x4x4xf32>, tensor<3x4x4xf32>) outs(%e : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %y : tensor<2x4x4xf32>
}
