// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-raise-attention))' | FileCheck %s
// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-raise-attention{min-scores=1000000000}))' | FileCheck %s --check-prefix=SMALL
// SMALL-NOT: memred.attention

#q = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#k = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#s = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// K transposed by the indexing maps, a scale generic, linalg.softmax.
// CHECK-LABEL: func.func @transposed_maps
// CHECK-SAME: (%[[Q:.*]]: tensor<4x128x64xf32>, %[[K:.*]]: tensor<4x128x64xf32>, %[[V:.*]]: tensor<4x128x32xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x128x32xf32>
// CHECK: %[[O:.*]] = memred.attention ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) outs(%[[E]] : tensor<4x128x32xf32>) scale(1.250000e-01)
// CHECK-NOT: linalg.softmax
// CHECK-NOT: linalg.batch_matmul
// CHECK: return %[[O]]
func.func @transposed_maps(%q: tensor<4x128x64xf32>, %k: tensor<4x128x64xf32>, %v: tensor<4x128x32xf32>) -> tensor<4x128x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<4x128x128xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<4x128x128xf32>) -> tensor<4x128x128xf32>
  %s = linalg.batch_matmul indexing_maps = [#q, #k, #s] ins(%q, %k : tensor<4x128x64xf32>, tensor<4x128x64xf32>) outs(%f0 : tensor<4x128x128xf32>) -> tensor<4x128x128xf32>
  %e1 = tensor.empty() : tensor<4x128x128xf32>
  %x = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<4x128x128xf32>) outs(%e1 : tensor<4x128x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<4x128x128xf32>
  %e2 = tensor.empty() : tensor<4x128x128xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<4x128x128xf32>) outs(%e2 : tensor<4x128x128xf32>) -> tensor<4x128x128xf32>
  %e3 = tensor.empty() : tensor<4x128x32xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<4x128x32xf32>) -> tensor<4x128x32xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<4x128x128xf32>, tensor<4x128x32xf32>) outs(%f3 : tensor<4x128x32xf32>) -> tensor<4x128x32xf32>
  return %o : tensor<4x128x32xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d1)>

// Kᵀ from linalg.transpose (looked through), division by sqrt(d), softmax as
// max / exp / sum / divide generics.
// CHECK-LABEL: func.func @decomposed
// CHECK-SAME: (%[[Q:.*]]: tensor<2x16x8xf32>, %[[K:.*]]: tensor<2x16x8xf32>, %[[V:.*]]: tensor<2x16x8xf32>)
// CHECK: memred.attention ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) outs(%{{.*}} : tensor<2x16x8xf32>) scale(2.500000e-01)
// CHECK-NOT: math.exp
func.func @decomposed(%q: tensor<2x16x8xf32>, %k: tensor<2x16x8xf32>, %v: tensor<2x16x8xf32>) -> tensor<2x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %four = arith.constant 4.0 : f32
  %et = tensor.empty() : tensor<2x8x16xf32>
  %kt = linalg.transpose ins(%k : tensor<2x16x8xf32>) outs(%et : tensor<2x8x16xf32>) permutation = [0, 2, 1]
  %e0 = tensor.empty() : tensor<2x16x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%f0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %x = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<2x16x16xf32>) outs(%e0 : tensor<2x16x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.divf %in, %four : f32
    linalg.yield %m : f32
  } -> tensor<2x16x16xf32>
  %er = tensor.empty() : tensor<2x16xf32>
  %fm = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x16xf32>) -> tensor<2x16xf32>
  %max = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x16x16xf32>) outs(%fm : tensor<2x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  } -> tensor<2x16xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %max : tensor<2x16x16xf32>, tensor<2x16xf32>) outs(%e0 : tensor<2x16x16xf32>) {
  ^bb0(%in: f32, %mx: f32, %out: f32):
    %d = arith.subf %in, %mx : f32
    %y = math.exp %d : f32
    linalg.yield %y : f32
  } -> tensor<2x16x16xf32>
  %fs = linalg.fill ins(%zero : f32) outs(%er : tensor<2x16xf32>) -> tensor<2x16xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x16x16xf32>) outs(%fs : tensor<2x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<2x16xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x16x16xf32>, tensor<2x16xf32>) outs(%e0 : tensor<2x16x16xf32>) {
  ^bb0(%in: f32, %sm: f32, %out: f32):
    %d = arith.divf %in, %sm : f32
    linalg.yield %d : f32
  } -> tensor<2x16x16xf32>
  %e3 = tensor.empty() : tensor<2x16x8xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x16x16xf32>, tensor<2x16x8xf32>) outs(%f3 : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  return %o : tensor<2x16x8xf32>
}

