func.func @linear(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>,
                  %b: tensor<32xf32>) -> tensor<4x32xf32> {
  %y = lowrank.linear %x, %u, %v bias(%b)
         : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
