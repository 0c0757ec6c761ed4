func.func @rank_zero(%x: tensor<4x16xf32>, %u: tensor<32x0xf32>, %v: tensor<0x16xf32>) -> tensor<4x32xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<4x16xf32>, tensor<32x0xf32>, tensor<0x16xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
