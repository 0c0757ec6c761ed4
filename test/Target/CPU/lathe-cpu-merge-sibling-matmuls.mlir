// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(lathe-cpu-merge-sibling-matmuls))' | FileCheck %s
// In the CPU pipeline only with merge-sibling-matmuls=true (off by default).
// RUN: lathe-opt %s --lathe-cpu-kernels --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=OFF
// RUN: lathe-opt %s --lathe-cpu-kernels='merge-sibling-matmuls=true' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=ON
// OFF-NOT: lathe-cpu-merge-sibling-matmuls
// ON: lathe-cpu-form-kernels{{.*}},
// ON-NEXT: lathe-cpu-merge-sibling-matmuls,

// Q, K and V of one input with [N, K] weights and biases: one matmul over the
// weights concatenated along N (rows, in program order), then a slice each.
// CHECK-LABEL: func.func @qkv
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00], [7.000000e+00, 8.000000e+00], [9.000000e+00, 1.000000e+01], [1.100000e+01, 1.200000e+01]]> : tensor<6x2xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01, 5.000000e-01, 6.000000e-01]> : tensor<6xf32>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x4x6xf32>
// CHECK: %[[M:.*]] = lathe.matmul ins(%arg0, %[[W]] : tensor<2x4x2xf32>, tensor<6x2xf32>) bias(%[[B]] : tensor<6xf32>) outs(%[[E]] : tensor<2x4x6xf32>) {transpose_rhs}
// CHECK-NOT: lathe.matmul
// CHECK-DAG: %[[Q:.*]] = tensor.extract_slice %[[M]][0, 0, 0] [2, 4, 2] [1, 1, 1]
// CHECK-DAG: %[[K:.*]] = tensor.extract_slice %[[M]][0, 0, 2] [2, 4, 2] [1, 1, 1]
// CHECK-DAG: %[[V:.*]] = tensor.extract_slice %[[M]][0, 0, 4] [2, 4, 2] [1, 1, 1]
// CHECK: return %[[Q]], %[[K]], %[[V]]
func.func @qkv(%x: tensor<2x4x2xf32>) -> (tensor<2x4x2xf32>, tensor<2x4x2xf32>, tensor<2x4x2xf32>) {
  %wq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %wk = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
  %wv = arith.constant dense<[[9.0, 10.0], [11.0, 12.0]]> : tensor<2x2xf32>
  %bq = arith.constant dense<[0.1, 0.2]> : tensor<2xf32>
  %bk = arith.constant dense<[0.3, 0.4]> : tensor<2xf32>
  %bv = arith.constant dense<[0.5, 0.6]> : tensor<2xf32>
  %e = tensor.empty() : tensor<2x4x2xf32>
  %q = lathe.matmul ins(%x, %wq : tensor<2x4x2xf32>, tensor<2x2xf32>) bias(%bq : tensor<2xf32>) outs(%e : tensor<2x4x2xf32>) {transpose_rhs} -> tensor<2x4x2xf32>
  %k = lathe.matmul ins(%x, %wk : tensor<2x4x2xf32>, tensor<2x2xf32>) bias(%bk : tensor<2xf32>) outs(%e : tensor<2x4x2xf32>) {transpose_rhs} -> tensor<2x4x2xf32>
  %v = lathe.matmul ins(%x, %wv : tensor<2x4x2xf32>, tensor<2x2xf32>) bias(%bv : tensor<2xf32>) outs(%e : tensor<2x4x2xf32>) {transpose_rhs} -> tensor<2x4x2xf32>
  return %q, %k, %v : tensor<2x4x2xf32>, tensor<2x4x2xf32>, tensor<2x4x2xf32>
}

// -----

