func.func @memref_result(%q: memref<2x8x4xf32>) {
  %o = memred.attention ins(%q, %q, %q : memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>) outs(%q : memref<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return
}
