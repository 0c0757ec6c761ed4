func.func @pad_left_alone(%x: tensor<1x3x6x6xf32>, %w: tensor<8x3x3x3xf32>, %w4: tensor<8x4x3x3xf32>) -> (tensor<1x8x6x6xf32>, tensor<1x8x4x4xf32>) {
  %one = arith.constant 1.0 : f32
  %z = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %one : f32
  } : tensor<1x3x6x6xf32> to tensor<1x3x8x8xf32>
  %e = tensor.empty() : tensor<1x8x6x6xf32>
  %a = lathe.conv2d ins(%p, %w : tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) outs(%e : tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %q = tensor.pad %x low[0, 1, 0, 0] high[0, 0, 0, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %z : f32
  } : tensor<1x3x6x6xf32> to tensor<1x4x6x6xf32>
  %e2 = tensor.empty() : tensor<1x8x4x4xf32>
  %b = lathe.conv2d ins(%q, %w4 : tensor<1x4x6x6xf32>, tensor<8x4x3x3xf32>) outs(%e2 : tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  return %a, %b : tensor<1x8x6x6xf32>, tensor<1x8x4x4xf32>
}
