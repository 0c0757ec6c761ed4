// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(lathe-cpu-bf16-activations))' | FileCheck %s

// Unmasked attention: the softmax reads the scores' product (through a
// reshape) and only the P·V product reads its output, as its lhs: that
// product is marked `lathe.bf16_lhs` (the probabilities become bf16 after
// bufferization, lathe-cpu-lower-to-runtime); the tensors stay f32 here.
// CHECK-LABEL: func.func @unmasked
// CHECK: linalg.softmax dimension(2) ins({{.*}} : tensor<8x16x16xf32>) outs({{.*}} : tensor<8x16x16xf32>)
// CHECK: lathe.matmul ins({{.*}}) outs({{.*}} : tensor<2x4x16x8xf32>) {lathe.bf16_lhs}
func.func @unmasked(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32> {
  %e = tensor.empty() : tensor<2x4x16x16xf32>
  %s = lathe.matmul ins(%q, %k : tensor<2x4x16x8xf32>, tensor<2x4x8x16xf32>) outs(%e : tensor<2x4x16x16xf32>) {alpha = 0.5 : f32} -> tensor<2x4x16x16xf32>
  %c = tensor.collapse_shape %s [[0, 1], [2], [3]] : tensor<2x4x16x16xf32> into tensor<8x16x16xf32>
  %pe = tensor.empty() : tensor<8x16x16xf32>
  %p = linalg.softmax dimension(2) ins(%c : tensor<8x16x16xf32>) outs(%pe : tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %x = tensor.expand_shape %p [[0, 1], [2], [3]] output_shape [2, 4, 16, 16] : tensor<8x16x16xf32> into tensor<2x4x16x16xf32>
  %oe = tensor.empty() : tensor<2x4x16x8xf32>
  %o = lathe.matmul ins(%x, %v : tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32>) outs(%oe : tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  return %o : tensor<2x4x16x8xf32>
}

// -----

// A mask between the scores and the softmax (generated code): the masked
// attention kernel takes it all in f32, nothing is marked.
#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @masked
// CHECK-NOT: lathe.bf16_lhs
func.func @masked(%q: tensor<8x16x8xf32>, %k: tensor<8x8x16xf32>, %v: tensor<8x16x8xf32>, %m: tensor<8x16xi1>) -> tensor<8x16x8xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<8x16x16xf32>
  %s = lathe.matmul ins(%q, %k : tensor<8x16x8xf32>, tensor<8x8x16xf32>) outs(%e : tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %sm = linalg.generic {indexing_maps = [#map, #row, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %m : tensor<8x16x16xf32>, tensor<8x16xi1>) outs(%e : tensor<8x16x16xf32>) {
  ^bb0(%in: f32, %mask: i1, %out: f32):
    %r = arith.select %mask, %ninf, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x16x16xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<8x16x16xf32>) outs(%e : tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %oe = tensor.empty() : tensor<8x16x8xf32>
  %o = lathe.matmul ins(%p, %v : tensor<8x16x16xf32>, tensor<8x16x8xf32>) outs(%oe : tensor<8x16x8xf32>) -> tensor<8x16x8xf32>
  return %o : tensor<8x16x8xf32>
}

// -----

// The probabilities are also a result of the function: nothing is marked.
// CHECK-LABEL: func.func @probs_returned
// CHECK-NOT: lathe.bf16_lhs
func.func @probs_returned(%q: tensor<8x16x8xf32>, %k: tensor<8x8x16xf32>, %v: tensor<8x16x8xf32>) -> (tensor<8x16x8xf32>, tensor<8x16x16xf32>) {
  %e = tensor.empty() : tensor<8x16x16xf32>
  %s = lathe.matmul ins(%q, %k : tensor<8x16x8xf32>, tensor<8x8x16xf32>) outs(%e : tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x16x16xf32>) outs(%e : tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %oe = tensor.empty() : tensor<8x16x8xf32>
  %o = lathe.matmul ins(%p, %v : tensor<8x16x16xf32>, tensor<8x16x8xf32>) outs(%oe : tensor<8x16x8xf32>) -> tensor<8x16x8xf32>
  return %o, %p : tensor<8x16x8xf32>, tensor<8x16x16xf32>
}
