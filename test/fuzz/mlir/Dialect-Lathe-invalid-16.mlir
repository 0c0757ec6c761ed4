func.func @perm_length(%x: tensor<2x4x8xf32>, %w: tensor<8x6xf32>, %e: tensor<2x4x6xf32>) -> tensor<2x4x6xf32> {
  %y = lathe.matmul ins(%x, %w : tensor<2x4x8xf32>, tensor<8x6xf32>) outs(%e : tensor<2x4x6xf32>) {lhs_perm = array<i64: 1, 0>} -> tensor<2x4x6xf32>
  return %y : tensor<2x4x6xf32>
}
