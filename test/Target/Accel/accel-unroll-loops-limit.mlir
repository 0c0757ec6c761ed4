// RUN: lathe-opt %s --accel-unroll-loops=max-trip-count=4 -verify-diagnostics -o /dev/null
// A loop longer than the limit is an error naming it and the limit (the
// engine program would hold a copy of the body per iteration).

func.func @long(%a: tensor<2xf32>) -> tensor<2xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  // expected-error @+1 {{'scf.for' op runs 5 iterations, more than accel-unroll-loops unrolls (max-trip-count = 4)}}
  %r = scf.for %i = %c0 to %c5 step %c1 iter_args(%x = %a) -> (tensor<2xf32>) {
    %s = arith.addf %x, %x : tensor<2xf32>
    scf.yield %s : tensor<2xf32>
  }
  return %r : tensor<2xf32>
}
