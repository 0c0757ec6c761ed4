// RUN: lathe-opt --lathe-raise-generics --split-input-file %s | FileCheck %s

// A 5-D contraction bshd,hdk->bsk (an attention output projection): the
// operands' dimensions are already grouped, so only reshapes surround one
// linalg.matmul.
// CHECK-LABEL: func.func @proj5d
// CHECK-SAME: %[[X:[^:]+]]: tensor<2x16x4x8xf32>, %[[W:[^:]+]]: tensor<4x8x32xf32>
// CHECK-DAG: %[[A:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2, 3]] : tensor<2x16x4x8xf32> into tensor<32x32xf32>
// CHECK-DAG: %[[B:.*]] = tensor.collapse_shape %[[W]] {{\[}}[0, 1], [2]] : tensor<4x8x32xf32> into tensor<32x32xf32>
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[A]], %[[B]] : tensor<32x32xf32>, tensor<32x32xf32>)
// CHECK: %[[R:.*]] = tensor.expand_shape %[[MM]] {{\[}}[0, 1], [2]] output_shape [2, 16, 32]
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @proj5d(%x: tensor<2x16x4x8xf32>, %w: tensor<4x8x32xf32>) -> tensor<2x16x32xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x16x32xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(b, s, k, h, d) -> (b, s, h, d)>, affine_map<(b, s, k, h, d) -> (h, d, k)>, affine_map<(b, s, k, h, d) -> (b, s, k)>], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : tensor<2x16x4x8xf32>, tensor<4x8x32xf32>) outs(%f : tensor<2x16x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %b, %a : f32
    %s = arith.addf %m, %o : f32
    linalg.yield %s : f32
  } -> tensor<2x16x32xf32>
  return %r : tensor<2x16x32xf32>
}

// -----

// A transposed rhs is read through the matmul's indexing maps (MLIR 22's
// own specialization would build a default-map matmul that does not verify).
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[RHST:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @matmul_transposed_rhs
// CHECK: linalg.matmul indexing_maps = [#[[LHS]], #[[RHST]], #[[OUT]]] ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<5x8xf32>)
// CHECK-NOT: linalg.generic
func.func @matmul_transposed_rhs(%x: tensor<4x8xf32>, %w: tensor<5x8xf32>, %c: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x8xf32>, tensor<5x8xf32>) outs(%c : tensor<4x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x5xf32>
  return %r : tensor<4x5xf32>
}

// -----

// The default matmul maps go through upstream's specialization.
// CHECK-LABEL: func.func @matmul_default
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<8x5xf32>) outs(%{{.*}} : tensor<4x5xf32>)
// CHECK-NOT: linalg.generic
func.func @matmul_default(%x: tensor<4x8xf32>, %w: tensor<8x5xf32>, %c: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x8xf32>, tensor<8x5xf32>) outs(%c : tensor<4x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x5xf32>
  return %r : tensor<4x5xf32>
}

// -----

// Batched, with a transposed lhs: batch_matmul with maps.
// CHECK-DAG: #[[LHST:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @batch_transposed_lhs
// CHECK: linalg.batch_matmul indexing_maps = [#[[LHST]], #[[RHS]], #[[OUT]]] ins(%{{.*}}, %{{.*}} : tensor<2x8x4xf32>, tensor<2x8x5xf32>)
// CHECK-NOT: linalg.generic
func.func @batch_transposed_lhs(%x: tensor<2x8x4xf32>, %w: tensor<2x8x5xf32>, %c: tensor<2x4x5xf32>) -> tensor<2x4x5xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (b, k, m)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x8x4xf32>, tensor<2x8x5xf32>) outs(%c : tensor<2x4x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x4x5xf32>
  return %r : tensor<2x4x5xf32>
}

// -----

