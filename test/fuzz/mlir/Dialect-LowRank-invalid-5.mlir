func.func @shared_rank(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<16x64xf32>) -> tensor<4x32xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<16x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
