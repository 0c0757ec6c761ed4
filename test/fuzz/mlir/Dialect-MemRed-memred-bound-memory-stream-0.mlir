func.func @two_layers(%frames: tensor<64x16x32xf32>, %q: tensor<4x32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>, tensor<?x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %none = tensor.empty() : tensor<0x32xf32>
  %empty = tensor.cast %none : tensor<0x32xf32> to tensor<?x32xf32>
  %s = tensor.empty() : tensor<4x32xf32>
  %r:4 = scf.for %t = %c0 to %c64 step %c1 iter_args(%cache0 = %empty, %cache1 = %empty, %s0 = %s, %s1 = %s) -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>) {
    %f = tensor.extract_slice %frames[%t, 0, 0] [1, 16, 32] [1, 1, 1] : tensor<64x16x32xf32> to tensor<16x32xf32>
    %g0 = tensor.concat dim(0) %cache0, %f : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
    %g1 = tensor.concat dim(0) %cache1, %f : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
    %a0 = memred.attention ins(%q, %g0, %g0 : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s0 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    %a1 = memred.attention ins(%a0, %g1, %g1 : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s1 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    scf.yield %g0, %g1, %a0, %a1 : tensor<?x32xf32>, tensor<?x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>
  }
  return %r#2, %r#3, %r#0 : tensor<4x32xf32>, tensor<4x32xf32>, tensor<?x32xf32>
}