// Operands whose dimensions are not grouped are transposed first; a result
// in another order is transposed back. Two batch dimensions become one.
// CHECK-LABEL: func.func @ungrouped
// CHECK-SAME: %[[X:[^:]+]]: tensor<3x2x6x4xf32>, %[[W:[^:]+]]: tensor<2x3x6x5xf32>
// CHECK: %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<3x2x6x4xf32>) outs(%{{.*}} : tensor<2x3x4x6xf32>) permutation = [1, 0, 3, 2]
// CHECK: %[[A:.*]] = tensor.collapse_shape %[[XT]] {{\[}}[0, 1], [2], [3]] : tensor<2x3x4x6xf32> into tensor<6x4x6xf32>
// CHECK: %[[B:.*]] = tensor.collapse_shape %[[W]] {{\[}}[0, 1], [2], [3]] : tensor<2x3x6x5xf32> into tensor<6x6x5xf32>
// CHECK: %[[CT:.*]] = linalg.transpose ins(%{{.*}} : tensor<5x2x3x4xf32>) outs(%{{.*}} : tensor<2x3x4x5xf32>) permutation = [1, 2, 3, 0]
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[CT]]
// CHECK: %[[MM:.*]] = linalg.batch_matmul ins(%[[A]], %[[B]] : tensor<6x4x6xf32>, tensor<6x6x5xf32>) outs(%[[C]] : tensor<6x4x5xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[MM]] {{\[}}[0, 1], [2], [3]] output_shape [2, 3, 4, 5]
// CHECK: %[[R:.*]] = linalg.transpose ins(%[[E]] : tensor<2x3x4x5xf32>) outs(%{{.*}} : tensor<5x2x3x4xf32>) permutation = [3, 0, 1, 2]
// CHECK: return %[[R]]
func.func @ungrouped(%x: tensor<3x2x6x4xf32>, %w: tensor<2x3x6x5xf32>, %c: tensor<5x2x3x4xf32>) -> tensor<5x2x3x4xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(b0, b1, m, n, k) -> (b1, b0, k, m)>, affine_map<(b0, b1, m, n, k) -> (b0, b1, k, n)>, affine_map<(b0, b1, m, n, k) -> (n, b0, b1, m)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<3x2x6x4xf32>, tensor<2x3x6x5xf32>) outs(%c : tensor<5x2x3x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<5x2x3x4xf32>
  return %r : tensor<5x2x3x4xf32>
}

// -----

// A matrix-vector product (no n loop): the vector and the result get a unit
// dimension.
// CHECK-LABEL: func.func @matvec
// CHECK-SAME: %[[X:[^:]+]]: tensor<4x8xf32>, %[[V:[^:]+]]: tensor<8xf32>, %[[C:[^:]+]]: tensor<4xf32>
// CHECK-DAG: %[[V1:.*]] = tensor.expand_shape %[[V]] {{\[}}[0, 1]] output_shape [8, 1]
// CHECK-DAG: %[[C1:.*]] = tensor.expand_shape %[[C]] {{\[}}[0, 1]] output_shape [4, 1]
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[X]], %[[V1]] : tensor<4x8xf32>, tensor<8x1xf32>) outs(%[[C1]] : tensor<4x1xf32>)
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[MM]] {{\[}}[0, 1]] : tensor<4x1xf32> into tensor<4xf32>
// CHECK: return %[[R]]
func.func @matvec(%x: tensor<4x8xf32>, %v: tensor<8xf32>, %c: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, k) -> (m, k)>, affine_map<(m, k) -> (k)>, affine_map<(m, k) -> (m)>], iterator_types = ["parallel", "reduction"]}
      ins(%x, %v : tensor<4x8xf32>, tensor<8xf32>) outs(%c : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// A dot product (no m and no n loop) stays generic.
// CHECK-LABEL: func.func @dot_stays
// CHECK: linalg.generic
// CHECK-NOT: linalg.matmul
func.func @dot_stays(%x: tensor<8xf32>, %v: tensor<8xf32>, %c: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [affine_map<(k) -> (k)>, affine_map<(k) -> (k)>, affine_map<(k) -> ()>], iterator_types = ["reduction"]}
      ins(%x, %v : tensor<8xf32>, tensor<8xf32>) outs(%c : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// i8 x i8 -> i32 with sign extensions: the named op's default (signed) cast.
// CHECK-LABEL: func.func @int8
// CHECK: linalg.matmul indexing_maps = [{{.*}}] ins(%{{.*}}, %{{.*}} : tensor<4x8xi8>, tensor<5x8xi8>) outs(%{{.*}} : tensor<4x5xi32>)
// CHECK-NOT: linalg.generic
func.func @int8(%x: tensor<4x8xi8>, %w: tensor<5x8xi8>, %c: tensor<4x5xi32>) -> tensor<4x5xi32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x8xi8>, tensor<5x8xi8>) outs(%c : tensor<4x5xi32>) {
  ^bb0(%a: i8, %b: i8, %o: i32):
    %a32 = arith.extsi %a : i8 to i32
    %b32 = arith.extsi %b : i8 to i32
    %m = arith.muli %a32, %b32 : i32
    %s = arith.addi %o, %m : i32
    linalg.yield %s : i32
  } -> tensor<4x5xi32>
  return %r : tensor<4x5xi32>
}

