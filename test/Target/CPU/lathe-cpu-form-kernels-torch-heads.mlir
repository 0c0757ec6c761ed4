// RUN: lathe-opt %s --pass-pipeline="builtin.module(func.func(lathe-cpu-form-kernels))" | FileCheck %s
// RUN: lathe-opt %s --lathe-cpu-pipeline -o /dev/null

// Multi-head attention as lathe-import-onnx spells PyTorch's exported
// nn.MultiheadAttention (batch_first; B 2, S 6, D 8, 2 heads of 4): the input
// is transposed to sequence-first [S, B, D], one fused q/k/v projection is
// cut by Slice generics, heads are split by flatten + reshape to [S, B*H, Dh]
// and rank-3 transposes, q is divided by sqrt(Dh) (a 0-d tensor), and the
// context goes back through the inverse reshapes and transposes before the
// residual add on [B, S, D]. The data movement is recognised for what it
// computes: the projection runs on x's own rows, q/k/v are strided slices of
// its result read through permutations, the context is written in the
// [B, S, H, Dh] layout, and the residual add becomes a post-op. No transpose
// and no generic (copy) is left.

#row = affine_map<(d0, d1) -> (d1)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#scalar = affine_map<(d0, d1, d2) -> ()>
#lhs = affine_map<(d0, d1, d2) -> (d0, d2)>
#rhsT = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d1)>

