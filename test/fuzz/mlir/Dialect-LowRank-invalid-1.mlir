func.func @f64_result(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf64> {
  %y = lowrank.linear %x, %u, %v : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf64>
  return %y : tensor<4x32xf64>
}
