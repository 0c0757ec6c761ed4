func.func @value_rows(%q: tensor<2x8x4xf32>, %v: tensor<2x6x4xf32>) -> tensor<2x8x4xf32> {
  %o = memred.attention ins(%q, %q, %v : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x6x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}
