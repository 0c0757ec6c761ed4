func.func @batch(%q: tensor<2x8x4xf32>, %k: tensor<3x8x4xf32>) -> tensor<2x8x4xf32> {
  %o = memred.attention ins(%q, %k, %q : tensor<2x8x4xf32>, tensor<3x8x4xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}
