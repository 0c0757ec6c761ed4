func.func @shrink_and_block(%x: tensor<2x3x18x18xf32>, %w1: tensor<16x3x3x3xf32>, %w2: tensor<32x16x3x3xf32>) -> tensor<2x32x3x3xf32> {
  %e1 = tensor.empty() : tensor<2x16x8x8xf32>
  %a = lathe.conv2d ins(%x, %w1 : tensor<2x3x18x18xf32>, tensor<16x3x3x3xf32>) outs(%e1 : tensor<2x16x8x8xf32>) {pool = #lathe<pool max>, pool_window = array<i64: 2, 2>, pool_strides = array<i64: 2, 2>} -> tensor<2x16x8x8xf32>
  %e2 = tensor.empty() : tensor<2x32x3x3xf32>
  %b = lathe.conv2d ins(%a, %w2 : tensor<2x16x8x8xf32>, tensor<32x16x3x3xf32>) outs(%e2 : tensor<2x32x3x3xf32>) {strides = array<i64: 2, 2>} -> tensor<2x32x3x3xf32>
  return %b : tensor<2x32x3x3xf32>
}
