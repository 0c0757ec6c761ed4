func.func @tucker_full_rank_strided(%x: tensor<1x4x9x9xf32>) -> tensor<1x4x4x4xf32> {
  %uin = arith.constant dense<1.0> : tensor<4x4xf32>
  %core = arith.constant dense<0.5> : tensor<4x4x3x3xf32>
  %uout = arith.constant dense<2.0> : tensor<4x4xf32>
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout {strides = array<i64: 2, 2>}
         : (tensor<1x4x9x9xf32>, tensor<4x4xf32>, tensor<4x4x3x3xf32>, tensor<4x4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}
