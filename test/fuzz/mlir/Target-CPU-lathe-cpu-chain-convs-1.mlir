func.func @shrink_to_slice(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x4x5xf32> {
  %e = tensor.empty() : tensor<1x8x6x6xf32>
  %a = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) outs(%e : tensor<1x8x6x6xf32>) {layout = #lathe<layout nchw>} -> tensor<1x8x6x6xf32>
  %s = tensor.extract_slice %a[0, 0, 0, 0] [1, 8, 4, 5] [1, 1, 1, 1] : tensor<1x8x6x6xf32> to tensor<1x8x4x5xf32>
  return %s : tensor<1x8x4x5xf32>
}
