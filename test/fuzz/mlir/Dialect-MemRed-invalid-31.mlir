func.func @bank_overflow(%f: tensor<8x8xf32>, %q: tensor<2x8xf32>, %b: tensor<8x8xf32>, %n: index) -> (tensor<8x8xf32>, index) {
  %b1, %n1 = memred.bank_append ins(%f : tensor<8x8xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<8x8xf32>) count(%n) recent(0.5) keep(0.5) scale(1.0) -> tensor<8x8xf32>, index
  return %b1, %n1 : tensor<8x8xf32>, index
}