// [K, N] weights: concatenated along columns; no bias, same activation.
// CHECK-LABEL: func.func @columns_relu
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 5.000000e+00, 6.000000e+00], [2.000000e+00, 7.000000e+00, 8.000000e+00]]> : tensor<2x3xf32>
// CHECK: %[[M:.*]] = lathe.matmul ins(%arg0, %[[W]] : tensor<4x2xf32>, tensor<2x3xf32>) outs(%{{.*}} : tensor<4x3xf32>) {activation = #lathe<activation relu>}
// CHECK-NOT: lathe.matmul
// CHECK-DAG: tensor.extract_slice %[[M]][0, 0] [4, 1] [1, 1] : tensor<4x3xf32> to tensor<4x1xf32>
// CHECK-DAG: tensor.extract_slice %[[M]][0, 1] [4, 2] [1, 1] : tensor<4x3xf32> to tensor<4x2xf32>
func.func @columns_relu(%x: tensor<4x2xf32>) -> (tensor<4x1xf32>, tensor<4x2xf32>) {
  %wa = arith.constant dense<[[1.0], [2.0]]> : tensor<2x1xf32>
  %wb = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
  %ea = tensor.empty() : tensor<4x1xf32>
  %eb = tensor.empty() : tensor<4x2xf32>
  %a = lathe.matmul ins(%x, %wa : tensor<4x2xf32>, tensor<2x1xf32>) outs(%ea : tensor<4x1xf32>) {activation = #lathe<activation relu>} -> tensor<4x1xf32>
  %b = lathe.matmul ins(%x, %wb : tensor<4x2xf32>, tensor<2x2xf32>) outs(%eb : tensor<4x2xf32>) {activation = #lathe<activation relu>} -> tensor<4x2xf32>
  return %a, %b : tensor<4x1xf32>, tensor<4x2xf32>
}

// -----

// An ONNX export's fused in_proj: slices of one [K, 3N] weight and one [3N]
// bias, used out of order. The merged matmul reads the constants themselves
// (no copy) and the slices follow the constant's column order.
// CHECK-LABEL: func.func @in_proj_slices
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<2x6xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<{{.*}}> : tensor<6xf32>
// CHECK: %[[M:.*]] = lathe.matmul ins(%arg0, %[[W]] : tensor<4x2xf32>, tensor<2x6xf32>) bias(%[[B]] : tensor<6xf32>)
// CHECK-NOT: lathe.matmul
// CHECK-DAG: %[[K:.*]] = tensor.extract_slice %[[M]][0, 2] [4, 2] [1, 1]
// CHECK-DAG: %[[Q:.*]] = tensor.extract_slice %[[M]][0, 0] [4, 2] [1, 1]
// CHECK-DAG: %[[V:.*]] = tensor.extract_slice %[[M]][0, 4] [4, 2] [1, 1]
// CHECK: return %[[K]], %[[Q]], %[[V]]
func.func @in_proj_slices(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [7.0, 8.0, 9.0, 10.0, 11.0, 12.0]]> : tensor<2x6xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x2xf32>
  %wk = tensor.extract_slice %w[0, 2] [2, 2] [1, 1] : tensor<2x6xf32> to tensor<2x2xf32>
  %bk = tensor.extract_slice %b[2] [2] [1] : tensor<6xf32> to tensor<2xf32>
  %k = lathe.matmul ins(%x, %wk : tensor<4x2xf32>, tensor<2x2xf32>) bias(%bk : tensor<2xf32>) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %wq = tensor.extract_slice %w[0, 0] [2, 2] [1, 1] : tensor<2x6xf32> to tensor<2x2xf32>
  %bq = tensor.extract_slice %b[0] [2] [1] : tensor<6xf32> to tensor<2xf32>
  %q = lathe.matmul ins(%x, %wq : tensor<4x2xf32>, tensor<2x2xf32>) bias(%bq : tensor<2xf32>) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %wv = tensor.extract_slice %w[0, 4] [2, 2] [1, 1] : tensor<2x6xf32> to tensor<2x2xf32>
  %bv = tensor.extract_slice %b[4] [2] [1] : tensor<6xf32> to tensor<2xf32>
  %v = lathe.matmul ins(%x, %wv : tensor<4x2xf32>, tensor<2x2xf32>) bias(%bv : tensor<2xf32>) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  return %k, %q, %v : tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// Slices of one constant that do not cover it: a new constant with their
// values, in the constant's column order (0..1, then 4..5).
// CHECK-LABEL: func.func @partial_slices
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 5.000000e+00, 6.000000e+00], [7.000000e+00, 8.000000e+00, 1.100000e+01, 1.200000e+01]]> : tensor<2x4xf32>
// CHECK: %[[M:.*]] = lathe.matmul ins(%arg0, %[[W]] : tensor<4x2xf32>, tensor<2x4xf32>)
// CHECK-NOT: lathe.matmul
// CHECK-DAG: %[[B:.*]] = tensor.extract_slice %[[M]][0, 0] [4, 2] [1, 1]
// CHECK-DAG: %[[A:.*]] = tensor.extract_slice %[[M]][0, 2] [4, 2] [1, 1]
// CHECK: return %[[A]], %[[B]]
func.func @partial_slices(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [7.0, 8.0, 9.0, 10.0, 11.0, 12.0]]> : tensor<2x6xf32>
  %e = tensor.empty() : tensor<4x2xf32>
  %w2 = tensor.extract_slice %w[0, 4] [2, 2] [1, 1] : tensor<2x6xf32> to tensor<2x2xf32>
  %a = lathe.matmul ins(%x, %w2 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %w0 = tensor.extract_slice %w[0, 0] [2, 2] [1, 1] : tensor<2x6xf32> to tensor<2x2xf32>
  %b = lathe.matmul ins(%x, %w0 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  return %a, %b : tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// Look-alikes, left alone: different lhs, a weight that is not a constant,
// epilogues that differ (activation, bias or not, a residual), different
// transpose flags, a weight also used elsewhere, different alpha.
// CHECK-LABEL: func.func @lookalikes
// CHECK-COUNT-14: lathe.matmul
// CHECK-NOT: lathe.matmul
// CHECK-NOT: tensor.extract_slice
func.func @lookalikes(%x: tensor<4x2xf32>, %y: tensor<4x2xf32>, %arg: tensor<2x2xf32>, %r: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<2x2xf32>) {
  %w1 = arith.constant dense<1.0> : tensor<2x2xf32>
  %w2 = arith.constant dense<2.0> : tensor<2x2xf32>
  %w3 = arith.constant dense<3.0> : tensor<2x2xf32>
  %w4 = arith.constant dense<4.0> : tensor<2x2xf32>
  %w5 = arith.constant dense<5.0> : tensor<2x2xf32>
  %w6 = arith.constant dense<6.0> : tensor<2x2xf32>
  %w7 = arith.constant dense<7.0> : tensor<2x2xf32>
  %w8 = arith.constant dense<8.0> : tensor<2x2xf32>
  %w9 = arith.constant dense<9.0> : tensor<2x2xf32>
  %w10 = arith.constant dense<10.0> : tensor<2x2xf32>
  %w11 = arith.constant dense<11.0> : tensor<2x2xf32>
  %w12 = arith.constant dense<12.0> : tensor<2x2xf32>
  %w13 = arith.constant dense<13.0> : tensor<2x2xf32>
  %bias = arith.constant dense<0.5> : tensor<2xf32>
  %e = tensor.empty() : tensor<4x2xf32>
  // Different lhs.
  %a0 = lathe.matmul ins(%x, %w1 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %a1 = lathe.matmul ins(%y, %w2 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  // A weight that is an argument (with %y's next product as the only other).
  %b0 = lathe.matmul ins(%y, %arg : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) {activation = #lathe<activation relu>} -> tensor<4x2xf32>
  // Different activation.
  %c0 = lathe.matmul ins(%y, %w3 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) {activation = #lathe<activation gelu>} -> tensor<4x2xf32>
  // Bias on one only.
  %d0 = lathe.matmul ins(%y, %w4 : tensor<4x2xf32>, tensor<2x2xf32>) bias(%bias : tensor<2xf32>) outs(%e : tensor<4x2xf32>) {activation = #lathe<activation tanh>} -> tensor<4x2xf32>
  %d1 = lathe.matmul ins(%y, %w5 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) {activation = #lathe<activation tanh>} -> tensor<4x2xf32>
  // Residuals.
  %f0 = lathe.matmul ins(%y, %w6 : tensor<4x2xf32>, tensor<2x2xf32>) residual(%r : tensor<4x2xf32>) outs(%e : tensor<4x2xf32>) {activation = #lathe<activation sigmoid>} -> tensor<4x2xf32>
  %f1 = lathe.matmul ins(%y, %w7 : tensor<4x2xf32>, tensor<2x2xf32>) residual(%r : tensor<4x2xf32>) outs(%e : tensor<4x2xf32>) {activation = #lathe<activation sigmoid>} -> tensor<4x2xf32>
  // Transpose flags differ.
  %g0 = lathe.matmul ins(%y, %w8 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) {activation = #lathe<activation gelu_tanh>} -> tensor<4x2xf32>
  %g1 = lathe.matmul ins(%y, %w9 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) {activation = #lathe<activation gelu_tanh>, transpose_rhs} -> tensor<4x2xf32>
  // A weight also used elsewhere (returned).
  %h0 = lathe.matmul ins(%r, %w10 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %h1 = lathe.matmul ins(%r, %w11 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  // Different alpha.
  %i0 = lathe.matmul ins(%x, %w12 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) {alpha = 5.000000e-01 : f32} -> tensor<4x2xf32>
  %i1 = lathe.matmul ins(%x, %w13 : tensor<4x2xf32>, tensor<2x2xf32>) outs(%e : tensor<4x2xf32>) {alpha = 2.500000e-01 : f32} -> tensor<4x2xf32>
  return %a0, %a1, %b0, %c0, %d0, %d1, %f0, %f1, %g0, %g1, %h0, %h1, %i0, %i1, %w10 : tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<2x2xf32>
}
