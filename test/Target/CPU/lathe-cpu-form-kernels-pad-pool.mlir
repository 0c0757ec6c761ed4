// RUN: lathe-opt %s --pass-pipeline="builtin.module(func.func(lathe-cpu-form-kernels))" | FileCheck %s
// RUN: lathe-opt %s --pass-pipeline="builtin.module(func.func(lathe-cpu-form-kernels{fuse-pooling=false}))" | FileCheck %s --check-prefix=NOFUSE
// NOFUSE-NOT: lathe.max_pool2d

// ResNet's stem pooling: 3x3 / 2 of a -inf pad of 1 -> one lathe.max_pool2d.
// CHECK-LABEL: func.func @stem
// CHECK-SAME: %[[X:.*]]: tensor<1x4x8x8xf32>
// The op overwrites its init: the -inf fill goes.
// CHECK: %[[F:.*]] = tensor.empty() : tensor<1x4x4x4xf32>
// CHECK-NOT: linalg.fill
// CHECK: %[[Y:.*]] = lathe.max_pool2d ins(%[[X]] : tensor<1x4x8x8xf32>) outs(%[[F]] : tensor<1x4x4x4xf32>) {padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, window = array<i64: 3, 3>}
// CHECK-NOT: tensor.pad
// CHECK: return %[[Y]]
func.func @stem(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %ninf : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  %win = tensor.empty() : tensor<3x3xf32>
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %y = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%p, %win : tensor<1x4x10x10xf32>, tensor<3x3xf32>) outs(%f : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// NHWC, padding after only (ceil_mode), unequal per side.
// CHECK-LABEL: func.func @nhwc_ceil
// CHECK: lathe.max_pool2d ins(%{{.*}} : tensor<2x7x5x3xf32>) outs(%{{.*}} : tensor<2x4x3x3xf32>) {layout = #lathe<layout nhwc>, padding = array<i64: 0, 0, 1, 1>, strides = array<i64: 2, 2>, window = array<i64: 2, 2>}
func.func @nhwc_ceil(%x: tensor<2x7x5x3xf32>) -> tensor<2x4x3x3xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 0, 0, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %ninf : f32
  } : tensor<2x7x5x3xf32> to tensor<2x8x6x3xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x4x3x3xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32>
  %y = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%p, %win : tensor<2x8x6x3xf32>, tensor<2x2xf32>) outs(%f : tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32>
  return %y : tensor<2x4x3x3xf32>
}

// Look-alikes, all left as they are.

// Zero padding is not -inf padding (a negative input would differ).
// CHECK-LABEL: func.func @zero_pad
// CHECK-NOT: lathe.max_pool2d
// CHECK: tensor.pad
// CHECK: linalg.pooling_nchw_max
func.func @zero_pad(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  %win = tensor.empty() : tensor<3x3xf32>
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %y = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%p, %win : tensor<1x4x10x10xf32>, tensor<3x3xf32>) outs(%f : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// Padded channels are pooled as data (NCHW pads dimension 1).
// CHECK-LABEL: func.func @channel_pad
// CHECK-NOT: lathe.max_pool2d
// CHECK: linalg.pooling_nchw_max
func.func @channel_pad(%x: tensor<1x4x8x8xf32>) -> tensor<1x6x4x4xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 1, 1, 1] high[0, 1, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %ninf : f32
  } : tensor<1x4x8x8xf32> to tensor<1x6x10x10xf32>
  %win = tensor.empty() : tensor<3x3xf32>
  %e = tensor.empty() : tensor<1x6x4x4xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x6x4x4xf32>) -> tensor<1x6x4x4xf32>
  %y = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%p, %win : tensor<1x6x10x10xf32>, tensor<3x3xf32>) outs(%f : tensor<1x6x4x4xf32>) -> tensor<1x6x4x4xf32>
  return %y : tensor<1x6x4x4xf32>
}

// The pooling keeps the larger of its init (not a -inf fill) and the window.
// CHECK-LABEL: func.func @zero_init
// CHECK-NOT: lathe.max_pool2d
// CHECK: linalg.pooling_nchw_max
func.func @zero_init(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %ninf : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  %win = tensor.empty() : tensor<3x3xf32>
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %y = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%p, %win : tensor<1x4x10x10xf32>, tensor<3x3xf32>) outs(%f : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// A padding value that depends on the position is no constant.
// CHECK-LABEL: func.func @indexed_pad
// CHECK-NOT: lathe.max_pool2d
// CHECK: linalg.pooling_nchw_max
func.func @indexed_pad(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    %ki = arith.index_cast %k : index to i32
    %kf = arith.sitofp %ki : i32 to f32
    tensor.yield %kf : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  %win = tensor.empty() : tensor<3x3xf32>
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %y = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%p, %win : tensor<1x4x10x10xf32>, tensor<3x3xf32>) outs(%f : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// The first 2x2 window (stride 2) of a padding of 2 takes padding only: -inf,
// where oneDNN's padded pooling would give -FLT_MAX.
// CHECK-LABEL: func.func @window_of_padding
// CHECK-NOT: lathe.max_pool2d
// CHECK: linalg.pooling_nchw_max
func.func @window_of_padding(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x6x6xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 0, 2, 2] high[0, 0, 2, 2] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %ninf : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x12x12xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %e = tensor.empty() : tensor<1x4x6x6xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %y = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%p, %win : tensor<1x4x12x12xf32>, tensor<2x2xf32>) outs(%f : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// A sum pooling of a -inf pad is no max pooling.
// CHECK-LABEL: func.func @sum_pool
// CHECK-NOT: lathe.max_pool2d
// CHECK: linalg.pooling_nchw_sum
func.func @sum_pool(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %ninf : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  %win = tensor.empty() : tensor<3x3xf32>
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %y = linalg.pooling_nchw_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%p, %win : tensor<1x4x10x10xf32>, tensor<3x3xf32>) outs(%f : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}
