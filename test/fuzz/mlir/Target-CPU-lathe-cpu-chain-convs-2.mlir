func.func @block_through_slice(%x: tensor<1x3x8x8xf32>, %w1: tensor<32x3x3x3xf32>, %w2: tensor<16x16x1x1xf32>, %w3: tensor<4x16x3x3xf32>) -> tensor<1x4x2x2xf32> {
  %e1 = tensor.empty() : tensor<1x32x6x6xf32>
  %a = lathe.conv2d ins(%x, %w1 : tensor<1x3x8x8xf32>, tensor<32x3x3x3xf32>) outs(%e1 : tensor<1x32x6x6xf32>) -> tensor<1x32x6x6xf32>
  %s = tensor.extract_slice %a[0, 16, 1, 1] [1, 16, 4, 4] [1, 1, 1, 1] : tensor<1x32x6x6xf32> to tensor<1x16x4x4xf32>
  %e2 = tensor.empty() : tensor<1x16x4x4xf32>
  %b = lathe.conv2d ins(%s, %w2 : tensor<1x16x4x4xf32>, tensor<16x16x1x1xf32>) outs(%e2 : tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32>
  %e3 = tensor.empty() : tensor<1x4x2x2xf32>
  %c = lathe.conv2d ins(%b, %w3 : tensor<1x16x4x4xf32>, tensor<4x16x3x3xf32>) outs(%e3 : tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  return %c : tensor<1x4x2x2xf32>
}