// -----

// Kᵀ given as is (a function argument): a transpose to K is inserted; no
// scale generic: scale 1.
// CHECK-LABEL: func.func @kt_argument
// CHECK-SAME: (%[[Q:.*]]: tensor<2x16x8xf32>, %[[KT:.*]]: tensor<2x8x16xf32>, %[[V:.*]]: tensor<2x16x8xf32>)
// CHECK: %[[K:.*]] = linalg.transpose ins(%[[KT]] : tensor<2x8x16xf32>) outs(%{{.*}} : tensor<2x16x8xf32>) permutation = [0, 2, 1]
// CHECK: memred.attention ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) scale(1.000000e+00)
func.func @kt_argument(%q: tensor<2x16x8xf32>, %kt: tensor<2x8x16xf32>, %v: tensor<2x16x8xf32>) -> tensor<2x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<2x16x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%f0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x16x16xf32>) outs(%e0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %e3 = tensor.empty() : tensor<2x16x8xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x16x16xf32>, tensor<2x16x8xf32>) outs(%f3 : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  return %o : tensor<2x16x8xf32>
}

// -----

// Refusals: the probabilities are also returned (the score matrix must
// exist), the softmax is over the query axis, the accumulator is not zero.
// CHECK-LABEL: func.func @probs_escape
// CHECK-NOT: memred.attention
// CHECK: linalg.softmax
// CHECK-LABEL: func.func @wrong_axis
// CHECK-NOT: memred.attention
// CHECK: linalg.softmax dimension(1)
// CHECK-LABEL: func.func @nonzero_init
// CHECK-NOT: memred.attention
// CHECK: return
func.func @probs_escape(%q: tensor<2x16x8xf32>, %kt: tensor<2x8x16xf32>, %v: tensor<2x16x8xf32>) -> (tensor<2x16x8xf32>, tensor<2x16x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<2x16x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%f0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x16x16xf32>) outs(%e0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %e3 = tensor.empty() : tensor<2x16x8xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x16x16xf32>, tensor<2x16x8xf32>) outs(%f3 : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  return %o, %p : tensor<2x16x8xf32>, tensor<2x16x16xf32>
}
func.func @wrong_axis(%q: tensor<2x16x8xf32>, %kt: tensor<2x8x16xf32>, %v: tensor<2x16x8xf32>) -> tensor<2x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<2x16x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%f0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<2x16x16xf32>) outs(%e0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %e3 = tensor.empty() : tensor<2x16x8xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x16x16xf32>, tensor<2x16x8xf32>) outs(%f3 : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  return %o : tensor<2x16x8xf32>
}
func.func @nonzero_init(%q: tensor<2x16x8xf32>, %kt: tensor<2x8x16xf32>, %v: tensor<2x16x8xf32>, %acc: tensor<2x16x8xf32>) -> tensor<2x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<2x16x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%f0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x16x16xf32>) outs(%e0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x16x16xf32>, tensor<2x16x8xf32>) outs(%acc : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  return %o : tensor<2x16x8xf32>
}

// -----

