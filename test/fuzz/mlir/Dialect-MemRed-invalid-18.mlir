func.func @reduce_ranks(%q: tensor<2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10x3xf32>, %o: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %r = memred.cross_modal_reduce queries(%q : tensor<2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<4x3xf32>) recent(0.2) keep(0.25) scale(1.0) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
