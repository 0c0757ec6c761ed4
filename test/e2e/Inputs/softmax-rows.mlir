// A softmax over the rows of a 6x33 input (softmax-masked.test).
func.func @main(%x: tensor<6x33xf32>) -> tensor<6x33xf32> {
  %e = tensor.empty() : tensor<6x33xf32>
  %y = linalg.softmax dimension(1) ins(%x : tensor<6x33xf32>) outs(%e : tensor<6x33xf32>) -> tensor<6x33xf32>
  return %y : tensor<6x33xf32>
}
