func.func @full_rank_dynamic_factors_stay(%x: tensor<3x2xf32>, %u: tensor<2x2xf32>,
                                          %v: tensor<2x2xf32>) -> tensor<3x2xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
