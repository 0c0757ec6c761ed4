// RUN: lathe-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(lathe-cpu-form-kernels))" | FileCheck %s

// A splat bias that canonicalization folded into the body as a scalar
// constant (torch-mlir's MLP with splat weights), then ReLU as compare and
// select: one matmul with a constant [N] bias of that value and the ReLU.
#id2 = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @scalar_bias_relu
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[W:.*]]: tensor<32x16xf32>)
// CHECK: %[[B:.*]] = arith.constant dense<1.250000e-01> : tensor<32xf32>
// CHECK: %[[Y:.*]] = lathe.matmul ins(%[[X]], %[[W]] : tensor<8x16xf32>, tensor<32x16xf32>) bias(%[[B]] : tensor<32xf32>)
// CHECK-SAME: activation = #lathe<activation relu>
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]
func.func @scalar_bias_relu(%x: tensor<8x16xf32>, %w: tensor<32x16xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 0.125 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
      ins(%x, %w : tensor<8x16xf32>, tensor<32x16xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    %gt = arith.cmpf ugt, %s, %zero : f32
    %r = arith.select %gt, %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

// The constant inside the body, added on the left, no activation.
#id2 = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @scalar_bias_inside
// CHECK: %[[B:.*]] = arith.constant dense<-2.000000e+00> : tensor<32xf32>
// CHECK: lathe.matmul ins({{.*}}) bias(%[[B]] : tensor<32xf32>)
// CHECK-NOT: activation
// CHECK-NOT: linalg.
func.func @scalar_bias_inside(%x: tensor<8x16xf32>, %w: tensor<16x32xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant -2.0 : f32
    %s = arith.addf %c, %a : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

// A constant added after the activation is not a bias (the epilogue would
// compute relu(x + c), not relu(x) + c): the generic stays.
#id2 = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @constant_after_relu
// CHECK: lathe.matmul
// CHECK-NOT: bias(
// CHECK: linalg.generic
// CHECK: arith.maximumf
// CHECK: arith.addf
func.func @constant_after_relu(%x: tensor<8x16xf32>, %w: tensor<16x32xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 0.5 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    %s = arith.addf %r, %c : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

// A dynamic N has no constant [N] bias: the generic stays.
#id2 = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @scalar_bias_dynamic_n
// CHECK: lathe.matmul
// CHECK-NOT: bias(
// CHECK: linalg.generic
func.func @scalar_bias_dynamic_n(%x: tensor<8x16xf32>, %w: tensor<16x?xf32>, %n: index) -> tensor<8x?xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 0.5 : f32
  %e = tensor.empty(%n) : tensor<8x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x?xf32>) -> tensor<8x?xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x?xf32>) outs(%acc : tensor<8x?xf32>) -> tensor<8x?xf32>
  %y = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm : tensor<8x?xf32>) outs(%e : tensor<8x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<8x?xf32>
  return %y : tensor<8x?xf32>
}

// -----

// A constant, then a [N] bias: two biases, which the matmul cannot hold as
// one operand (keeping only one would drop the other); the generic stays.
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @scalar_then_vector_bias
// CHECK: lathe.matmul
// CHECK-NOT: bias(
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: arith.addf
func.func @scalar_then_vector_bias(%x: tensor<8x16xf32>, %w: tensor<16x32xf32>, %b: tensor<32xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<8x32xf32>, tensor<32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %v: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    %t = arith.addf %s, %v : f32
    linalg.yield %t : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}
