func.func @input_rank(%x: tensor<64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<32xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<32xf32>
  return %y : tensor<32xf32>
}
