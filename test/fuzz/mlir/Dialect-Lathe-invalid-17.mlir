func.func @perm_repeats(%x: tensor<2x4x8xf32>, %w: tensor<8x6xf32>, %e: tensor<2x4x6xf32>) -> tensor<2x4x6xf32> {
  %y = lathe.matmul ins(%x, %w : tensor<2x4x8xf32>, tensor<8x6xf32>) outs(%e : tensor<2x4x6xf32>) {init_perm = array<i64: 0, 1, 1>} -> tensor<2x4x6xf32>
  return %y : tensor<2x4x6xf32>
}
