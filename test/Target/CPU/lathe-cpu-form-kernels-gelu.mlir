// RUN: lathe-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(lathe-cpu-form-kernels))" | FileCheck %s

// GELU after a matmul, in the spellings exporters write, becomes the
// matmul's eltwise post-op; look-alikes that compute something else stay
// generic.

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// PyTorch's erf GELU through ONNX: Div by sqrt(2), Erf, Add 1, Mul x, Mul 0.5;
// bias in a generic of its own.
// CHECK-LABEL: func.func @erf_onnx
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[W:.*]]: tensor<16x32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK: %[[Y:.*]] = lathe.matmul ins(%[[X]], %[[W]] : tensor<8x16xf32>, tensor<16x32xf32>) bias(%[[B]] : tensor<32xf32>)
// CHECK-SAME: {activation = #lathe<activation gelu>}
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @erf_onnx(%x: tensor<8x16xf32>, %w: tensor<16x32xf32>, %b: tensor<32xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %biased = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<8x32xf32>, tensor<32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %bias: f32, %o: f32):
    %s = arith.addf %a, %bias : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%biased : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %sqrt2 = arith.constant 1.41421354 : f32
    %one = arith.constant 1.0 : f32
    %half = arith.constant 0.5 : f32
    %d = arith.divf %a, %sqrt2 : f32
    %erf = math.erf %d : f32
    %p = arith.addf %erf, %one : f32
    %m = arith.mulf %a, %p : f32
    %r = arith.mulf %m, %half : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// The tanh approximation with pow(x, 3) (ONNX Pow), the bias add in the same
// body before it.
// CHECK-LABEL: func.func @tanh_pow_with_bias
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[W:.*]]: tensor<16x32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK: lathe.matmul ins(%[[X]], %[[W]] : {{.*}}) bias(%[[B]] : tensor<32xf32>)
// CHECK-SAME: {activation = #lathe<activation gelu_tanh>}
// CHECK-NOT: linalg.generic
func.func @tanh_pow_with_bias(%x: tensor<8x16xf32>, %w: tensor<16x32xf32>, %b: tensor<32xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<8x32xf32>, tensor<32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %bias: f32, %o: f32):
    %three = arith.constant 3.0 : f32
    %c = arith.constant 0.044715 : f32
    %k = arith.constant 0.797884583 : f32
    %one = arith.constant 1.0 : f32
    %half = arith.constant 0.5 : f32
    %s = arith.addf %a, %bias : f32
    %cube = math.powf %s, %three : f32
    %cc = arith.mulf %cube, %c : f32
    %in = arith.addf %s, %cc : f32
    %arg = arith.mulf %in, %k : f32
    %t = math.tanh %arg : f32
    %p = arith.addf %t, %one : f32
    %hs = arith.mulf %half, %s : f32
    %r = arith.mulf %hs, %p : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// The tanh form multiplied out (x * x * x, the constants folded into one fma
// per term, as a JAX export writes it), then a residual added: the residual
// follows the activation, as the matmul epilogue computes it.
// CHECK-LABEL: func.func @tanh_folded_residual
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[W:.*]]: tensor<16x32xf32>, %[[R:.*]]: tensor<8x32xf32>)
// CHECK: lathe.matmul ins(%[[X]], %[[W]] : {{.*}}) residual(%[[R]] : tensor<8x32xf32>)
// CHECK-SAME: {activation = #lathe<activation gelu_tanh>}
// CHECK-NOT: linalg.generic
func.func @tanh_folded_residual(%x: tensor<8x16xf32>, %w: tensor<16x32xf32>, %res: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %res : tensor<8x32xf32>, tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %r0: f32, %o: f32):
    %kc = arith.constant 0.0356774069 : f32
    %k = arith.constant 0.797884583 : f32
    %half = arith.constant 0.5 : f32
    %sq = arith.mulf %a, %a : f32
    %cube = arith.mulf %sq, %a : f32
    %lin = arith.mulf %a, %k : f32
    %arg = math.fma %cube, %kc, %lin : f32
    %t = math.tanh %arg : f32
    %ht = arith.mulf %t, %half : f32
    %p = arith.addf %ht, %half : f32
    %g = arith.mulf %a, %p : f32
    %r = arith.addf %g, %r0 : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#c1 = affine_map<(d0, d1, d2, d3) -> (d1)>