// CHECK-LABEL: func.func @torch_heads
// CHECK-SAME: (%[[X:.*]]: tensor<2x6x8xf32>, %[[WIN:.*]]: tensor<8x24xf32>, %[[BIN:.*]]: tensor<24xf32>, %[[WO:.*]]: tensor<8x8xf32>, %[[BO:.*]]: tensor<8xf32>)
func.func @torch_heads(%x: tensor<2x6x8xf32>, %win: tensor<8x24xf32>, %bin: tensor<24xf32>,
                       %wo: tensor<8x8xf32>, %bo: tensor<8xf32>) -> tensor<2x6x8xf32> {
  %zero = arith.constant 0.0 : f32
  %sqrt_dh = arith.constant dense<2.0> : tensor<f32>
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  // The projection reads x's rows in place: no transpose of the input.
  // CHECK: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x6x8xf32> into tensor<12x8xf32>
  // CHECK: %[[P:.*]] = lathe.matmul ins(%[[X2]], %[[WIN]] : tensor<12x8xf32>, tensor<8x24xf32>) bias(%[[BIN]] : tensor<24xf32>)
  %ex = tensor.empty() : tensor<6x2x8xf32>
  %xt = linalg.transpose ins(%x : tensor<2x6x8xf32>) outs(%ex : tensor<6x2x8xf32>) permutation = [1, 0, 2]
  %xs = tensor.collapse_shape %xt [[0, 1], [2]] : tensor<6x2x8xf32> into tensor<12x8xf32>
  %ep = tensor.empty() : tensor<12x24xf32>
  %fp = linalg.fill ins(%zero : f32) outs(%ep : tensor<12x24xf32>) -> tensor<12x24xf32>
  %mp = linalg.matmul ins(%xs, %win : tensor<12x8xf32>, tensor<8x24xf32>) outs(%fp : tensor<12x24xf32>) -> tensor<12x24xf32>
  %pb = linalg.generic {indexing_maps = [#row, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%bin, %mp : tensor<24xf32>, tensor<12x24xf32>) outs(%ep : tensor<12x24xf32>) {
  ^bb0(%b: f32, %a: f32, %o: f32):
    %s = arith.addf %b, %a : f32
    linalg.yield %s : f32
  } -> tensor<12x24xf32>
  %p3 = tensor.expand_shape %pb [[0, 1], [2]] output_shape [6, 2, 24] : tensor<12x24xf32> into tensor<6x2x24xf32>
  // q, k and v: slices of the projection seen as [B, S, 3, H, Dh].
  // CHECK: %[[P5:.*]] = tensor.expand_shape %[[P]] {{\[}}[0, 1], [2, 3, 4]] output_shape [2, 6, 3, 2, 4]
  // CHECK-DAG: %[[Q:.*]] = tensor.extract_slice %[[P5]][0, 0, 0, 0, 0] [2, 6, 1, 2, 4] [1, 1, 1, 1, 1] : tensor<2x6x3x2x4xf32> to tensor<2x6x2x4xf32>
  // CHECK-DAG: %[[K:.*]] = tensor.extract_slice %[[P5]][0, 0, 1, 0, 0] [2, 6, 1, 2, 4] [1, 1, 1, 1, 1] : tensor<2x6x3x2x4xf32> to tensor<2x6x2x4xf32>
  %es = tensor.empty() : tensor<6x2x8xf32>
  %q0 = linalg.generic {indexing_maps = [#id3], iterator_types = ["parallel", "parallel", "parallel"]} outs(%es : tensor<6x2x8xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %k = linalg.index 2 : index
    %e = tensor.extract %p3[%i, %j, %k] : tensor<6x2x24xf32>
    linalg.yield %e : f32
  } -> tensor<6x2x8xf32>
  %k0 = linalg.generic {indexing_maps = [#id3], iterator_types = ["parallel", "parallel", "parallel"]} outs(%es : tensor<6x2x8xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %k = linalg.index 2 : index
    %kk = arith.addi %k, %c8 : index
    %e = tensor.extract %p3[%i, %j, %kk] : tensor<6x2x24xf32>
    linalg.yield %e : f32
  } -> tensor<6x2x8xf32>
  %v0 = linalg.generic {indexing_maps = [#id3], iterator_types = ["parallel", "parallel", "parallel"]} outs(%es : tensor<6x2x8xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %k = linalg.index 2 : index
    %kk = arith.addi %k, %c16 : index
    %e = tensor.extract %p3[%i, %j, %kk] : tensor<6x2x24xf32>
    linalg.yield %e : f32
  } -> tensor<6x2x8xf32>
  %qf = tensor.collapse_shape %q0 [[0, 1, 2]] : tensor<6x2x8xf32> into tensor<96xf32>
  %qh = tensor.expand_shape %qf [[0, 1, 2]] output_shape [6, 4, 4] : tensor<96xf32> into tensor<6x4x4xf32>
  %kf = tensor.collapse_shape %k0 [[0, 1, 2]] : tensor<6x2x8xf32> into tensor<96xf32>
  %kh = tensor.expand_shape %kf [[0, 1, 2]] output_shape [6, 4, 4] : tensor<96xf32> into tensor<6x4x4xf32>
  %vf = tensor.collapse_shape %v0 [[0, 1, 2]] : tensor<6x2x8xf32> into tensor<96xf32>
  %vh = tensor.expand_shape %vf [[0, 1, 2]] output_shape [6, 4, 4] : tensor<96xf32> into tensor<6x4x4xf32>
  %eh = tensor.empty() : tensor<4x6x4xf32>
  %qt = linalg.transpose ins(%qh : tensor<6x4x4xf32>) outs(%eh : tensor<4x6x4xf32>) permutation = [1, 0, 2]
  %vt = linalg.transpose ins(%vh : tensor<6x4x4xf32>) outs(%eh : tensor<4x6x4xf32>) permutation = [1, 0, 2]
  %qs = linalg.generic {indexing_maps = [#id3, #scalar, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qt, %sqrt_dh : tensor<4x6x4xf32>, tensor<f32>) outs(%eh : tensor<4x6x4xf32>) {
  ^bb0(%a: f32, %d: f32, %o: f32):
    %r = arith.divf %a, %d : f32
    linalg.yield %r : f32
  } -> tensor<4x6x4xf32>
  %ek = tensor.empty() : tensor<4x4x6xf32>
  %kt = linalg.transpose ins(%kh : tensor<6x4x4xf32>) outs(%ek : tensor<4x4x6xf32>) permutation = [1, 2, 0]
  // Scores: [B, H, S, S] from q and k read through permutations, 1/sqrt(Dh) as alpha.
  // CHECK: %[[S:.*]] = lathe.matmul ins(%[[Q]], %[[K]] : tensor<2x6x2x4xf32>, tensor<2x6x2x4xf32>) outs(%{{.*}} : tensor<2x2x6x6xf32>)
  // CHECK-SAME: {alpha = 5.000000e-01 : f32, lhs_perm = array<i64: 0, 2, 1, 3>, rhs_perm = array<i64: 0, 2, 3, 1>}
  %e3 = tensor.empty() : tensor<4x6x6xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<4x6x6xf32>) -> tensor<4x6x6xf32>
  %sc = linalg.batch_matmul ins(%qs, %kt : tensor<4x6x4xf32>, tensor<4x4x6xf32>) outs(%f3 : tensor<4x6x6xf32>) -> tensor<4x6x6xf32>
  // CHECK: %[[S3:.*]] = tensor.collapse_shape %[[S]] {{\[}}[0, 1], [2], [3]]
  // CHECK: %[[PR:.*]] = linalg.softmax dimension(2) ins(%[[S3]]
  %pr = linalg.softmax dimension(2) ins(%sc : tensor<4x6x6xf32>) outs(%e3 : tensor<4x6x6xf32>) -> tensor<4x6x6xf32>
  // Context: written straight into the [B, S, H, Dh] layout the output projection reads.
  // CHECK: %[[PR4:.*]] = tensor.expand_shape %[[PR]] {{\[}}[0, 1], [2], [3]] output_shape [2, 2, 6, 6]
  // CHECK: %[[V:.*]] = tensor.extract_slice %{{.*}}[0, 0, 2, 0, 0] [2, 6, 1, 2, 4]
  // CHECK: %[[C:.*]] = lathe.matmul ins(%[[PR4]], %[[V]] : tensor<2x2x6x6xf32>, tensor<2x6x2x4xf32>) outs(%{{.*}} : tensor<2x6x2x4xf32>)
  // CHECK-SAME: {init_perm = array<i64: 0, 2, 1, 3>, rhs_perm = array<i64: 0, 2, 1, 3>}
  // CHECK: %[[C2:.*]] = tensor.collapse_shape %[[C]] {{\[}}[0, 1], [2, 3]] : tensor<2x6x2x4xf32> into tensor<12x8xf32>
  %fc = linalg.fill ins(%zero : f32) outs(%eh : tensor<4x6x4xf32>) -> tensor<4x6x4xf32>
  %ctx = linalg.batch_matmul ins(%pr, %vt : tensor<4x6x6xf32>, tensor<4x6x4xf32>) outs(%fc : tensor<4x6x4xf32>) -> tensor<4x6x4xf32>
  %em = tensor.empty() : tensor<6x4x4xf32>
  %cm = linalg.transpose ins(%ctx : tensor<4x6x4xf32>) outs(%em : tensor<6x4x4xf32>) permutation = [1, 0, 2]
  %cf = tensor.collapse_shape %cm [[0, 1, 2]] : tensor<6x4x4xf32> into tensor<96xf32>
  %c2 = tensor.expand_shape %cf [[0, 1]] output_shape [12, 8] : tensor<96xf32> into tensor<12x8xf32>
  // Output projection on the context rows in [B, S] order, x as the residual post-op.
  // CHECK: %[[XR:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]]
  // CHECK: %[[O:.*]] = lathe.matmul ins(%[[C2]], %[[WO]] : tensor<12x8xf32>, tensor<8x8xf32>) bias(%[[BO]] : tensor<8xf32>) residual(%[[XR]] : tensor<12x8xf32>)
  // CHECK-SAME: transpose_rhs
  %eo = tensor.empty() : tensor<12x8xf32>
  %fo = linalg.fill ins(%zero : f32) outs(%eo : tensor<12x8xf32>) -> tensor<12x8xf32>
  %mo = linalg.matmul indexing_maps = [#lhs, #rhsT, #out] ins(%c2, %wo : tensor<12x8xf32>, tensor<8x8xf32>) outs(%fo : tensor<12x8xf32>) -> tensor<12x8xf32>
  %ob = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mo, %bo : tensor<12x8xf32>, tensor<8xf32>) outs(%eo : tensor<12x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<12x8xf32>
  %o3 = tensor.expand_shape %ob [[0, 1], [2]] output_shape [6, 2, 8] : tensor<12x8xf32> into tensor<6x2x8xf32>
  %ey = tensor.empty() : tensor<2x6x8xf32>
  %ot = linalg.transpose ins(%o3 : tensor<6x2x8xf32>) outs(%ey : tensor<2x6x8xf32>) permutation = [1, 0, 2]
  %y = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %ot : tensor<2x6x8xf32>, tensor<2x6x8xf32>) outs(%ey : tensor<2x6x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x6x8xf32>
  // CHECK: %[[Y:.*]] = tensor.expand_shape %[[O]] {{\[}}[0, 1], [2]] output_shape [2, 6, 8]
  // CHECK-NOT: linalg.transpose
  // CHECK-NOT: linalg.generic
  // CHECK: return %[[Y]]
  return %y : tensor<2x6x8xf32>
}

// A slice that does not start at a multiple of the head block (columns 1..8
// of 24) is not a strided view the layouts can express: the copy stays and
// nothing is folded wrongly.
// CHECK-LABEL: func.func @unaligned_slice
func.func @unaligned_slice(%p: tensor<6x2x24xf32>, %k: tensor<4x6x4xf32>) -> tensor<4x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %es = tensor.empty() : tensor<6x2x8xf32>
  // CHECK: linalg.generic
  // CHECK: tensor.extract
  // CHECK: linalg.transpose
  // CHECK: lathe.matmul
  // CHECK-NOT: _perm
  %q0 = linalg.generic {indexing_maps = [#id3], iterator_types = ["parallel", "parallel", "parallel"]} outs(%es : tensor<6x2x8xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %kk = linalg.index 2 : index
    %k1 = arith.addi %kk, %c1 : index
    %e = tensor.extract %p[%i, %j, %k1] : tensor<6x2x24xf32>
    linalg.yield %e : f32
  } -> tensor<6x2x8xf32>
  %qf = tensor.collapse_shape %q0 [[0, 1, 2]] : tensor<6x2x8xf32> into tensor<96xf32>
  %qh = tensor.expand_shape %qf [[0, 1, 2]] output_shape [6, 4, 4] : tensor<96xf32> into tensor<6x4x4xf32>
  %eh = tensor.empty() : tensor<4x6x4xf32>
  %qt = linalg.transpose ins(%qh : tensor<6x4x4xf32>) outs(%eh : tensor<4x6x4xf32>) permutation = [1, 0, 2]
  %e3 = tensor.empty() : tensor<4x6x6xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<4x6x6xf32>) -> tensor<4x6x6xf32>
  %sc = linalg.batch_matmul indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>]
      ins(%qt, %k : tensor<4x6x4xf32>, tensor<4x6x4xf32>) outs(%f3 : tensor<4x6x6xf32>) -> tensor<4x6x6xf32>
  return %sc : tensor<4x6x6xf32>
}

// A constant-weight projection whose result is only read as equal column
// blocks (the fused q/k/v projection once folded) becomes one matmul per
// block on the weight's columns and the bias's part, each block dense.
// CHECK-LABEL: func.func @split_blocks
// CHECK-SAME: (%[[A:.*]]: tensor<4x2xf32>, %[[B:.*]]: tensor<6xf32>)
func.func @split_blocks(%a: tensor<4x2xf32>, %b: tensor<6xf32>) -> (tensor<2x2x3xf32>, tensor<2x2x3xf32>) {
  // CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<2x6xf32>
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [7.0, 8.0, 9.0, 10.0, 11.0, 12.0]]> : tensor<2x6xf32>
  %e = tensor.empty() : tensor<4x6xf32>
  %p = lathe.matmul ins(%a, %w : tensor<4x2xf32>, tensor<2x6xf32>) bias(%b : tensor<6xf32>) outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  %p4 = tensor.expand_shape %p [[0, 1], [2, 3]] output_shape [2, 2, 2, 3] : tensor<4x6xf32> into tensor<2x2x2x3xf32>
  // CHECK-DAG: %[[W0:.*]] = tensor.extract_slice %[[W]][0, 0] [2, 3] [1, 1]
  // CHECK-DAG: %[[B0:.*]] = tensor.extract_slice %[[B]][0] [3] [1]
  // CHECK-DAG: %[[W1:.*]] = tensor.extract_slice %[[W]][0, 3] [2, 3] [1, 1]
  // CHECK-DAG: %[[B1:.*]] = tensor.extract_slice %[[B]][3] [3] [1]
  // CHECK-DAG: %[[M0:.*]] = lathe.matmul ins(%[[A]], %[[W0]] : tensor<4x2xf32>, tensor<2x3xf32>) bias(%[[B0]] : tensor<3xf32>)
  // CHECK-DAG: %[[M1:.*]] = lathe.matmul ins(%[[A]], %[[W1]] : tensor<4x2xf32>, tensor<2x3xf32>) bias(%[[B1]] : tensor<3xf32>)
  // CHECK-DAG: %[[R0:.*]] = tensor.expand_shape %[[M0]] {{\[}}[0, 1], [2]] output_shape [2, 2, 3]
  // CHECK-DAG: %[[R1:.*]] = tensor.expand_shape %[[M1]] {{\[}}[0, 1], [2]] output_shape [2, 2, 3]
  // CHECK-NOT: lathe.matmul
  // CHECK: return %[[R1]], %[[R0]]
  %s1 = tensor.extract_slice %p4[0, 0, 1, 0] [2, 2, 1, 3] [1, 1, 1, 1] : tensor<2x2x2x3xf32> to tensor<2x2x3xf32>
  %s0 = tensor.extract_slice %p4[0, 0, 0, 0] [2, 2, 1, 3] [1, 1, 1, 1] : tensor<2x2x2x3xf32> to tensor<2x2x3xf32>
  return %s1, %s0 : tensor<2x2x3xf32>, tensor<2x2x3xf32>
}
