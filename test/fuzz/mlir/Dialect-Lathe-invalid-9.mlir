func.func @not_f32(%x: tensor<4x4xf16>, %e: tensor<4x4xf16>) -> tensor<4x4xf16> {
  %y = lathe.matmul ins(%x, %x : tensor<4x4xf16>, tensor<4x4xf16>) outs(%e : tensor<4x4xf16>) -> tensor<4x4xf16>
  return %y : tensor<4x4xf16>
}
