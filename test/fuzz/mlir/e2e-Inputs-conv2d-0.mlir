func.func @nchw(%x: tensor<2x3x17x17xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<2x8x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8x8x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8x8x8xf32>) -> tensor<2x8x8x8xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<2x3x17x17xf32>, tensor<8x3x3x3xf32>) outs(%acc : tensor<2x8x8x8xf32>) -> tensor<2x8x8x8xf32>
  return %y : tensor<2x8x8x8xf32>
}
func.func @nhwc(%x: tensor<2x17x17x3xf32>, %w: tensor<3x3x3x8xf32>) -> tensor<2x13x13x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x13x13x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2x13x13x8xf32>) -> tensor<2x13x13x8xf32>
  %y = linalg.conv_2d_nhwc_hwcf {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<2x17x17x3xf32>, tensor<3x3x3x8xf32>) outs(%acc : tensor<2x13x13x8xf32>) -> tensor<2x13x13x8xf32>
  return %y : tensor<2x13x13x8xf32>
}
