func.func @init_shape(%q: tensor<2x8x4xf32>, %o: tensor<2x8x3xf32>) -> tensor<2x8x3xf32> {
  %r = memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%o : tensor<2x8x3xf32>) scale(1.0) -> tensor<2x8x3xf32>
  return %r : tensor<2x8x3xf32>
}
