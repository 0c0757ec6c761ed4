func.func @result_type(%q: tensor<2x8x4xf32>) -> tensor<2x8x5xf32> {
  %o = memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x5xf32>
  return %o : tensor<2x8x5xf32>
}
