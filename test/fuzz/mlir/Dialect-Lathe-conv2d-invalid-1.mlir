func.func @nhwc_channels(%x: tensor<1x8x8x3xf32>, %w: tensor<3x3x3x4xf32>, %e: tensor<1x6x6x5xf32>) -> tensor<1x6x6x5xf32> {
  %y = lathe.conv2d ins(%x, %w : tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>) outs(%e : tensor<1x6x6x5xf32>) {layout = #lathe<layout nhwc>} -> tensor<1x6x6x5xf32>
  return %y : tensor<1x6x6x5xf32>
}