// -----

// Unsigned extensions are not what the named op computes: left alone.
// CHECK-LABEL: func.func @uint8_stays
// CHECK: linalg.generic
// CHECK-NOT: linalg.matmul
func.func @uint8_stays(%x: tensor<4x8xi8>, %w: tensor<8x5xi8>, %c: tensor<4x5xi32>) -> tensor<4x5xi32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x8xi8>, tensor<8x5xi8>) outs(%c : tensor<4x5xi32>) {
  ^bb0(%a: i8, %b: i8, %o: i32):
    %a32 = arith.extui %a : i8 to i32
    %b32 = arith.extui %b : i8 to i32
    %m = arith.muli %a32, %b32 : i32
    %s = arith.addi %o, %m : i32
    linalg.yield %s : i32
  } -> tensor<4x5xi32>
  return %r : tensor<4x5xi32>
}

// -----

// Payloads other than out + a * b stay generic: a subtraction, a scaled
// product.
// CHECK-LABEL: func.func @payload_lookalikes
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: linalg.matmul
func.func @payload_lookalikes(%x: tensor<4x8xf32>, %w: tensor<8x5xf32>, %c: tensor<4x5xf32>) -> (tensor<4x5xf32>, tensor<4x5xf32>) {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x8xf32>, tensor<8x5xf32>) outs(%c : tensor<4x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.subf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x5xf32>
  %two = arith.constant 2.0 : f32
  %q = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x8xf32>, tensor<8x5xf32>) outs(%c : tensor<4x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %m2 = arith.mulf %m, %two : f32
    %s = arith.addf %o, %m2 : f32
    linalg.yield %s : f32
  } -> tensor<4x5xf32>
  return %r, %q : tensor<4x5xf32>, tensor<4x5xf32>
}

// -----

