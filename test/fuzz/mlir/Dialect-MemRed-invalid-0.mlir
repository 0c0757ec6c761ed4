func.func @mixed(%q: tensor<2x8x4xf32>, %o: memref<2x8x4xf32>) {
  memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%o : memref<2x8x4xf32>) scale(1.0)
  return
}
