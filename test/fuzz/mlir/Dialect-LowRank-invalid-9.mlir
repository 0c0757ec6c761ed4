func.func @result_rank(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<1x4x32xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<1x4x32xf32>
  return %y : tensor<1x4x32xf32>
}
