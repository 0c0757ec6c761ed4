func.func @tucker_low_rank_stays(%x: tensor<1x16x10x10xf32>) -> tensor<1x32x8x8xf32> {
  %uin = arith.constant dense<1.0> : tensor<2x16xf32>
  %core = arith.constant dense<0.5> : tensor<2x2x3x3xf32>
  %uout = arith.constant dense<2.0> : tensor<32x2xf32>
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout
         : (tensor<1x16x10x10xf32>, tensor<2x16xf32>, tensor<2x2x3x3xf32>, tensor<32x2xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}
func.func @tucker_dynamic_factors_stay(%x: tensor<1x2x3x3xf32>, %uin: tensor<2x2xf32>) -> tensor<1x2x3x3xf32> {
  %core = arith.constant dense<1.0> : tensor<2x2x1x1xf32>
  %uout = arith.constant dense<1.0> : tensor<2x2xf32>
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout
         : (tensor<1x2x3x3xf32>, tensor<2x2xf32>, tensor<2x2x1x1xf32>, tensor<2x2xf32>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}
