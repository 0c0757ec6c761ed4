func.func @activation(%x: tensor<4x4xf32>, %e: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %y = lathe.matmul ins(%x, %x : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {activation = #lathe<activation swish>} -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
