func.func @insert_slice(%frames: tensor<8x16x32xf32>, %q: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %empty = tensor.empty(%c0) : tensor<?x32xf32>
  %s = tensor.empty() : tensor<4x32xf32>
  %r:2 = scf.for %t = %c0 to %c8 step %c1 iter_args(%cache = %empty, %s0 = %s) -> (tensor<?x32xf32>, tensor<4x32xf32>) {
    %f = tensor.extract_slice %frames[%t, 0, 0] [1, 16, 32] [1, 1, 1] : tensor<8x16x32xf32> to tensor<16x32xf32>
    %n = tensor.dim %cache, %c0 : tensor<?x32xf32>
    %m = arith.addi %n, %c16 : index
    %big = tensor.empty(%m) : tensor<?x32xf32>
    %a1 = tensor.insert_slice %cache into %big[0, 0] [%n, 32] [1, 1] : tensor<?x32xf32> into tensor<?x32xf32>
    %g = tensor.insert_slice %f into %a1[%n, 0] [16, 32] [1, 1] : tensor<16x32xf32> into tensor<?x32xf32>
    %a = memred.attention ins(%q, %g, %g : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s0 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    scf.yield %g, %a : tensor<?x32xf32>, tensor<4x32xf32>
  }
  return %r#1 : tensor<4x32xf32>
}
