func.func @chunked_shapes(%q: tensor<2x8x4xf32>, %k: tensor<2x8x5xf32>) -> tensor<2x8x4xf32> {
  %o = memred.chunked_attention ins(%q, %k, %q : tensor<2x8x4xf32>, tensor<2x8x5xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) chunks(4, 4) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}
