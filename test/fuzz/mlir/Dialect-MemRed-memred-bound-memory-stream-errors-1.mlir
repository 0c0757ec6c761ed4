func.func @read_elsewhere(%frames: tensor<8x16x32xf32>, %q: tensor<4x32xf32>) -> (tensor<4x32xf32>, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %empty = tensor.empty(%c0) : tensor<?x32xf32>
  %s = tensor.empty() : tensor<4x32xf32>
  %r:3 = scf.for %t = %c0 to %c8 step %c1 iter_args(%cache = %empty, %s0 = %s, %n = %c0) -> (tensor<?x32xf32>, tensor<4x32xf32>, index) {
    %f = tensor.extract_slice %frames[%t, 0, 0] [1, 16, 32] [1, 1, 1] : tensor<8x16x32xf32> to tensor<16x32xf32>
    %g = tensor.concat dim(0) %cache, %f : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
    %rows = tensor.dim %g, %c0 : tensor<?x32xf32>
    %a = memred.attention ins(%q, %g, %g : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s0 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    scf.yield %g, %a, %rows : tensor<?x32xf32>, tensor<4x32xf32>, index
  }
  return %r#1, %r#2 : tensor<4x32xf32>, index
}
