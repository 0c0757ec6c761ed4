func.func @linear3d(%x: tensor<2x4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<2x4x32xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<2x4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<2x4x32xf32>
  return %y : tensor<2x4x32xf32>
}
