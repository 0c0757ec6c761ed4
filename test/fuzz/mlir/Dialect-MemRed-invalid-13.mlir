func.func @chunks(%q: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  %o = memred.chunked_attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) chunks(0, 4) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}
