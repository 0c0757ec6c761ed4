// One convolution 1x16x10x10 -> 32 (3x3) with a rank-1 filter, for
// test/e2e/recalibrate-cpu-target.test.
func.func @conv(%x: tensor<1x16x10x10xf32>) -> tensor<1x32x8x8xf32> {
  %w = arith.constant dense<0.25> : tensor<32x16x3x3xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x32x8x8xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x16x10x10xf32>, tensor<32x16x3x3xf32>) outs(%fill : tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  return %c : tensor<1x32x8x8xf32>
}