#a = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#b = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// The ONNX importer's spelling: matmul-shaped generics, Q pre-scaled (so the
// op's scale is 1), a dynamic batch, Kᵀ made by a transpose of another shape.
// CHECK-LABEL: func.func @onnx_generics
// CHECK-SAME: (%[[Q:.*]]: tensor<?x12x64xf32>, %[[KT:.*]]: tensor<?x64x12xf32>, %[[V:.*]]: tensor<?x12x64xf32>, %[[N:.*]]: index)
// CHECK: %[[K:.*]] = linalg.transpose ins(%[[KT]] : tensor<?x64x12xf32>) outs(%{{.*}} : tensor<?x12x64xf32>) permutation = [0, 2, 1]
// CHECK: memred.attention ins(%[[Q]], %[[K]], %[[V]] : tensor<?x12x64xf32>, tensor<?x12x64xf32>, tensor<?x12x64xf32>) outs(%{{.*}} : tensor<?x12x64xf32>) scale(1.000000e+00)
// CHECK-NOT: linalg.generic
func.func @onnx_generics(%q: tensor<?x12x64xf32>, %kt: tensor<?x64x12xf32>, %v: tensor<?x12x64xf32>, %n: index) -> tensor<?x12x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty(%n) : tensor<?x12x12xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<?x12x12xf32>) -> tensor<?x12x12xf32>
  %s = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %kt : tensor<?x12x64xf32>, tensor<?x64x12xf32>) outs(%f0 : tensor<?x12x12xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %m = arith.mulf %in, %in_1 : f32
    %a = arith.addf %out, %m : f32
    linalg.yield %a : f32
  } -> tensor<?x12x12xf32>
  %e1 = tensor.empty(%n) : tensor<?x12x12xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<?x12x12xf32>) outs(%e1 : tensor<?x12x12xf32>) -> tensor<?x12x12xf32>
  %e2 = tensor.empty(%n) : tensor<?x12x64xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x12x64xf32>) -> tensor<?x12x64xf32>
  %o = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<?x12x12xf32>, tensor<?x12x64xf32>) outs(%f2 : tensor<?x12x64xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %m = arith.mulf %in, %in_1 : f32
    %a = arith.addf %out, %m : f32
    linalg.yield %a : f32
  } -> tensor<?x12x64xf32>
  return %o : tensor<?x12x64xf32>
}

// -----

#qk = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#scalar = affine_map<(d0, d1, d2, d3) -> ()>
#mask = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#pair = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>

