func.func @factor_rank(%x: tensor<4x64xf32>, %u: tensor<32x8x1xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<4x64xf32>, tensor<32x8x1xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
