func.func @accumulating(%x: tensor<64x256xf32>, %acc: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %w = arith.constant dense<1.0> : tensor<256x256xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<64x256xf32>, tensor<256x256xf32>) outs(%acc : tensor<64x256xf32>) -> tensor<64x256xf32>
  return %mm : tensor<64x256xf32>
}
