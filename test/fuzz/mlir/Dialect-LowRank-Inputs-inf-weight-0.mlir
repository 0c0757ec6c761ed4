func.func @bad_weight(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %c = arith.constant dense<0xFF800000> : tensor<32x32xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<4x32xf32>) -> tensor<4x32xf32>
  %mm = linalg.matmul ins(%x, %c : tensor<4x32xf32>, tensor<32x32xf32>) outs(%fill : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %mm : tensor<4x32xf32>
}