// The ONNX importer's multi-head spelling (PyTorch's q @ kᵀ / sqrt(d) +
// mask): [B·H, L, L] products reshaped to [B, H, L, L] for a division by a
// 0-d constant, a causal mask [L, L] and a pair bias [B, 1, L, L] added by
// broadcasting generics, softmax over the last dim, and back to [B·H, L, L].
// The op is built in the [B, H, ...] shape with the biases expanded to rank
// 4 (size-1 broadcast dims), its output collapsed back to [B·H, L, Dv].
// CHECK-LABEL: func.func @split_heads_with_biases
// CHECK-SAME: (%[[Q:.*]]: tensor<6x16x8xf32>, %[[KT:.*]]: tensor<6x8x16xf32>, %[[V:.*]]: tensor<6x16x8xf32>, %[[MASK:.*]]: tensor<16x16xf32>, %[[PAIR:.*]]: tensor<2x1x16x16xf32>)
// CHECK: %[[M4:.*]] = tensor.expand_shape %[[MASK]] {{\[\[}}0, 1, 2], [3]] output_shape [1, 1, 16, 16]
// CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[\[}}0, 1], [2], [3]] output_shape [2, 3, 16, 8]
// CHECK-DAG: %[[V4:.*]] = tensor.expand_shape %[[V]] {{\[\[}}0, 1], [2], [3]] output_shape [2, 3, 16, 8]
// CHECK: %[[O:.*]] = memred.attention ins(%[[Q4]], %{{.*}}, %[[V4]] : tensor<2x3x16x8xf32>, tensor<2x3x16x8xf32>, tensor<2x3x16x8xf32>)
// CHECK-SAME: biases(%[[M4]], %[[PAIR]] : tensor<1x1x16x16xf32>, tensor<2x1x16x16xf32>)
// CHECK-SAME: scale(0.353553385)
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[O]] {{\[\[}}0, 1], [2], [3]] : tensor<2x3x16x8xf32> into tensor<6x16x8xf32>
// CHECK: return %[[R]]
// CHECK-NOT: linalg.softmax
func.func @split_heads_with_biases(%q: tensor<6x16x8xf32>, %kt: tensor<6x8x16xf32>, %v: tensor<6x16x8xf32>,
                                   %mask: tensor<16x16xf32>, %pair: tensor<2x1x16x16xf32>) -> tensor<6x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<6x16x16xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<6x16x16xf32>) -> tensor<6x16x16xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<6x16x8xf32>, tensor<6x8x16xf32>) outs(%f0 : tensor<6x16x16xf32>) -> tensor<6x16x16xf32>
  %c = tensor.collapse_shape %s [[0, 1, 2]] : tensor<6x16x16xf32> into tensor<1536xf32>
  %s4 = tensor.expand_shape %c [[0, 1, 2, 3]] output_shape [2, 3, 16, 16] : tensor<1536xf32> into tensor<2x3x16x16xf32>
  %sqrt = arith.constant dense<2.82842708> : tensor<f32>
  %e1 = tensor.empty() : tensor<2x3x16x16xf32>
  %scaled = linalg.generic {indexing_maps = [#qk, #scalar, #qk], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s4, %sqrt : tensor<2x3x16x16xf32>, tensor<f32>) outs(%e1 : tensor<2x3x16x16xf32>) {
  ^bb0(%in: f32, %d: f32, %out: f32):
    %r = arith.divf %in, %d : f32
    linalg.yield %r : f32
  } -> tensor<2x3x16x16xf32>
  %e2 = tensor.empty() : tensor<2x3x16x16xf32>
  %masked = linalg.generic {indexing_maps = [#qk, #mask, #qk], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%scaled, %mask : tensor<2x3x16x16xf32>, tensor<16x16xf32>) outs(%e2 : tensor<2x3x16x16xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %r = arith.addf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x3x16x16xf32>
  %e3 = tensor.empty() : tensor<2x3x16x16xf32>
  %biased = linalg.generic {indexing_maps = [#pair, #qk, #qk], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%pair, %masked : tensor<2x1x16x16xf32>, tensor<2x3x16x16xf32>) outs(%e3 : tensor<2x3x16x16xf32>) {
  ^bb0(%b: f32, %in: f32, %out: f32):
    %r = arith.addf %b, %in : f32
    linalg.yield %r : f32
  } -> tensor<2x3x16x16xf32>
  %e4 = tensor.empty() : tensor<2x3x16x16xf32>
  %p4 = linalg.softmax dimension(3) ins(%biased : tensor<2x3x16x16xf32>) outs(%e4 : tensor<2x3x16x16xf32>) -> tensor<2x3x16x16xf32>
  %c2 = tensor.collapse_shape %p4 [[0, 1, 2, 3]] : tensor<2x3x16x16xf32> into tensor<1536xf32>
  %p = tensor.expand_shape %c2 [[0, 1, 2]] output_shape [6, 16, 16] : tensor<1536xf32> into tensor<6x16x16xf32>
  %e5 = tensor.empty() : tensor<6x16x8xf32>
  %f5 = linalg.fill ins(%zero : f32) outs(%e5 : tensor<6x16x8xf32>) -> tensor<6x16x8xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<6x16x16xf32>, tensor<6x16x8xf32>) outs(%f5 : tensor<6x16x8xf32>) -> tensor<6x16x8xf32>
  return %o : tensor<6x16x8xf32>
}