// Maps that are no matmul stay generic: a reduction over one operand only
// (sum_k x[m, k] * w[n]), and a result broadcast over a loop no input has.
// CHECK-LABEL: func.func @map_lookalikes
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: linalg.matmul
func.func @map_lookalikes(%x: tensor<4x8xf32>, %w: tensor<5xf32>, %c: tensor<4x5xf32>, %v: tensor<4x8xf32>, %u: tensor<8x5xf32>, %d: tensor<4x5x3xf32>) -> (tensor<4x5xf32>, tensor<4x5x3xf32>) {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x8xf32>, tensor<5xf32>) outs(%c : tensor<4x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x5xf32>
  %q = linalg.generic {indexing_maps = [affine_map<(m, n, j, k) -> (m, k)>, affine_map<(m, n, j, k) -> (k, n)>, affine_map<(m, n, j, k) -> (m, n, j)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%v, %u : tensor<4x8xf32>, tensor<8x5xf32>) outs(%d : tensor<4x5x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x5x3xf32>
  return %r, %q : tensor<4x5xf32>, tensor<4x5x3xf32>
}

// -----

// Dynamic sizes that a reshape would have to merge: left alone.
// CHECK-LABEL: func.func @dynamic_nd_stays
// CHECK: linalg.generic
// CHECK-NOT: linalg.matmul
func.func @dynamic_nd_stays(%x: tensor<?x16x4x8xf32>, %w: tensor<4x8x32xf32>, %c: tensor<?x16x32xf32>) -> tensor<?x16x32xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(b, s, k, h, d) -> (b, s, h, d)>, affine_map<(b, s, k, h, d) -> (h, d, k)>, affine_map<(b, s, k, h, d) -> (b, s, k)>], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : tensor<?x16x4x8xf32>, tensor<4x8x32xf32>) outs(%c : tensor<?x16x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x16x32xf32>
  return %r : tensor<?x16x32xf32>
}

// -----

