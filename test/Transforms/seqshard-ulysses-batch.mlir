// RUN: lathe-opt %s --split-input-file --seqshard-ulysses=degree=2 | FileCheck %s

// Batch-first [B, N, h] with batch 2, the batch merged into the rows of a
// matmul (as the ONNX importer writes a Linear): the rank holds [B, N/P, h],
// collapsed into [B * N/P, h] rows; expanding them back gives [B, N/P, h]
// again, and the returned value is all-gathered along the sequence.
// CHECK-LABEL: func.func @main(
// CHECK: %[[X:.*]] = tensor.extract_slice %{{.*}}[0, %{{.*}}, 0] [2, 4, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<2x4x16xf32>
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x4x16xf32> into tensor<8x16xf32>
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[ROWS]], %{{.*}} : tensor<8x16xf32>, tensor<16x16xf32>) outs(%{{.*}} : tensor<8x16xf32>)
// CHECK: %[[Y:.*]] = tensor.expand_shape %[[MM]] {{\[}}[0, 1], [2]] output_shape [2, 4, 16] : tensor<8x16xf32> into tensor<2x4x16xf32>
// CHECK: shard.all_gather %{{.*}} on @seqshard grid_axes = [0] gather_axis = 0 : tensor<4x2x16xf32> -> tensor<8x2x16xf32>
func.func @main(%x: tensor<2x8x16xf32>, %w: tensor<16x16xf32>) -> tensor<2x8x16xf32> {
  %c0 = arith.constant 0.0 : f32
  %rows = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>
  %e = tensor.empty() : tensor<16x16xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %mm = linalg.matmul ins(%rows, %w : tensor<16x16xf32>, tensor<16x16xf32>) outs(%z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %y = tensor.expand_shape %mm [[0, 1], [2]] output_shape [2, 8, 16] : tensor<16x16xf32> into tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

// A value returned while merged: [B * N/P, h] is split into [B, N/P, 1, h],
// gathered along the sequence and merged again.
// CHECK-LABEL: func.func @main(
// CHECK: %[[MM:.*]] = linalg.matmul ins(%{{.*}} : tensor<8x16xf32>, tensor<16x16xf32>)
// CHECK: %[[S:.*]] = tensor.expand_shape %[[MM]] {{\[}}[0, 1, 2], [3]] output_shape [2, 4, 1, 16] : tensor<8x16xf32> into tensor<2x4x1x16xf32>
// CHECK: %[[G:.*]] = shard.all_gather %{{.*}} on @seqshard grid_axes = [0] gather_axis = 0 : tensor<4x2x1x16xf32> -> tensor<8x2x1x16xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2], [3]] : tensor<2x8x1x16xf32> into tensor<16x16xf32>
func.func @main(%x: tensor<2x8x16xf32>, %w: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %c0 = arith.constant 0.0 : f32
  %rows = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>
  %e = tensor.empty() : tensor<16x16xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %mm = linalg.matmul ins(%rows, %w : tensor<16x16xf32>, tensor<16x16xf32>) outs(%z : tensor<16x16xf32>) -> tensor<16x16xf32>
  return %mm : tensor<16x16xf32>
}

// -----

// The importer's forms: a reshape through a flat tensor ([B, N, 3h] ->
// [B·N·3h] -> [B·N, 3h]) and Split as a copy with constant offsets (here
// the second third), which becomes the extract_slice it is and keeps the
// sequence.
// CHECK-LABEL: func.func @main(
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<2x4x48xf32> into tensor<8x48xf32>
// CHECK: %[[K:.*]] = tensor.extract_slice %{{.*}}[0, 0, 16] [2, 4, 16] [1, 1, 1] : tensor<2x4x48xf32> to tensor<2x4x16xf32>
// CHECK-NOT: linalg.generic
// CHECK: shard.all_gather
func.func @main(%x: tensor<2x8x48xf32>) -> (tensor<16x48xf32>, tensor<2x8x16xf32>) {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %flat = tensor.collapse_shape %x [[0, 1, 2]] : tensor<2x8x48xf32> into tensor<768xf32>
  %rows = tensor.expand_shape %flat [[0, 1]] output_shape [16, 48] : tensor<768xf32> into tensor<16x48xf32>
  %e = tensor.empty() : tensor<2x8x16xf32>
  %k = linalg.generic {indexing_maps = [affine_map<(b, n, c) -> (b, n, c)>], iterator_types = ["parallel", "parallel", "parallel"]} outs(%e : tensor<2x8x16xf32>) {
  ^bb0(%out: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %m = arith.muli %i2, %c1 : index
    %a = arith.addi %c16, %m : index
    %v = tensor.extract %x[%i0, %i1, %a] : tensor<2x8x48xf32>
    linalg.yield %v : f32
  } -> tensor<2x8x16xf32>
  return %rows, %k : tensor<16x48xf32>, tensor<2x8x16xf32>
}
