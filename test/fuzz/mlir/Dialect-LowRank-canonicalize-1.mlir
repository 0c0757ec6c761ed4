func.func @low_rank_stays(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %u = arith.constant dense<1.0> : tensor<4x1xf32>
  %v = arith.constant dense<2.0> : tensor<1x4xf32>
  %y = lowrank.linear %x, %u, %v : (tensor<3x4xf32>, tensor<4x1xf32>, tensor<1x4xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}