// Convolutions written as generics (JAX): NHWC x HWCF with stride 2, NCHW x
// FCHW with dilation 2, depthwise NHWC; and a max pooling.
// CHECK-LABEL: func.func @convs
// CHECK: linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%{{.*}}, %{{.*}} : tensor<1x9x9x3xf32>, tensor<3x3x3x8xf32>)
// CHECK: linalg.conv_2d_nchw_fchw {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%{{.*}}, %{{.*}} : tensor<1x3x9x9xf32>, tensor<8x3x3x3xf32>)
// CHECK: linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%{{.*}}, %{{.*}} : tensor<1x9x9x3xf32>, tensor<3x3x3xf32>)
// CHECK: linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%{{.*}}, %{{.*}} : tensor<1x9x9x3xf32>, tensor<3x3xf32>)
// CHECK-NOT: linalg.generic
func.func @convs(%x: tensor<1x9x9x3xf32>, %w: tensor<3x3x3x8xf32>, %c: tensor<1x4x4x8xf32>,
                 %xc: tensor<1x3x9x9xf32>, %wc: tensor<8x3x3x3xf32>, %cc: tensor<1x8x5x5xf32>,
                 %wd: tensor<3x3x3xf32>, %cd: tensor<1x7x7x3xf32>,
                 %win: tensor<3x3xf32>, %cp: tensor<1x4x4x3xf32>)
    -> (tensor<1x4x4x8xf32>, tensor<1x8x5x5xf32>, tensor<1x7x7x3xf32>, tensor<1x4x4x3xf32>) {
  %0 = linalg.generic {indexing_maps = [affine_map<(n, oh, ow, f, kh, kw, c) -> (n, oh * 2 + kh, ow * 2 + kw, c)>, affine_map<(n, oh, ow, f, kh, kw, c) -> (kh, kw, c, f)>, affine_map<(n, oh, ow, f, kh, kw, c) -> (n, oh, ow, f)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<1x9x9x3xf32>, tensor<3x3x3x8xf32>) outs(%c : tensor<1x4x4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x4x4x8xf32>
  %1 = linalg.generic {indexing_maps = [affine_map<(n, f, oh, ow, c, kh, kw) -> (n, c, oh + kh * 2, ow + kw * 2)>, affine_map<(n, f, oh, ow, c, kh, kw) -> (f, c, kh, kw)>, affine_map<(n, f, oh, ow, c, kh, kw) -> (n, f, oh, ow)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%xc, %wc : tensor<1x3x9x9xf32>, tensor<8x3x3x3xf32>) outs(%cc : tensor<1x8x5x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x8x5x5xf32>
  %2 = linalg.generic {indexing_maps = [affine_map<(n, oh, ow, c, kh, kw) -> (n, oh + kh, ow + kw, c)>, affine_map<(n, oh, ow, c, kh, kw) -> (kh, kw, c)>, affine_map<(n, oh, ow, c, kh, kw) -> (n, oh, ow, c)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %wd : tensor<1x9x9x3xf32>, tensor<3x3x3xf32>) outs(%cd : tensor<1x7x7x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x7x7x3xf32>
  %3 = linalg.generic {indexing_maps = [affine_map<(n, oh, ow, c, kh, kw) -> (n, oh * 2 + kh, ow * 2 + kw, c)>, affine_map<(n, oh, ow, c, kh, kw) -> (kh, kw)>, affine_map<(n, oh, ow, c, kh, kw) -> (n, oh, ow, c)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %win : tensor<1x9x9x3xf32>, tensor<3x3xf32>) outs(%cp : tensor<1x4x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.maximumf %o, %a : f32
    linalg.yield %m : f32
  } -> tensor<1x4x4x3xf32>
  return %0, %1, %2, %3 : tensor<1x4x4x8xf32>, tensor<1x8x5x5xf32>, tensor<1x7x7x3xf32>, tensor<1x4x4x3xf32>
}

// -----

// A convolution whose payload uses unsigned extensions stays generic.
// CHECK-LABEL: func.func @conv_uint8_stays
// CHECK: linalg.generic
// CHECK-NOT: linalg.conv
func.func @conv_uint8_stays(%x: tensor<1x9x9x3xi8>, %w: tensor<3x3x3x8xi8>, %c: tensor<1x7x7x8xi32>) -> tensor<1x7x7x8xi32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(n, oh, ow, f, kh, kw, c) -> (n, oh + kh, ow + kw, c)>, affine_map<(n, oh, ow, f, kh, kw, c) -> (kh, kw, c, f)>, affine_map<(n, oh, ow, f, kh, kw, c) -> (n, oh, ow, f)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<1x9x9x3xi8>, tensor<3x3x3x8xi8>) outs(%c : tensor<1x7x7x8xi32>) {
  ^bb0(%a: i8, %b: i8, %o: i32):
    %a32 = arith.extui %a : i8 to i32
    %b32 = arith.extui %b : i8 to i32
    %m = arith.muli %a32, %b32 : i32
    %s = arith.addi %o, %m : i32
    linalg.yield %s : i32
  } -> tensor<1x7x7x8xi32>
  return %0 : tensor<1x7x7x8xi32>
}

// -----

// Element-wise arith on tensors becomes linalg; a broadcast operand is read
// through the composed map, a splat constant becomes a scalar in the
// payload, and the result is written into an empty tensor.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1, d2, d3) -> (d3)>
// CHECK-LABEL: func.func @elementwise
// CHECK-SAME: %[[X:[^:]+]]: tensor<1x4x4x8xf32>, %[[BIAS:[^:]+]]: tensor<8xf32>
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[ADD:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[CH]], #[[ID]]], {{.*}}} ins(%[[X]], %[[BIAS]] : tensor<1x4x4x8xf32>, tensor<8xf32>) outs(%{{.*}} : tensor<1x4x4x8xf32>)
// CHECK: arith.addf
// CHECK: %[[RELU:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]]], {{.*}}} ins(%[[ADD]] : tensor<1x4x4x8xf32>)
// CHECK: arith.maximumf %{{.*}}, %[[ZERO]] : f32
// CHECK: return %[[RELU]]
func.func @elementwise(%x: tensor<1x4x4x8xf32>, %bias: tensor<8xf32>) -> tensor<1x4x4x8xf32> {
  %e = tensor.empty() : tensor<1x4x4x8xf32>
  %b = linalg.broadcast ins(%bias : tensor<8xf32>) outs(%e : tensor<1x4x4x8xf32>) dimensions = [0, 1, 2]
  %a = arith.addf %x, %b : tensor<1x4x4x8xf32>
  %zeros = arith.constant dense<0.0> : tensor<1x4x4x8xf32>
  %r = arith.maximumf %a, %zeros : tensor<1x4x4x8xf32>
  return %r : tensor<1x4x4x8xf32>
}

// -----

// A complex splat has no scalar arith.constant: the operand stays (this
// crashed an early version of the pass).
// CHECK-LABEL: func.func @complex_splat_stays
// CHECK: %[[C:.*]] = arith.constant dense<(1.000000e+00,2.000000e+00)> : tensor<4xcomplex<f32>>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[C]] : tensor<4xcomplex<f32>>, tensor<4xcomplex<f32>>)
func.func @complex_splat_stays(%x: tensor<4xcomplex<f32>>) -> tensor<4xcomplex<f32>> {
  %c = arith.constant dense<(1.0, 2.0)> : tensor<4xcomplex<f32>>
  %e = tensor.empty() : tensor<4xcomplex<f32>>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%x, %c : tensor<4xcomplex<f32>>, tensor<4xcomplex<f32>>) outs(%e : tensor<4xcomplex<f32>>) {
  ^bb0(%a: complex<f32>, %b: complex<f32>, %o: complex<f32>):
    %s = complex.add %a, %b : complex<f32>
    linalg.yield %s : complex<f32>
  } -> tensor<4xcomplex<f32>>
  return %r : tensor<4xcomplex<f32>>
}

// -----

// torch-mlir's linear layer on a 3-D input: the weight transposed by a copy
// generic, broadcast over the batch by another, then a batch_matmul. The
// batch_matmul reads the rank-2 weight through a rank-2 map (no broadcast
// copy per call); the transpose becomes linalg.transpose, which kernel
// formation folds into the matmul's transpose flag.
// CHECK-LABEL: func.func @torch_linear_3d
// CHECK-SAME: (%[[X:.*]]: tensor<4x8x16xf32>, %[[W:.*]]: tensor<32x16xf32>)
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[W]] : tensor<32x16xf32>) outs(%{{.*}} : tensor<16x32xf32>) permutation = [1, 0]
// CHECK-NOT: linalg.generic
// CHECK: linalg.batch_matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[X]], %[[T]] : tensor<4x8x16xf32>, tensor<16x32xf32>)
func.func @torch_linear_3d(%x: tensor<4x8x16xf32>, %w: tensor<32x16xf32>) -> tensor<4x8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<16x32xf32>
  %wt = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<32x16xf32>) outs(%e0 : tensor<16x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<16x32xf32>
  %e1 = tensor.empty() : tensor<4x16x32xf32>
  %wb = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%wt : tensor<16x32xf32>) outs(%e1 : tensor<4x16x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<4x16x32xf32>
  %e2 = tensor.empty() : tensor<4x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x8x32xf32>) -> tensor<4x8x32xf32>
  %y = linalg.batch_matmul ins(%x, %wb : tensor<4x8x16xf32>, tensor<4x16x32xf32>) outs(%f : tensor<4x8x32xf32>) -> tensor<4x8x32xf32>
  return %y : tensor<4x8x32xf32>
}

// -----

// A head transpose (a copy generic through a permutation) read by a reshape
// becomes linalg.transpose.
// CHECK-LABEL: func.func @head_transpose
// CHECK: %[[T:.*]] = linalg.transpose ins(%{{.*}} : tensor<2x8x4x16xf32>) outs(%{{.*}} : tensor<2x4x8x16xf32>) permutation = [0, 2, 1, 3]
// CHECK: tensor.collapse_shape %[[T]]
func.func @head_transpose(%x: tensor<2x8x4x16xf32>) -> tensor<8x8x16xf32> {
  %e = tensor.empty() : tensor<2x4x8x16xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x8x4x16xf32>) outs(%e : tensor<2x4x8x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x4x8x16xf32>
  %c = tensor.collapse_shape %t [[0, 1], [2], [3]] : tensor<2x4x8x16xf32> into tensor<8x8x16xf32>
  return %c : tensor<8x8x16xf32>
}
