func.func @not_a_cache(%x: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %r = scf.for %t = %c0 to %c8 step %c1 iter_args(%a = %x) -> (tensor<?x32xf32>) {
    %b = tensor.cast %a : tensor<?x32xf32> to tensor<?x32xf32>
    scf.yield %b : tensor<?x32xf32>
  }
  return %r : tensor<?x32xf32>
}
