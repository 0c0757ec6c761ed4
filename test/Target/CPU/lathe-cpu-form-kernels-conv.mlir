// RUN: lathe-opt %s --pass-pipeline="builtin.module(func.func(lathe-cpu-form-kernels),canonicalize)" | FileCheck %s
// fuse-pooling=false (the accelerator's pipeline): the pooling stays a
// separate op that reads the convolution.
// RUN: lathe-opt %s --pass-pipeline="builtin.module(func.func(lathe-cpu-form-kernels{fuse-pooling=false}),canonicalize)" | FileCheck %s --check-prefix=NOPOOL
// NOPOOL-LABEL: func.func @conv_bias_relu_pool
// NOPOOL: %[[C:.*]] = lathe.conv2d
// NOPOOL-SAME: activation = #lathe<activation relu>
// NOPOOL-NOT: pool = #lathe<pool max>
// NOPOOL: linalg.pooling_nchw_max {{.*}} ins(%[[C]],

#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#c1 = affine_map<(d0, d1, d2, d3) -> (d1)>
#c3 = affine_map<(d0, d1, d2, d3) -> (d3)>
#c1x = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>
#h = affine_map<(d0, d1, d2, d3) -> (d2)>

// Conv + bias generic + ReLU generic + max pooling from -inf: one lathe.conv2d
// whose init is the pooling's.
// CHECK-LABEL: func.func @conv_bias_relu_pool
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x10x10xf32>, %[[W:.*]]: tensor<4x3x3x3xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x4x4x4xf32>
// CHECK: %[[Y:.*]] = lathe.conv2d ins(%[[X]], %[[W]] : tensor<2x3x10x10xf32>, tensor<4x3x3x3xf32>) bias(%[[B]] : tensor<4xf32>) outs(%[[E]] : tensor<2x4x4x4xf32>) {activation = #lathe<activation relu>, pool = #lathe<pool max>, pool_strides = array<i64: 2, 2>, pool_window = array<i64: 2, 2>} -> tensor<2x4x4x4xf32>
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]
func.func @conv_bias_relu_pool(%x: tensor<2x3x10x10xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<2x4x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<2x4x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<2x3x10x10xf32>, tensor<4x3x3x3xf32>) outs(%f : tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %e1 = tensor.empty() : tensor<2x4x8x8xf32>
  %biased = linalg.generic {indexing_maps = [#id, #c1, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c, %b : tensor<2x4x8x8xf32>, tensor<4xf32>) outs(%e1 : tensor<2x4x8x8xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    linalg.yield %s : f32
  } -> tensor<2x4x8x8xf32>
  %e2 = tensor.empty() : tensor<2x4x8x8xf32>
  %relu = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%biased : tensor<2x4x8x8xf32>) outs(%e2 : tensor<2x4x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x4x8x8xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %pe = tensor.empty() : tensor<2x4x4x4xf32>
  %pf = linalg.fill ins(%ninf : f32) outs(%pe : tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %p = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%relu, %win : tensor<2x4x8x8xf32>, tensor<2x2xf32>) outs(%pf : tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  return %p : tensor<2x4x4x4xf32>
}

// ONNX importer spelling: dynamic batch, bias reshaped to [F,1,1] and read with
// (d1, 0, 0), ReLU as compare + select, all in one generic. No pooling.
// CHECK-LABEL: func.func @onnx_spelling
// (The bias is collapsed back to [F]; canonicalize folds that into %b.)
// CHECK-SAME: %[[B:[a-z0-9]+]]: tensor<4xf32>
// CHECK: lathe.conv2d ins(%{{.*}}, %{{.*}} : tensor<?x3x6x6xf32>, tensor<4x3x3x3xf32>) bias(%[[B]] : tensor<4xf32>) outs(%{{.*}} : tensor<?x4x4x4xf32>) {activation = #lathe<activation relu>} -> tensor<?x4x4x4xf32>
// CHECK-NOT: linalg.
func.func @onnx_spelling(%x: tensor<?x3x6x6xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<?x4x4x4xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x3x6x6xf32>
  %e = tensor.empty(%n) : tensor<?x4x4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x4x4x4xf32>) -> tensor<?x4x4x4xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<?x3x6x6xf32>, tensor<4x3x3x3xf32>) outs(%f : tensor<?x4x4x4xf32>) -> tensor<?x4x4x4xf32>
  %b3 = tensor.expand_shape %b [[0, 1, 2]] output_shape [4, 1, 1] : tensor<4xf32> into tensor<4x1x1xf32>
  %e1 = tensor.empty(%n) : tensor<?x4x4x4xf32>
  %y = linalg.generic {indexing_maps = [#id, #c1x, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c, %b3 : tensor<?x4x4x4xf32>, tensor<4x1x1xf32>) outs(%e1 : tensor<?x4x4x4xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    %lt = arith.cmpf olt, %s, %zero : f32
    %r = arith.select %lt, %zero, %s : f32
    linalg.yield %r : f32
  } -> tensor<?x4x4x4xf32>
  return %y : tensor<?x4x4x4xf32>
}

// NHWC/HWCF: bias indexed by d3, strides and dilations kept, NHWC pooling.
// CHECK-LABEL: func.func @nhwc
// CHECK: lathe.conv2d ins(%{{.*}}, %{{.*}} : tensor<1x9x9x3xf32>, tensor<3x3x3x5xf32>) bias(%{{.*}} : tensor<5xf32>) outs(%{{.*}} : tensor<1x1x1x5xf32>) {activation = #lathe<activation relu>, dilations = array<i64: 1, 2>, layout = #lathe<layout nhwc>, pool = #lathe<pool max>, pool_window = array<i64: 3, 1>, strides = array<i64: 2, 1>} -> tensor<1x1x1x5xf32>
func.func @nhwc(%x: tensor<1x9x9x3xf32>, %w: tensor<3x3x3x5xf32>, %b: tensor<5xf32>) -> tensor<1x1x1x5xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<1x4x5x5xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<[1, 2]> : tensor<2xi64>, strides = dense<[2, 1]> : tensor<2xi64>}
         ins(%x, %w : tensor<1x9x9x3xf32>, tensor<3x3x3x5xf32>) outs(%f : tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  %e1 = tensor.empty() : tensor<1x4x5x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #c3, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c, %b : tensor<1x4x5x5xf32>, tensor<5xf32>) outs(%e1 : tensor<1x4x5x5xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x4x5x5xf32>
  %win = tensor.empty() : tensor<3x1xf32>
  %pe = tensor.empty() : tensor<1x1x1x5xf32>
  %pf = linalg.fill ins(%ninf : f32) outs(%pe : tensor<1x1x1x5xf32>) -> tensor<1x1x1x5xf32>
  %p = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%y, %win : tensor<1x4x5x5xf32>, tensor<3x1xf32>) outs(%pf : tensor<1x1x1x5xf32>) -> tensor<1x1x1x5xf32>
  return %p : tensor<1x1x1x5xf32>
}

