// RUN: lathe-opt %s --seqshard-ulysses="degree=2 seq-dim=0" | FileCheck %s

// Sequence-first [N, B, h] (seq-dim = 0) with attention written as linalg
// (batch_matmul Q·Kᵀ, scale, softmax, ·V on [B·H, N, D]), raised to
// memred.attention first; the output is gathered along dimension 0 directly.
#k = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#q = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#s = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<8x1x16xf32>) -> tensor<8x1x16xf32>
// CHECK: tensor.extract_slice %[[X]][%{{.*}}, 0, 0] [4, 1, 16] [1, 1, 1] : tensor<8x1x16xf32> to tensor<4x1x16xf32>
// CHECK: seqshard.scatter_heads %{{.*}} on @seqshard grid_axes = [0] layout = bshd : tensor<1x4x2x8xf32> -> tensor<1x8x1x8xf32>
// CHECK: memred.attention ins({{.*}} : tensor<1x1x8x8xf32>, tensor<1x1x8x8xf32>, tensor<1x1x8x8xf32>) outs(%{{.*}} : tensor<1x1x8x8xf32>) scale(1.250000e-01)
// CHECK-NOT: linalg.softmax
// CHECK: seqshard.gather_heads %{{.*}} : tensor<1x8x1x8xf32> -> tensor<1x4x2x8xf32>
// CHECK: %[[G:.*]] = shard.all_gather %{{.*}} on @seqshard grid_axes = [0] gather_axis = 0 : tensor<4x1x16xf32> -> tensor<8x1x16xf32>
// CHECK: return %[[G]]
func.func @main(%x: tensor<8x1x16xf32>) -> tensor<8x1x16xf32> {
  %zero = arith.constant 0.0 : f32
  %x4 = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [8, 1, 2, 8] : tensor<8x1x16xf32> into tensor<8x1x2x8xf32>
  %e4 = tensor.empty() : tensor<1x2x8x8xf32>
  %t = linalg.transpose ins(%x4 : tensor<8x1x2x8xf32>) outs(%e4 : tensor<1x2x8x8xf32>) permutation = [1, 2, 0, 3]
  %q = tensor.collapse_shape %t [[0, 1], [2], [3]] : tensor<1x2x8x8xf32> into tensor<2x8x8xf32>
  %e0 = tensor.empty() : tensor<2x8x8xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %s = linalg.batch_matmul indexing_maps = [#q, #k, #s] ins(%q, %q : tensor<2x8x8xf32>, tensor<2x8x8xf32>) outs(%f0 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %e1 = tensor.empty() : tensor<2x8x8xf32>
  %sc = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<2x8x8xf32>) outs(%e1 : tensor<2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<2x8x8xf32>
  %e2 = tensor.empty() : tensor<2x8x8xf32>
  %p = linalg.softmax dimension(2) ins(%sc : tensor<2x8x8xf32>) outs(%e2 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %e3 = tensor.empty() : tensor<2x8x8xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %o = linalg.batch_matmul ins(%p, %q : tensor<2x8x8xf32>, tensor<2x8x8xf32>) outs(%f3 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %o4 = tensor.expand_shape %o [[0, 1], [2], [3]] output_shape [1, 2, 8, 8] : tensor<2x8x8xf32> into tensor<1x2x8x8xf32>
  %e5 = tensor.empty() : tensor<8x1x2x8xf32>
  %ot = linalg.transpose ins(%o4 : tensor<1x2x8x8xf32>) outs(%e5 : tensor<8x1x2x8xf32>) permutation = [2, 0, 1, 3]
  %r = tensor.collapse_shape %ot [[0], [1], [2, 3]] : tensor<8x1x2x8xf32> into tensor<8x1x16xf32>
  return %r : tensor<8x1x16xf32>
}