// A convolution takes the GELU as its post-op too.
// CHECK-LABEL: func.func @conv_gelu
// CHECK: lathe.conv2d {{.*}} bias(
// CHECK-SAME: activation = #lathe<activation gelu>
// CHECK-NOT: linalg.generic
func.func @conv_gelu(%x: tensor<1x3x10x10xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x3x10x10xf32>, tensor<4x3x3x3xf32>) outs(%f : tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #c1, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c, %b : tensor<1x4x8x8xf32>, tensor<4xf32>) outs(%e : tensor<1x4x8x8xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %rsqrt2 = arith.constant 0.707106769 : f32
    %one = arith.constant 1.0 : f32
    %half = arith.constant 0.5 : f32
    %s = arith.addf %a, %bb : f32
    %hs = arith.mulf %s, %half : f32
    %d = arith.mulf %s, %rsqrt2 : f32
    %erf = math.erf %d : f32
    %p = arith.addf %one, %erf : f32
    %r = arith.mulf %hs, %p : f32
    linalg.yield %r : f32
  } -> tensor<1x4x8x8xf32>
  return %y : tensor<1x4x8x8xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// Look-alikes: each computes something other than GELU and stays generic.
// CHECK-LABEL: func.func @lookalikes
// CHECK-COUNT-7: linalg.generic
// CHECK-NOT: activation = #lathe<activation gelu
func.func @lookalikes(%x: tensor<8x16xf32>, %w: tensor<16x32xf32>, %res: tensor<8x32xf32>)
    -> (tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm0 = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm1 = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm2 = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm3 = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm4 = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm5 = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  %mm6 = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  // erf of x itself: 0.5 x (1 + erf(x)).
  %y0 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm0 : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %half = arith.constant 0.5 : f32
    %erf = math.erf %a : f32
    %p = arith.addf %erf, %one : f32
    %m = arith.mulf %a, %p : f32
    %r = arith.mulf %m, %half : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  // No 0.5: x (1 + erf(x / sqrt(2))).
  %y1 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm1 : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %sqrt2 = arith.constant 1.41421354 : f32
    %one = arith.constant 1.0 : f32
    %d = arith.divf %a, %sqrt2 : f32
    %erf = math.erf %d : f32
    %p = arith.addf %erf, %one : f32
    %r = arith.mulf %a, %p : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  // A cubic coefficient of 0.0447 instead of 0.044715.
  %y2 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm2 : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant 0.0447 : f32
    %k = arith.constant 0.797884583 : f32
    %one = arith.constant 1.0 : f32
    %half = arith.constant 0.5 : f32
    %sq = arith.mulf %a, %a : f32
    %cube = arith.mulf %sq, %a : f32
    %cc = arith.mulf %cube, %c : f32
    %in = arith.addf %a, %cc : f32
    %arg = arith.mulf %in, %k : f32
    %t = math.tanh %arg : f32
    %p = arith.addf %t, %one : f32
    %m = arith.mulf %a, %p : f32
    %r = arith.mulf %m, %half : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  // tanh where the erf form has erf: 0.5 x (1 + tanh(x / sqrt(2))).
  %y3 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm3 : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %sqrt2 = arith.constant 1.41421354 : f32
    %one = arith.constant 1.0 : f32
    %half = arith.constant 0.5 : f32
    %d = arith.divf %a, %sqrt2 : f32
    %t = math.tanh %d : f32
    %p = arith.addf %t, %one : f32
    %m = arith.mulf %a, %p : f32
    %r = arith.mulf %m, %half : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  // A clamp inside: 0.5 x (1 + erf(min(x, 3) / sqrt(2))).
  %y4 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm4 : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %three = arith.constant 3.0 : f32
    %sqrt2 = arith.constant 1.41421354 : f32
    %one = arith.constant 1.0 : f32
    %half = arith.constant 0.5 : f32
    %c = arith.minimumf %a, %three : f32
    %d = arith.divf %c, %sqrt2 : f32
    %erf = math.erf %d : f32
    %p = arith.addf %erf, %one : f32
    %m = arith.mulf %a, %p : f32
    %r = arith.mulf %m, %half : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  // The x of the GELU is not the matmul's: 0.5 r (1 + erf(x / sqrt(2))).
  %y5 = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm5, %res : tensor<8x32xf32>, tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %r0: f32, %o: f32):
    %sqrt2 = arith.constant 1.41421354 : f32
    %one = arith.constant 1.0 : f32
    %half = arith.constant 0.5 : f32
    %d = arith.divf %a, %sqrt2 : f32
    %erf = math.erf %d : f32
    %p = arith.addf %erf, %one : f32
    %m = arith.mulf %r0, %p : f32
    %r = arith.mulf %m, %half : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  // GELU of x plus the residual (the residual added before the activation).
  %y6 = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm6, %res : tensor<8x32xf32>, tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%a: f32, %r0: f32, %o: f32):
    %sqrt2 = arith.constant 1.41421354 : f32
    %one = arith.constant 1.0 : f32
    %half = arith.constant 0.5 : f32
    %s = arith.addf %a, %r0 : f32
    %d = arith.divf %s, %sqrt2 : f32
    %erf = math.erf %d : f32
    %p = arith.addf %erf, %one : f32
    %m = arith.mulf %s, %p : f32
    %r = arith.mulf %m, %half : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  return %y0, %y1, %y2, %y3, %y4, %y5, %y6 : tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>
}
