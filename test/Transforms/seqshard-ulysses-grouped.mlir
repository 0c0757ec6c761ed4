// RUN: lathe-opt %s "--seqshard-ulysses=degree=2 seq-dim=0" | FileCheck %s

// Sequence-first [N, B, h] attention as PyTorch's MultiheadAttention exports
// it: [N, B, H, d] collapsed into [N, B·H, d] and transposed to [B·H, N, d],
// so the rank-3 attention has no [B, H, ...] source. Its B·H = 8 independent
// problems are scattered as heads ([8, N/P, d] read as [1, 8, N/P, d]): each
// rank gets 4 of them over the whole sequence, and the output comes back.
// CHECK-LABEL: func.func @main(
// CHECK: %[[Q:.*]] = linalg.transpose ins(%{{.*}} : tensor<4x8x4xf32>) outs(%{{.*}} : tensor<8x4x4xf32>) permutation = [1, 0, 2]
// CHECK: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [1, 8, 4, 4] : tensor<8x4x4xf32> into tensor<1x8x4x4xf32>
// CHECK: %[[S:.*]] = seqshard.scatter_heads %{{.*}} on @seqshard grid_axes = [0] layout = bshd : tensor<1x4x8x4xf32> -> tensor<1x8x4x4xf32>
// CHECK-NOT: seqshard.scatter_heads
// CHECK: %[[A:.*]] = memred.attention ins(%{{.*}} : tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>)
// CHECK: seqshard.gather_heads %{{.*}} : tensor<1x8x4x4xf32> -> tensor<1x4x8x4xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2], [3]] : tensor<1x8x4x4xf32> into tensor<8x4x4xf32>
// CHECK: shard.all_gather %{{.*}} on @seqshard grid_axes = [0] gather_axis = 0 : tensor<4x2x16xf32> -> tensor<8x2x16xf32>
func.func @main(%x: tensor<8x2x16xf32>) -> tensor<8x2x16xf32> {
  %e4 = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [8, 2, 4, 4] : tensor<8x2x16xf32> into tensor<8x2x4x4xf32>
  %g = tensor.collapse_shape %e4 [[0], [1, 2], [3]] : tensor<8x2x4x4xf32> into tensor<8x8x4xf32>
  %t0 = tensor.empty() : tensor<8x8x4xf32>
  %q = linalg.transpose ins(%g : tensor<8x8x4xf32>) outs(%t0 : tensor<8x8x4xf32>) permutation = [1, 0, 2]
  %i = tensor.empty() : tensor<8x8x4xf32>
  %a = memred.attention ins(%q, %q, %q : tensor<8x8x4xf32>, tensor<8x8x4xf32>, tensor<8x8x4xf32>) outs(%i : tensor<8x8x4xf32>) scale(0.5) -> tensor<8x8x4xf32>
  %t1 = tensor.empty() : tensor<8x8x4xf32>
  %o = linalg.transpose ins(%a : tensor<8x8x4xf32>) outs(%t1 : tensor<8x8x4xf32>) permutation = [1, 0, 2]
  %o4 = tensor.expand_shape %o [[0], [1, 2], [3]] output_shape [8, 2, 4, 4] : tensor<8x8x4xf32> into tensor<8x2x4x4xf32>
  %r = tensor.collapse_shape %o4 [[0], [1], [2, 3]] : tensor<8x2x4x4xf32> into tensor<8x2x16xf32>
  return %r : tensor<8x2x16xf32>
}
