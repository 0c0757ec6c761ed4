func.func @alpha_bias(%x: tensor<4x8xf32>, %w: tensor<8x6xf32>, %b: tensor<6xf32>, %e: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %y = lathe.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x6xf32>) bias(%b : tensor<6xf32>) outs(%e : tensor<4x6xf32>) {alpha = 0.5 : f32} -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}
