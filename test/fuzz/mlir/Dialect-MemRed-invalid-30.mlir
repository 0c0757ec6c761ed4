func.func @bank_big_frame(%f: tensor<20x8xf32>, %q: tensor<2x8xf32>, %b: tensor<16x8xf32>, %n: index) -> (tensor<16x8xf32>, index) {
  %b1, %n1 = memred.bank_append ins(%f : tensor<20x8xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<16x8xf32>) count(%n) recent(0.1) keep(0.1) scale(1.0) -> tensor<16x8xf32>, index
  return %b1, %n1 : tensor<16x8xf32>, index
}
