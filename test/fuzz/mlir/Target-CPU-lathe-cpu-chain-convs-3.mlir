func.func @left_alone(%x: tensor<1x3x8x8xf32>, %w: tensor<16x3x3x3xf32>, %w2: tensor<16x16x3x3xf32>,
                      %xh: tensor<1x8x8x16xf32>, %wh: tensor<3x3x16x16xf32>, %w24: tensor<24x3x3x3xf32>,
                      %w3: tensor<8x24x3x3xf32>, %xd: tensor<?x3x8x8xf32>, %ed: tensor<?x16x6x6xf32>)
    -> (tensor<1x16x6x6xf32>, tensor<1x16x4x4xf32>, tensor<1x4x4x16xf32>, tensor<1x8x4x4xf32>, tensor<?x16x4x4xf32>) {
  %e = tensor.empty() : tensor<1x16x6x6xf32>
  %a = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) outs(%e : tensor<1x16x6x6xf32>) -> tensor<1x16x6x6xf32>
  %e2 = tensor.empty() : tensor<1x16x4x4xf32>
  %b = lathe.conv2d ins(%a, %w2 : tensor<1x16x6x6xf32>, tensor<16x16x3x3xf32>) outs(%e2 : tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32>
  %eh = tensor.empty() : tensor<1x6x6x16xf32>
  %h = lathe.conv2d ins(%xh, %wh : tensor<1x8x8x16xf32>, tensor<3x3x16x16xf32>) outs(%eh : tensor<1x6x6x16xf32>) {layout = #lathe<layout nhwc>} -> tensor<1x6x6x16xf32>
  %eh2 = tensor.empty() : tensor<1x4x4x16xf32>
  %h2 = lathe.conv2d ins(%h, %wh : tensor<1x6x6x16xf32>, tensor<3x3x16x16xf32>) outs(%eh2 : tensor<1x4x4x16xf32>) {layout = #lathe<layout nhwc>} -> tensor<1x4x4x16xf32>
  %e24 = tensor.empty() : tensor<1x24x6x6xf32>
  %c = lathe.conv2d ins(%x, %w24 : tensor<1x3x8x8xf32>, tensor<24x3x3x3xf32>) outs(%e24 : tensor<1x24x6x6xf32>) -> tensor<1x24x6x6xf32>
  %e3 = tensor.empty() : tensor<1x8x4x4xf32>
  %d = lathe.conv2d ins(%c, %w3 : tensor<1x24x6x6xf32>, tensor<8x24x3x3xf32>) outs(%e3 : tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %g = lathe.conv2d ins(%xd, %w : tensor<?x3x8x8xf32>, tensor<16x3x3x3xf32>) outs(%ed : tensor<?x16x6x6xf32>) -> tensor<?x16x6x6xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %xd, %c0 : tensor<?x3x8x8xf32>
  %eg = tensor.empty(%n) : tensor<?x16x4x4xf32>
  %g2 = lathe.conv2d ins(%g, %w2 : tensor<?x16x6x6xf32>, tensor<16x16x3x3xf32>) outs(%eg : tensor<?x16x4x4xf32>) -> tensor<?x16x4x4xf32>
  return %a, %b, %h2, %d, %g2 : tensor<1x16x6x6xf32>, tensor<1x16x4x4xf32>, tensor<1x4x4x16xf32>, tensor<1x8x4x4xf32>, tensor<?x16x4x4xf32>
}
