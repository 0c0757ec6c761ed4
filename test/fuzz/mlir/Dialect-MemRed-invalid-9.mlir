func.func @bias_shape(%q: tensor<2x8x4xf32>, %b: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  %o = memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) biases(%b : tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}