// Not fused: an accumulating conv stays linalg; a bias along H is no channel
// bias; a pooling from a 0 fill is not a max pooling of the conv alone; a conv
// result that is also returned keeps its ReLU separate.
// CHECK-LABEL: func.func @not_fused
// CHECK: %[[A:.*]] = linalg.conv_2d_nchw_fchw
// CHECK: %[[C:.*]] = lathe.conv2d ins(%{{.*}}) outs(%{{[0-9a-z_]+}} : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[C]], %{{.*}} :
// CHECK: %[[C2:.*]] = lathe.conv2d ins(%{{.*}}) outs(%{{[0-9a-z_]+}} : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
// CHECK: %[[P:.*]] = linalg.pooling_nchw_max {{.*}} ins(%[[C2]], %{{.*}} :
// CHECK: %[[C3:.*]] = lathe.conv2d ins(%{{.*}}) outs(%{{[0-9a-z_]+}} : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[C3]] :
// CHECK: return %[[A]], %[[P]], %[[Y]], %[[R]], %[[C3]] :
func.func @not_fused(%x: tensor<1x1x6x6xf32>, %w: tensor<2x1x3x3xf32>, %acc: tensor<1x2x4x4xf32>, %bh: tensor<4xf32>)
    -> (tensor<1x2x4x4xf32>, tensor<1x2x2x2xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %a = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x1x6x6xf32>, tensor<2x1x3x3xf32>) outs(%acc : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %e = tensor.empty() : tensor<1x2x4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x1x6x6xf32>, tensor<2x1x3x3xf32>) outs(%f : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %e1 = tensor.empty() : tensor<1x2x4x4xf32>
  %y = linalg.generic {indexing_maps = [#id, #h, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c, %bh : tensor<1x2x4x4xf32>, tensor<4xf32>) outs(%e1 : tensor<1x2x4x4xf32>) {
  ^bb0(%v: f32, %bb: f32, %o: f32):
    %s = arith.addf %v, %bb : f32
    linalg.yield %s : f32
  } -> tensor<1x2x4x4xf32>
  %c2 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x1x6x6xf32>, tensor<2x1x3x3xf32>) outs(%f : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %pe = tensor.empty() : tensor<1x2x2x2xf32>
  %pf = linalg.fill ins(%zero : f32) outs(%pe : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %p = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%c2, %win : tensor<1x2x4x4xf32>, tensor<2x2xf32>) outs(%pf : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %c3 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x1x6x6xf32>, tensor<2x1x3x3xf32>) outs(%f : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %e2 = tensor.empty() : tensor<1x2x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c3 : tensor<1x2x4x4xf32>) outs(%e2 : tensor<1x2x4x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x2x4x4xf32>
  return %a, %p, %y, %r, %c3 : tensor<1x2x4x4xf32>, tensor<1x2x2x2xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// A residual connection: conv + bias, then + a tensor of the result's type
// (read element for element) and ReLU in one generic, as ResNet's blocks end.
// The residual becomes the convolution's init, added in place (`accumulate`:
// oneDNN's sum post-op) before the ReLU.
// CHECK-LABEL: func.func @conv_residual_relu
// CHECK-SAME: (%[[X:.*]]: tensor<1x8x6x6xf32>, %[[W:.*]]: tensor<8x8x1x1xf32>, %[[B:.*]]: tensor<8xf32>, %[[R:.*]]: tensor<1x8x6x6xf32>)
// CHECK: %[[Y:.*]] = lathe.conv2d ins(%[[X]], %[[W]] : tensor<1x8x6x6xf32>, tensor<8x8x1x1xf32>) bias(%[[B]] : tensor<8xf32>) outs(%[[R]] : tensor<1x8x6x6xf32>) {accumulate, activation = #lathe<activation relu>} -> tensor<1x8x6x6xf32>
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]
func.func @conv_residual_relu(%x: tensor<1x8x6x6xf32>, %w: tensor<8x8x1x1xf32>, %b: tensor<8xf32>, %r: tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x6x6xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x8x6x6xf32>, tensor<8x8x1x1xf32>) outs(%f : tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %biased = linalg.generic {indexing_maps = [#id, #c1, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c, %b : tensor<1x8x6x6xf32>, tensor<8xf32>) outs(%e : tensor<1x8x6x6xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    linalg.yield %s : f32
  } -> tensor<1x8x6x6xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%biased, %r : tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>) outs(%e : tensor<1x8x6x6xf32>) {
  ^bb0(%a: f32, %res: f32, %o: f32):
    %s = arith.addf %a, %res : f32
    %lt = arith.cmpf olt, %s, %zero : f32
    %m = arith.select %lt, %zero, %s : f32
    linalg.yield %m : f32
  } -> tensor<1x8x6x6xf32>
  return %y : tensor<1x8x6x6xf32>
}

// An add after the ReLU is not a residual of the convolution (the sum
// post-op comes before the activation): the generic stays whole.
// CHECK-LABEL: func.func @relu_then_residual
// CHECK: lathe.conv2d ins({{.*}}) outs({{.*}}) -> tensor<1x8x6x6xf32>
// CHECK: linalg.generic
func.func @relu_then_residual(%x: tensor<1x8x6x6xf32>, %w: tensor<8x8x1x1xf32>, %r: tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x6x6xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x8x6x6xf32>, tensor<8x8x1x1xf32>) outs(%f : tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c, %r : tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>) outs(%e : tensor<1x8x6x6xf32>) {
  ^bb0(%a: f32, %res: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    %s = arith.addf %m, %res : f32
    linalg.yield %s : f32
  } -> tensor<1x8x6x6xf32>
  return %y : tensor<1x8x6x6xf32>
}

// The residual add and the ReLU in two generics: the ReLU fuses into the
// accumulating convolution, which keeps its residual init.
// CHECK-LABEL: func.func @conv_residual_then_relu
// CHECK-SAME: (%[[X:.*]]: tensor<1x8x6x6xf32>, %[[W:.*]]: tensor<8x8x1x1xf32>, %[[R:.*]]: tensor<1x8x6x6xf32>)
// CHECK: %[[Y:.*]] = lathe.conv2d ins(%[[X]], %[[W]] : tensor<1x8x6x6xf32>, tensor<8x8x1x1xf32>) outs(%[[R]] : tensor<1x8x6x6xf32>) {accumulate, activation = #lathe<activation relu>} -> tensor<1x8x6x6xf32>
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]
func.func @conv_residual_then_relu(%x: tensor<1x8x6x6xf32>, %w: tensor<8x8x1x1xf32>, %r: tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x6x6xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x8x6x6xf32>, tensor<8x8x1x1xf32>) outs(%f : tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c, %r : tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>) outs(%e : tensor<1x8x6x6xf32>) {
  ^bb0(%a: f32, %res: f32, %o: f32):
    %t = arith.addf %a, %res : f32
    linalg.yield %t : f32
  } -> tensor<1x8x6x6xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x8x6x6xf32>) outs(%e : tensor<1x8x6x6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x8x6x6xf32>
  return %y : tensor<1x8x6x6xf32>
}

