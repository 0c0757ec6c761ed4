func.func @rank3(%frames: tensor<8x16x2x16xf32>) -> tensor<?x2x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %empty = tensor.empty(%c0) : tensor<?x2x16xf32>
  %r = scf.for %t = %c0 to %c8 step %c1 iter_args(%cache = %empty) -> (tensor<?x2x16xf32>) {
    %f = tensor.extract_slice %frames[%t, 0, 0, 0] [1, 16, 2, 16] [1, 1, 1, 1] : tensor<8x16x2x16xf32> to tensor<16x2x16xf32>
    %g = tensor.concat dim(0) %cache, %f : (tensor<?x2x16xf32>, tensor<16x2x16xf32>) -> tensor<?x2x16xf32>
    scf.yield %g : tensor<?x2x16xf32>
  }
  return %r : tensor<?x2x16xf32>
}
