// RUN: lathe-opt %s --seqshard-ulysses=degree=2 | FileCheck %s

// A reduction over the sequence (a loss) runs replicated: its sharded operand
// is all-gathered along the sequence, every rank computes the same value.
// CHECK-LABEL: func.func @main(
func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x16xf32>) -> tensor<1x16xf32>
  // CHECK: %[[SLICE:.*]] = tensor.extract_slice %{{.*}} [1, 4, 16]
  // CHECK: %[[ALL:.*]] = shard.all_gather %[[SLICE]] on @seqshard grid_axes = [0] gather_axis = 1 : tensor<1x4x16xf32> -> tensor<1x8x16xf32>
  // CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[ALL]] : tensor<1x8x16xf32>)
  // CHECK: return %[[SUM]] : tensor<1x16xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(b, c, n) -> (b, n, c)>, affine_map<(b, c, n) -> (b, c)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<1x8x16xf32>) outs(%f : tensor<1x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<1x16xf32>
  return %s : tensor<1x16xf32>
}
