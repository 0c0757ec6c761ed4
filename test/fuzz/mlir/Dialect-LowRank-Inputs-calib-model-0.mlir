func.func @main(%x: tensor<64x48xf32>, %img: tensor<1x16x10x10xf32>) -> (tensor<64x64xf32>, tensor<1x32x8x8xf32>) {
  %w = arith.constant dense<0.5> : tensor<64x48xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
         ins(%x, %w : tensor<64x48xf32>, tensor<64x48xf32>) outs(%fill : tensor<64x64xf32>) -> tensor<64x64xf32>
  %f = arith.constant dense<0.25> : tensor<32x16x3x3xf32>
  %ec = tensor.empty() : tensor<1x32x8x8xf32>
  %fc = linalg.fill ins(%zero : f32) outs(%ec : tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%img, %f : tensor<1x16x10x10xf32>, tensor<32x16x3x3xf32>) outs(%fc : tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  return %y, %c : tensor<64x64xf32>, tensor<1x32x8x8xf32>
}
