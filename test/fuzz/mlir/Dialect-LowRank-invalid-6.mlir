func.func @rank_too_big(%x: tensor<4x16xf32>, %u: tensor<32x20xf32>, %v: tensor<20x16xf32>) -> tensor<4x32xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<4x16xf32>, tensor<32x20xf32>, tensor<20x16xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