// Inference batch norm as torch-mlir writes it, then ReLU (select of ugt):
// (x - mean) * rsqrt(var + eps) * gamma + beta with per-channel constants
// folds into the convolution's constant filter and bias, and the ReLU into
// its activation: filter * s, bias * s + (beta - mean * s), exact here.
// Channel 0: s = 2 * rsqrt(3 + 1) = 1, t = 0.5 - 1 * 1 = -0.5; channel 1:
// s = 8 * rsqrt(15 + 1) = 2, t = 1 - 0.75 * 2 = -0.5.
#c = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func.func @conv_batch_norm_relu
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[\[\[\[}}2.000000e+00]]], {{\[\[\[}}6.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<-5.000000e-01> : tensor<2xf32>
// CHECK: %[[Y:.*]] = lathe.conv2d ins(%{{.*}}, %[[W]] : tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) bias(%[[B]] : tensor<2xf32>) outs(%{{.*}} : tensor<1x2x4x4xf32>) {activation = #lathe<activation relu>} -> tensor<1x2x4x4xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @conv_batch_norm_relu(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = arith.constant dense<[[[[2.0]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  %mean = arith.constant dense<[1.0, 0.75]> : tensor<2xf32>
  %var = arith.constant dense<[3.0, 15.0]> : tensor<2xf32>
  %gamma = arith.constant dense<[2.0, 8.0]> : tensor<2xf32>
  %beta = arith.constant dense<[0.5, 1.0]> : tensor<2xf32>
  %eps = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) outs(%f : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %y = linalg.generic {indexing_maps = [#id, #c, #c, #c, #c, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c, %mean, %var, %gamma, %beta : tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) outs(%e : tensor<1x2x4x4xf32>) {
  ^bb0(%in: f32, %m: f32, %v: f32, %g: f32, %b: f32, %o: f32):
    %0 = arith.subf %in, %m : f32
    %1 = arith.addf %v, %eps : f32
    %2 = math.rsqrt %1 : f32
    %3 = arith.mulf %0, %2 : f32
    %4 = arith.mulf %3, %g : f32
    %5 = arith.addf %4, %b : f32
    %6 = arith.cmpf ugt, %5, %zero : f32
    %7 = arith.select %6, %5, %zero : f32
    linalg.yield %7 : f32
  } -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// x appears twice after the affine part's end (x * s and x itself): nothing
// is folded.
// CHECK-LABEL: func.func @affine_and_raw_x
// CHECK: lathe.conv2d
// CHECK-NOT: bias
// CHECK: linalg.generic
func.func @affine_and_raw_x(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = arith.constant dense<[[[[2.0]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  %g = arith.constant dense<[2.0, 4.0]> : tensor<2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) outs(%f : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %y = linalg.generic {indexing_maps = [#id, #c, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c, %g : tensor<1x2x4x4xf32>, tensor<2xf32>) outs(%e : tensor<1x2x4x4xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %0 = arith.mulf %in, %s : f32
    %1 = arith.maximumf %0, %in : f32
    linalg.yield %1 : f32
  } -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}
