func.func @rank1(%q: tensor<8xf32>) -> tensor<8xf32> {
  %o = memred.attention ins(%q, %q, %q : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) outs(%q : tensor<8xf32>) scale(1.0) -> tensor<8xf32>
  return %o : tensor<8xf32>
}
