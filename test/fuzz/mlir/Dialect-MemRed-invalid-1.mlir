func.func @f16(%q: tensor<2x8x4xf16>) -> tensor<2x8x4xf16> {
  %o = memred.attention ins(%q, %q, %q : tensor<2x8x4xf16>, tensor<2x8x4xf16>, tensor<2x8x4xf16>) outs(%q : tensor<2x8x4xf16>) scale(1.0) -> tensor<2x8x4xf16>
  return %o : tensor<2x8x4xf16>
}
