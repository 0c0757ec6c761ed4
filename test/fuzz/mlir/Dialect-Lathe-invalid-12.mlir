func.func @init_shape(%x: tensor<4x8xf32>, %w: tensor<8x6xf32>, %e: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %y = lathe.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x6xf32>) outs(%e : tensor<4x5xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}
