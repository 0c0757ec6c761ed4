// RUN: lathe-opt %s --split-input-file "--seqshard-ulysses=degree=2 gather-results=false" --verify-diagnostics | FileCheck %s

// gather-results=false: each rank returns its block of the sequence (no
// all-gather); seqshard.sharded_results names its dimension per result (-1:
// a whole result).
// CHECK-LABEL: func.func @main(
// CHECK-SAME: -> (tensor<2x4x16xf32>, tensor<16xf32>) attributes {seqshard.sharded_results = array<i64: 1, -1>}
// CHECK-NOT: shard.all_gather
// CHECK: return %{{.*}}, %{{.*}} : tensor<2x4x16xf32>, tensor<16xf32>
func.func @main(%x: tensor<2x8x16xf32>, %w: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<16xf32>) {
  %e = tensor.empty() : tensor<2x8x16xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, n, c) -> (b, n, c)>, affine_map<(b, n, c) -> (c)>, affine_map<(b, n, c) -> (b, n, c)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %w : tensor<2x8x16xf32>, tensor<16xf32>) outs(%e : tensor<2x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.mulf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x8x16xf32>
  return %y, %w : tensor<2x8x16xf32>, tensor<16xf32>
}

// -----

// A sequence merged with the batch is a strided part of the rows, not a
// block of them.
func.func @main(%x: tensor<2x8x16xf32>) -> tensor<16x16xf32> {
  %rows = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>
  // expected-error @+1 {{seqshard-ulysses: result #0 merges the sequence with other dimensions; it cannot stay sharded (gather-results=true gathers it)}}
  return %rows : tensor<16x16xf32>
}
