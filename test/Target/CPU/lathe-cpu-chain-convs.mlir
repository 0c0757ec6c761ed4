// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(lathe-cpu-chain-convs))' | FileCheck %s
// block-channels=false (the accelerator's pipeline): the first convolution
// still shrinks, nothing is channel-blocked.
// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(lathe-cpu-chain-convs{block-channels=false}))' | FileCheck %s --check-prefix=PLAIN
// channels-last=true (--precision=bf16): see @residual_blocks.
// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(lathe-cpu-chain-convs{channels-last=true}))' | FileCheck %s --check-prefix=CL
// PLAIN-LABEL: func.func @shrink_and_block
// PLAIN: lathe.conv2d ins(%arg0, %arg1 : tensor<2x3x18x18xf32>, tensor<16x3x3x3xf32>) outs(%{{.*}} : tensor<2x16x7x7xf32>)
// PLAIN-NOT: _block
// PLAIN-LABEL: func.func @shrink_to_slice

// Demand: the second conv (3x3, stride 2, 3x3 output) reads 7x7 of the pooled
// 8x8, so the first computes 7x7 (its convolution 14x14 instead of 16x16); then
// both stay channel-blocked between them.
// CHECK-LABEL: func.func @shrink_and_block
// CHECK-NOT: tensor.empty() : tensor<2x16x
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<2x1x7x7x16xf32>
// CHECK: %[[A:.*]] = lathe.conv2d ins(%arg0, %arg1 : tensor<2x3x18x18xf32>, tensor<16x3x3x3xf32>) outs(%[[E1]] : tensor<2x1x7x7x16xf32>) {output_block = 16 : i64, pool = #lathe<pool max>, pool_strides = array<i64: 2, 2>, pool_window = array<i64: 2, 2>}
// CHECK: lathe.conv2d ins(%[[A]], %arg2 : tensor<2x1x7x7x16xf32>, tensor<32x16x3x3xf32>) outs(%{{.*}} : tensor<2x32x3x3xf32>) {input_block = 16 : i64, strides = array<i64: 2, 2>}
func.func @shrink_and_block(%x: tensor<2x3x18x18xf32>, %w1: tensor<16x3x3x3xf32>, %w2: tensor<32x16x3x3xf32>) -> tensor<2x32x3x3xf32> {
  %e1 = tensor.empty() : tensor<2x16x8x8xf32>
  %a = lathe.conv2d ins(%x, %w1 : tensor<2x3x18x18xf32>, tensor<16x3x3x3xf32>) outs(%e1 : tensor<2x16x8x8xf32>) {pool = #lathe<pool max>, pool_window = array<i64: 2, 2>, pool_strides = array<i64: 2, 2>} -> tensor<2x16x8x8xf32>
  %e2 = tensor.empty() : tensor<2x32x3x3xf32>
  %b = lathe.conv2d ins(%a, %w2 : tensor<2x16x8x8xf32>, tensor<32x16x3x3xf32>) outs(%e2 : tensor<2x32x3x3xf32>) {strides = array<i64: 2, 2>} -> tensor<2x32x3x3xf32>
  return %b : tensor<2x32x3x3xf32>
}

// -----

// A slice keeping a prefix: the producer computes only that prefix; the slice
// then keeps all of it. Not blocked: 8 channels.
// CHECK-LABEL: func.func @shrink_to_slice
// CHECK-NOT: tensor.empty() : tensor<1x8x6x6xf32>
// CHECK: %[[A:.*]] = lathe.conv2d {{.*}} outs(%{{.*}} : tensor<1x8x4x5xf32>) -> tensor<1x8x4x5xf32>
// CHECK: tensor.extract_slice %[[A]][0, 0, 0, 0] [1, 8, 4, 5] [1, 1, 1, 1] : tensor<1x8x4x5xf32> to tensor<1x8x4x5xf32>
func.func @shrink_to_slice(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x4x5xf32> {
  %e = tensor.empty() : tensor<1x8x6x6xf32>
  %a = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) outs(%e : tensor<1x8x6x6xf32>) {layout = #lathe<layout nchw>} -> tensor<1x8x6x6xf32>
  %s = tensor.extract_slice %a[0, 0, 0, 0] [1, 8, 4, 5] [1, 1, 1, 1] : tensor<1x8x6x6xf32> to tensor<1x8x4x5xf32>
  return %s : tensor<1x8x4x5xf32>
}

// -----

// A cropping slice of whole channel blocks becomes a slice of the blocked
// tensor; the middle conv reads and writes blocked.
// CHECK-LABEL: func.func @block_through_slice
// CHECK: %[[A:.*]] = lathe.conv2d ins(%arg0, %arg1 {{.*}} : tensor<1x2x6x6x16xf32>) {output_block = 16 : i64}
// CHECK: %[[S:.*]] = tensor.extract_slice %[[A]][0, 1, 1, 1, 0] [1, 1, 4, 4, 16] [1, 1, 1, 1, 1] : tensor<1x2x6x6x16xf32> to tensor<1x1x4x4x16xf32>
// CHECK: %[[B:.*]] = lathe.conv2d ins(%[[S]], %arg2 : tensor<1x1x4x4x16xf32>, tensor<16x16x1x1xf32>) outs(%{{.*}} : tensor<1x1x4x4x16xf32>) {input_block = 16 : i64, output_block = 16 : i64}
// CHECK: lathe.conv2d ins(%[[B]], %arg3 : tensor<1x1x4x4x16xf32>, tensor<4x16x3x3xf32>) outs(%{{.*}} : tensor<1x4x2x2xf32>) {input_block = 16 : i64}
func.func @block_through_slice(%x: tensor<1x3x8x8xf32>, %w1: tensor<32x3x3x3xf32>, %w2: tensor<16x16x1x1xf32>, %w3: tensor<4x16x3x3xf32>) -> tensor<1x4x2x2xf32> {
  %e1 = tensor.empty() : tensor<1x32x6x6xf32>
  %a = lathe.conv2d ins(%x, %w1 : tensor<1x3x8x8xf32>, tensor<32x3x3x3xf32>) outs(%e1 : tensor<1x32x6x6xf32>) -> tensor<1x32x6x6xf32>
  %s = tensor.extract_slice %a[0, 16, 1, 1] [1, 16, 4, 4] [1, 1, 1, 1] : tensor<1x32x6x6xf32> to tensor<1x16x4x4xf32>
  %e2 = tensor.empty() : tensor<1x16x4x4xf32>
  %b = lathe.conv2d ins(%s, %w2 : tensor<1x16x4x4xf32>, tensor<16x16x1x1xf32>) outs(%e2 : tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32>
  %e3 = tensor.empty() : tensor<1x4x2x2xf32>
  %c = lathe.conv2d ins(%b, %w3 : tensor<1x16x4x4xf32>, tensor<4x16x3x3xf32>) outs(%e3 : tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  return %c : tensor<1x4x2x2xf32>
}

// -----

// Left alone: a result that is also returned (not only read by convolutions),
// an nhwc consumer of an nchw output and an nchw consumer of an nhwc output
// (16 channels each), a consumer reading it as its filter, channels not a
// multiple of 16, dynamic shapes.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: _block
// CHECK-NOT: tensor<{{[0-9]+}}x{{[0-9]+}}x{{[0-9]+}}x{{[0-9]+}}x{{[0-9]+}}xf32>
// CHECK: return
func.func @left_alone(%x: tensor<1x3x8x8xf32>, %w: tensor<16x3x3x3xf32>, %w2: tensor<16x16x3x3xf32>,
                      %xh: tensor<1x8x8x16xf32>, %wh: tensor<3x3x16x16xf32>, %w24: tensor<24x3x3x3xf32>,
                      %w3: tensor<8x24x3x3xf32>, %xd: tensor<?x3x8x8xf32>, %ed: tensor<?x16x6x6xf32>,
                      %wm: tensor<16x6x3x3xf32>, %wn: tensor<3x3x6x16xf32>)
    -> (tensor<1x16x6x6xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x14xf32>, tensor<1x8x4x4xf32>, tensor<?x16x4x4xf32>, tensor<1x14x4x16xf32>) {
  %e = tensor.empty() : tensor<1x16x6x6xf32>
  %a = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) outs(%e : tensor<1x16x6x6xf32>) -> tensor<1x16x6x6xf32>
  %e2 = tensor.empty() : tensor<1x16x4x4xf32>
  %b = lathe.conv2d ins(%a, %w2 : tensor<1x16x6x6xf32>, tensor<16x16x3x3xf32>) outs(%e2 : tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32>
  %eh = tensor.empty() : tensor<1x6x6x16xf32>
  %h = lathe.conv2d ins(%xh, %wh : tensor<1x8x8x16xf32>, tensor<3x3x16x16xf32>) outs(%eh : tensor<1x6x6x16xf32>) {layout = #lathe<layout nhwc>} -> tensor<1x6x6x16xf32>
  %eh2 = tensor.empty() : tensor<1x16x4x14xf32>
  %h2 = lathe.conv2d ins(%h, %wm : tensor<1x6x6x16xf32>, tensor<16x6x3x3xf32>) outs(%eh2 : tensor<1x16x4x14xf32>) -> tensor<1x16x4x14xf32>
  %em = tensor.empty() : tensor<1x16x6x6xf32>
  %m = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) outs(%em : tensor<1x16x6x6xf32>) -> tensor<1x16x6x6xf32>
  %em2 = tensor.empty() : tensor<1x14x4x16xf32>
  %m2 = lathe.conv2d ins(%m, %wn : tensor<1x16x6x6xf32>, tensor<3x3x6x16xf32>) outs(%em2 : tensor<1x14x4x16xf32>) {layout = #lathe<layout nhwc>} -> tensor<1x14x4x16xf32>
  %e24 = tensor.empty() : tensor<1x24x6x6xf32>
  %c = lathe.conv2d ins(%x, %w24 : tensor<1x3x8x8xf32>, tensor<24x3x3x3xf32>) outs(%e24 : tensor<1x24x6x6xf32>) -> tensor<1x24x6x6xf32>
  %e3 = tensor.empty() : tensor<1x8x4x4xf32>
  %d = lathe.conv2d ins(%c, %w3 : tensor<1x24x6x6xf32>, tensor<8x24x3x3xf32>) outs(%e3 : tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %g = lathe.conv2d ins(%xd, %w : tensor<?x3x8x8xf32>, tensor<16x3x3x3xf32>) outs(%ed : tensor<?x16x6x6xf32>) -> tensor<?x16x6x6xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %xd, %c0 : tensor<?x3x8x8xf32>
  %eg = tensor.empty(%n) : tensor<?x16x4x4xf32>
  %g2 = lathe.conv2d ins(%g, %w2 : tensor<?x16x6x6xf32>, tensor<16x16x3x3xf32>) outs(%eg : tensor<?x16x4x4xf32>) -> tensor<?x16x4x4xf32>
  return %a, %b, %h2, %d, %g2, %m2 : tensor<1x16x6x6xf32>, tensor<1x16x4x4xf32>, tensor<1x16x4x14xf32>, tensor<1x8x4x4xf32>, tensor<?x16x4x4xf32>, tensor<1x14x4x16xf32>
}

// -----

// A zero tensor.pad of the spatial dims becomes the convolution's padding
// (added to what it had); a pad the producer's demand counts from: the
// consumer (pad 2 top/left, 3x3, 4x4 output) reads padded rows 0..5, i.e.
// producer rows 0..3 of 6, so the producer shrinks to 4x4.
// CHECK-LABEL: func.func @fold_padding
// CHECK-NOT: tensor.pad
// CHECK: %[[A:.*]] = lathe.conv2d ins(%arg0, %arg1 {{.*}} outs(%{{.*}} : tensor<1x8x4x4xf32>) {padding = array<i64: 1, 1, 1, 1>}
// CHECK: lathe.conv2d ins(%[[A]], %arg2 : tensor<1x8x4x4xf32>, tensor<4x8x3x3xf32>) outs(%{{.*}} : tensor<1x4x4x4xf32>) {padding = array<i64: 2, 2, 0, 0>}
func.func @fold_padding(%x: tensor<1x3x6x6xf32>, %w: tensor<8x3x3x3xf32>, %w2: tensor<4x8x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %z = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %z : f32
  } : tensor<1x3x6x6xf32> to tensor<1x3x8x8xf32>
  %e = tensor.empty() : tensor<1x8x6x6xf32>
  %a = lathe.conv2d ins(%p, %w : tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) outs(%e : tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %p2 = tensor.pad %a low[0, 0, 2, 2] high[0, 0, 0, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %z : f32
  } : tensor<1x8x6x6xf32> to tensor<1x8x8x8xf32>
  %e2 = tensor.empty() : tensor<1x4x4x4xf32>
  %b = lathe.conv2d ins(%p2, %w2 : tensor<1x8x8x8xf32>, tensor<4x8x3x3xf32>) outs(%e2 : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %b : tensor<1x4x4x4xf32>
}

// -----

// Not folded: a non-zero pad value, and a pad of the channel dimension.
// CHECK-LABEL: func.func @pad_left_alone
// CHECK-COUNT-2: tensor.pad
// CHECK-NOT: padding =
func.func @pad_left_alone(%x: tensor<1x3x6x6xf32>, %w: tensor<8x3x3x3xf32>, %w4: tensor<8x4x3x3xf32>) -> (tensor<1x8x6x6xf32>, tensor<1x8x4x4xf32>) {
  %one = arith.constant 1.0 : f32
  %z = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %one : f32
  } : tensor<1x3x6x6xf32> to tensor<1x3x8x8xf32>
  %e = tensor.empty() : tensor<1x8x6x6xf32>
  %a = lathe.conv2d ins(%p, %w : tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) outs(%e : tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %q = tensor.pad %x low[0, 1, 0, 0] high[0, 0, 0, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %z : f32
  } : tensor<1x3x6x6xf32> to tensor<1x4x6x6xf32>
  %e2 = tensor.empty() : tensor<1x8x4x4xf32>
  %b = lathe.conv2d ins(%q, %w4 : tensor<1x4x6x6xf32>, tensor<8x4x3x3xf32>) outs(%e2 : tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  return %a, %b : tensor<1x8x6x6xf32>, tensor<1x8x4x4xf32>
}

// -----

// channels-last (--precision=bf16): a stem convolution, a residual block and
// a downsampling block whose shortcut is a strided 1x1 convolution. Every
// convolution output between convolutions, residuals included, becomes one
// block of all channels ([N, 1, H, W, C]); the last block's output, read by
// the function's return, is copied back to NCHW once.
// CL-LABEL: func.func @residual_blocks
// CL: %[[E0:.*]] = tensor.empty() : tensor<1x1x8x8x24xf32>
// CL: %[[A:.*]] = lathe.conv2d ins(%arg0, %arg1 : tensor<1x8x8x8xf32>, tensor<24x8x1x1xf32>) outs(%[[E0]] : tensor<1x1x8x8x24xf32>) {output_block = 24 : i64}
// CL: %[[B:.*]] = lathe.conv2d ins(%[[A]], %arg2 : tensor<1x1x8x8x24xf32>, tensor<24x24x3x3xf32>) outs(%{{.*}} : tensor<1x1x8x8x24xf32>) {activation = #lathe<activation relu>, input_block = 24 : i64, output_block = 24 : i64, padding = array<i64: 1, 1, 1, 1>}
// CL: %[[C:.*]] = lathe.conv2d ins(%[[B]], %arg3 : tensor<1x1x8x8x24xf32>, tensor<24x24x3x3xf32>) outs(%[[A]] : tensor<1x1x8x8x24xf32>) {accumulate, activation = #lathe<activation relu>, input_block = 24 : i64, output_block = 24 : i64, padding = array<i64: 1, 1, 1, 1>}
// CL: %[[S:.*]] = tensor.extract_slice %[[C]][0, 0, 0, 0, 0] [1, 1, 7, 7, 24] [1, 1, 1, 1, 1]
// CL: %[[D:.*]] = lathe.conv2d ins(%[[S]], %arg4 : tensor<1x1x7x7x24xf32>, tensor<40x24x1x1xf32>) outs(%{{.*}} : tensor<1x1x4x4x40xf32>) {input_block = 24 : i64, output_block = 40 : i64, strides = array<i64: 2, 2>}
// CL: %[[F:.*]] = lathe.conv2d ins(%[[C]], %arg5 : tensor<1x1x8x8x24xf32>, tensor<40x24x3x3xf32>) outs(%{{.*}} : tensor<1x1x4x4x40xf32>) {activation = #lathe<activation relu>, input_block = 24 : i64, output_block = 40 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
// CL: %[[G:.*]] = lathe.conv2d ins(%[[F]], %arg6 : tensor<1x1x4x4x40xf32>, tensor<40x40x3x3xf32>) outs(%[[D]] : tensor<1x1x4x4x40xf32>) {accumulate, activation = #lathe<activation relu>, input_block = 40 : i64, output_block = 40 : i64, padding = array<i64: 1, 1, 1, 1>}
// CL: %[[T:.*]] = linalg.transpose ins(%[[G]] : tensor<1x1x4x4x40xf32>) outs(%{{.*}} : tensor<1x1x40x4x4xf32>) permutation = [0, 1, 4, 2, 3]
// CL: %[[NCHW:.*]] = tensor.collapse_shape %[[T]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x1x40x4x4xf32> into tensor<1x40x4x4xf32>
// CL: return %[[NCHW]]
// The default (nChw16c) chaining: 24 and 40 channels are not multiples of 16.
// CHECK-LABEL: func.func @residual_blocks
// CHECK-NOT: output_block
// CHECK: return
func.func @residual_blocks(%x: tensor<1x8x8x8xf32>, %w0: tensor<24x8x1x1xf32>, %w1: tensor<24x24x3x3xf32>, %w2: tensor<24x24x3x3xf32>, %wd: tensor<40x24x1x1xf32>, %w3: tensor<40x24x3x3xf32>, %w4: tensor<40x40x3x3xf32>) -> tensor<1x40x4x4xf32> {
  %e0 = tensor.empty() : tensor<1x24x8x8xf32>
  %a = lathe.conv2d ins(%x, %w0 : tensor<1x8x8x8xf32>, tensor<24x8x1x1xf32>) outs(%e0 : tensor<1x24x8x8xf32>) -> tensor<1x24x8x8xf32>
  %e1 = tensor.empty() : tensor<1x24x8x8xf32>
  %b = lathe.conv2d ins(%a, %w1 : tensor<1x24x8x8xf32>, tensor<24x24x3x3xf32>) outs(%e1 : tensor<1x24x8x8xf32>) {activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x24x8x8xf32>
  %c = lathe.conv2d ins(%b, %w2 : tensor<1x24x8x8xf32>, tensor<24x24x3x3xf32>) outs(%a : tensor<1x24x8x8xf32>) {accumulate, activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x24x8x8xf32>
  %s = tensor.extract_slice %c[0, 0, 0, 0] [1, 24, 7, 7] [1, 1, 1, 1] : tensor<1x24x8x8xf32> to tensor<1x24x7x7xf32>
  %ed = tensor.empty() : tensor<1x40x4x4xf32>
  %d = lathe.conv2d ins(%s, %wd : tensor<1x24x7x7xf32>, tensor<40x24x1x1xf32>) outs(%ed : tensor<1x40x4x4xf32>) {strides = array<i64: 2, 2>} -> tensor<1x40x4x4xf32>
  %e3 = tensor.empty() : tensor<1x40x4x4xf32>
  %f = lathe.conv2d ins(%c, %w3 : tensor<1x24x8x8xf32>, tensor<40x24x3x3xf32>) outs(%e3 : tensor<1x40x4x4xf32>) {activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} -> tensor<1x40x4x4xf32>
  %g = lathe.conv2d ins(%f, %w4 : tensor<1x40x4x4xf32>, tensor<40x40x3x3xf32>) outs(%d : tensor<1x40x4x4xf32>) {accumulate, activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x40x4x4xf32>
  return %g : tensor<1x40x4x4xf32>
}

// -----

// channels-last: a residual no convolution writes (here an argument; in
// ResNets the max pooling after the stem) is copied to channels-last once, so
// the accumulating convolution still chains.
// CL-LABEL: func.func @residual_from_argument
// CL: %[[B:.*]] = lathe.conv2d ins(%arg0, %arg1 : tensor<1x16x6x6xf32>, tensor<16x16x3x3xf32>) outs(%{{.*}} : tensor<1x1x6x6x16xf32>) {activation = #lathe<activation relu>, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CL: %[[SPLIT:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1, 2], [3], [4]] output_shape [1, 1, 16, 6, 6] : tensor<1x16x6x6xf32> into tensor<1x1x16x6x6xf32>
// CL: %[[R:.*]] = linalg.transpose ins(%[[SPLIT]] : tensor<1x1x16x6x6xf32>) outs(%{{.*}} : tensor<1x1x6x6x16xf32>) permutation = [0, 1, 3, 4, 2]
// CL: %[[C:.*]] = lathe.conv2d ins(%[[B]], %arg2 : tensor<1x1x6x6x16xf32>, tensor<16x16x3x3xf32>) outs(%[[R]] : tensor<1x1x6x6x16xf32>) {accumulate, activation = #lathe<activation relu>, input_block = 16 : i64, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CL: linalg.transpose ins(%[[C]] : tensor<1x1x6x6x16xf32>) outs(%{{.*}} : tensor<1x1x16x6x6xf32>) permutation = [0, 1, 4, 2, 3]
func.func @residual_from_argument(%x: tensor<1x16x6x6xf32>, %w1: tensor<16x16x3x3xf32>, %w2: tensor<16x16x3x3xf32>) -> tensor<1x16x6x6xf32> {
  %e1 = tensor.empty() : tensor<1x16x6x6xf32>
  %b = lathe.conv2d ins(%x, %w1 : tensor<1x16x6x6xf32>, tensor<16x16x3x3xf32>) outs(%e1 : tensor<1x16x6x6xf32>) {activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x6x6xf32>
  %c = lathe.conv2d ins(%b, %w2 : tensor<1x16x6x6xf32>, tensor<16x16x3x3xf32>) outs(%x : tensor<1x16x6x6xf32>) {accumulate, activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x6x6xf32>
  return %c : tensor<1x16x6x6xf32>
}

// -----

// The default chaining (f32, nChw16c) through residual connections: an
// identity block whose residual is an argument (copied to nChw16c once) and
// a downsampling block whose shortcut is a strided 1x1 convolution. Every
// convolution output is [N, C/16, H, W, 16]; the last, read by the return, is
// copied back to NCHW once.
// CHECK-LABEL: func.func @residual_blocks16
// CHECK: %[[B:.*]] = lathe.conv2d ins(%arg0, %arg1 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%{{.*}} : tensor<1x1x8x8x16xf32>) {activation = #lathe<activation relu>, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CHECK: %[[SPLIT:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1, 2], [3], [4]] output_shape [1, 1, 16, 8, 8] : tensor<1x16x8x8xf32> into tensor<1x1x16x8x8xf32>
// CHECK: %[[R:.*]] = linalg.transpose ins(%[[SPLIT]] : tensor<1x1x16x8x8xf32>) outs(%{{.*}} : tensor<1x1x8x8x16xf32>) permutation = [0, 1, 3, 4, 2]
// CHECK: %[[C:.*]] = lathe.conv2d ins(%[[B]], %arg2 : tensor<1x1x8x8x16xf32>, tensor<16x16x3x3xf32>) outs(%[[R]] : tensor<1x1x8x8x16xf32>) {accumulate, activation = #lathe<activation relu>, input_block = 16 : i64, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CHECK: %[[D:.*]] = lathe.conv2d ins(%[[C]], %arg3 : tensor<1x1x8x8x16xf32>, tensor<32x16x1x1xf32>) outs(%{{.*}} : tensor<1x2x4x4x16xf32>) {input_block = 16 : i64, output_block = 16 : i64, strides = array<i64: 2, 2>}
// CHECK: %[[F:.*]] = lathe.conv2d ins(%[[C]], %arg4 : tensor<1x1x8x8x16xf32>, tensor<32x16x3x3xf32>) outs(%{{.*}} : tensor<1x2x4x4x16xf32>) {activation = #lathe<activation relu>, input_block = 16 : i64, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
// CHECK: %[[G:.*]] = lathe.conv2d ins(%[[F]], %arg5 : tensor<1x2x4x4x16xf32>, tensor<32x32x3x3xf32>) outs(%[[D]] : tensor<1x2x4x4x16xf32>) {accumulate, activation = #lathe<activation relu>, input_block = 16 : i64, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[G]] : tensor<1x2x4x4x16xf32>) outs(%{{.*}} : tensor<1x2x16x4x4xf32>) permutation = [0, 1, 4, 2, 3]
// CHECK: %[[NCHW:.*]] = tensor.collapse_shape %[[T]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x2x16x4x4xf32> into tensor<1x32x4x4xf32>
// CHECK: return %[[NCHW]]
func.func @residual_blocks16(%x: tensor<1x16x8x8xf32>, %w1: tensor<16x16x3x3xf32>, %w2: tensor<16x16x3x3xf32>, %wd: tensor<32x16x1x1xf32>, %w3: tensor<32x16x3x3xf32>, %w4: tensor<32x32x3x3xf32>) -> tensor<1x32x4x4xf32> {
  %e1 = tensor.empty() : tensor<1x16x8x8xf32>
  %b = lathe.conv2d ins(%x, %w1 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%e1 : tensor<1x16x8x8xf32>) {activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  %c = lathe.conv2d ins(%b, %w2 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%x : tensor<1x16x8x8xf32>) {accumulate, activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  %ed = tensor.empty() : tensor<1x32x4x4xf32>
  %d = lathe.conv2d ins(%c, %wd : tensor<1x16x8x8xf32>, tensor<32x16x1x1xf32>) outs(%ed : tensor<1x32x4x4xf32>) {strides = array<i64: 2, 2>} -> tensor<1x32x4x4xf32>
  %e3 = tensor.empty() : tensor<1x32x4x4xf32>
  %f = lathe.conv2d ins(%c, %w3 : tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32>) outs(%e3 : tensor<1x32x4x4xf32>) {activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} -> tensor<1x32x4x4xf32>
  %g = lathe.conv2d ins(%f, %w4 : tensor<1x32x4x4xf32>, tensor<32x32x3x3xf32>) outs(%d : tensor<1x32x4x4xf32>) {accumulate, activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x32x4x4xf32>
  return %g : tensor<1x32x4x4xf32>
}

// -----

// A ResNet stem: the max pooling between the stem convolution and the first
// block reads and writes the chained layout too, so the pooled map feeds the
// block's convolution and its residual blocked (no copy). Channels-last the
// same with one block of all 16 channels.
// CHECK-LABEL: func.func @stem_pool
// CHECK: %[[S:.*]] = lathe.conv2d ins(%arg0, %arg1 : tensor<1x3x16x16xf32>, tensor<16x3x3x3xf32>) outs(%{{.*}} : tensor<1x1x16x16x16xf32>) {activation = #lathe<activation relu>, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CHECK: %[[P:.*]] = lathe.max_pool2d ins(%[[S]] : tensor<1x1x16x16x16xf32>) outs(%{{.*}} : tensor<1x1x8x8x16xf32>) {block = 16 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, window = array<i64: 3, 3>}
// CHECK: %[[B:.*]] = lathe.conv2d ins(%[[P]], %arg2 {{.*}} outs(%{{.*}} : tensor<1x1x8x8x16xf32>) {activation = #lathe<activation relu>, input_block = 16 : i64, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CHECK: %[[C:.*]] = lathe.conv2d ins(%[[B]], %arg3 {{.*}} outs(%[[P]] : tensor<1x1x8x8x16xf32>) {accumulate, activation = #lathe<activation relu>, input_block = 16 : i64, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CHECK-NOT: lathe.max_pool2d ins(%{{.*}} : tensor<1x16x
// CL-LABEL: func.func @stem_pool
// CL: lathe.max_pool2d ins(%{{.*}} : tensor<1x1x16x16x16xf32>) outs(%{{.*}} : tensor<1x1x8x8x16xf32>) {block = 16 : i64
func.func @stem_pool(%x: tensor<1x3x16x16xf32>, %w0: tensor<16x3x3x3xf32>, %w1: tensor<16x16x3x3xf32>, %w2: tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32> {
  %e0 = tensor.empty() : tensor<1x16x16x16xf32>
  %s = lathe.conv2d ins(%x, %w0 : tensor<1x3x16x16xf32>, tensor<16x3x3x3xf32>) outs(%e0 : tensor<1x16x16x16xf32>) {activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x16x16xf32>
  %ep = tensor.empty() : tensor<1x16x8x8xf32>
  %p = lathe.max_pool2d ins(%s : tensor<1x16x16x16xf32>) outs(%ep : tensor<1x16x8x8xf32>) {window = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  %e1 = tensor.empty() : tensor<1x16x8x8xf32>
  %b = lathe.conv2d ins(%p, %w1 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%e1 : tensor<1x16x8x8xf32>) {activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  %c = lathe.conv2d ins(%b, %w2 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%p : tensor<1x16x8x8xf32>) {accumulate, activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  return %c : tensor<1x16x8x8xf32>
}

// -----

// NHWC (JAX's form) chains into nChw16c too: the stem (one input channel,
// read plain) writes blocked, the identity block's residual is the stem's
// output (no copy), the strided convolution reads and writes blocked, and the
// last output, read by the return, is copied back to NHWC once. The filters
// stay HWCF. With channels-last (bf16) nothing changes: NHWC already is
// channels-last. An NHWC output with 8 channels, or also read by something
// other than a convolution (the second return value), stays plain.
// CHECK-LABEL: func.func @nhwc_residual
// CHECK: %[[A:.*]] = lathe.conv2d ins(%arg0, %arg1 : tensor<2x8x8x1xf32>, tensor<3x3x1x16xf32>) outs(%{{.*}} : tensor<2x1x8x8x16xf32>) {activation = #lathe<activation relu>, layout = #lathe<layout nhwc>, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CHECK: %[[B:.*]] = lathe.conv2d ins(%[[A]], %arg2 : tensor<2x1x8x8x16xf32>, tensor<3x3x16x16xf32>) outs(%{{.*}} : tensor<2x1x8x8x16xf32>) {activation = #lathe<activation relu>, input_block = 16 : i64, layout = #lathe<layout nhwc>, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CHECK: %[[C:.*]] = lathe.conv2d ins(%[[B]], %arg2 : tensor<2x1x8x8x16xf32>, tensor<3x3x16x16xf32>) outs(%[[A]] : tensor<2x1x8x8x16xf32>) {accumulate, activation = #lathe<activation relu>, input_block = 16 : i64, layout = #lathe<layout nhwc>, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CHECK: %[[D:.*]] = lathe.conv2d ins(%[[C]], %arg3 : tensor<2x1x8x8x16xf32>, tensor<3x3x16x32xf32>) outs(%{{.*}} : tensor<2x2x4x4x16xf32>) {input_block = 16 : i64, layout = #lathe<layout nhwc>, output_block = 16 : i64, padding = array<i64: 0, 0, 1, 1>, strides = array<i64: 2, 2>}
// CHECK: %[[E:.*]] = lathe.conv2d ins(%[[D]], %arg4 : tensor<2x2x4x4x16xf32>, tensor<3x3x32x32xf32>) outs(%{{.*}} : tensor<2x2x4x4x16xf32>) {input_block = 16 : i64, layout = #lathe<layout nhwc>, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CHECK: %[[F:.*]] = lathe.conv2d ins(%[[E]], %arg4 : tensor<2x2x4x4x16xf32>, tensor<3x3x32x32xf32>) outs(%[[D]] : tensor<2x2x4x4x16xf32>) {accumulate, input_block = 16 : i64, layout = #lathe<layout nhwc>, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[F]] : tensor<2x2x4x4x16xf32>) outs(%{{.*}} : tensor<2x4x4x2x16xf32>) permutation = [0, 2, 3, 1, 4]
// CHECK: %[[NHWC:.*]] = tensor.collapse_shape %[[T]] {{\[\[}}0], [1], [2], [3, 4]] : tensor<2x4x4x2x16xf32> into tensor<2x4x4x32xf32>
// CHECK: %[[P:.*]] = lathe.conv2d ins(%arg0, %arg1 : tensor<2x8x8x1xf32>, tensor<3x3x1x16xf32>) outs(%{{.*}} : tensor<2x8x8x16xf32>) {layout = #lathe<layout nhwc>, padding = array<i64: 1, 1, 1, 1>}
// CHECK: lathe.conv2d ins(%[[P]], %arg2 : tensor<2x8x8x16xf32>, tensor<3x3x16x16xf32>) outs(%{{.*}} : tensor<2x8x8x16xf32>) {layout = #lathe<layout nhwc>, padding = array<i64: 1, 1, 1, 1>}
// CHECK: %[[Q:.*]] = lathe.conv2d ins(%arg0, %arg5 : tensor<2x8x8x1xf32>, tensor<3x3x1x8xf32>) outs(%{{.*}} : tensor<2x8x8x8xf32>) {layout = #lathe<layout nhwc>, padding = array<i64: 1, 1, 1, 1>}
// CHECK: lathe.conv2d ins(%[[Q]], %arg6 : tensor<2x8x8x8xf32>, tensor<1x1x8x16xf32>) outs(%{{.*}} : tensor<2x8x8x16xf32>) {layout = #lathe<layout nhwc>}
// CHECK: return %[[NHWC]], %[[P]]
// PLAIN-LABEL: func.func @nhwc_residual
// PLAIN-NOT: _block
// PLAIN: return
// CL-LABEL: func.func @nhwc_residual
// CL-NOT: _block
// CL: return
func.func @nhwc_residual(%x: tensor<2x8x8x1xf32>, %w0: tensor<3x3x1x16xf32>, %w1: tensor<3x3x16x16xf32>, %wd: tensor<3x3x16x32xf32>, %w2: tensor<3x3x32x32xf32>, %w8: tensor<3x3x1x8xf32>, %w9: tensor<1x1x8x16xf32>)
    -> (tensor<2x4x4x32xf32>, tensor<2x8x8x16xf32>, tensor<2x8x8x16xf32>, tensor<2x8x8x16xf32>) {
  %e0 = tensor.empty() : tensor<2x8x8x16xf32>
  %a = lathe.conv2d ins(%x, %w0 : tensor<2x8x8x1xf32>, tensor<3x3x1x16xf32>) outs(%e0 : tensor<2x8x8x16xf32>) {layout = #lathe<layout nhwc>, activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<2x8x8x16xf32>
  %e1 = tensor.empty() : tensor<2x8x8x16xf32>
  %b = lathe.conv2d ins(%a, %w1 : tensor<2x8x8x16xf32>, tensor<3x3x16x16xf32>) outs(%e1 : tensor<2x8x8x16xf32>) {layout = #lathe<layout nhwc>, activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<2x8x8x16xf32>
  %c = lathe.conv2d ins(%b, %w1 : tensor<2x8x8x16xf32>, tensor<3x3x16x16xf32>) outs(%a : tensor<2x8x8x16xf32>) {layout = #lathe<layout nhwc>, accumulate, activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<2x8x8x16xf32>
  %ed = tensor.empty() : tensor<2x4x4x32xf32>
  %d = lathe.conv2d ins(%c, %wd : tensor<2x8x8x16xf32>, tensor<3x3x16x32xf32>) outs(%ed : tensor<2x4x4x32xf32>) {layout = #lathe<layout nhwc>, padding = array<i64: 0, 0, 1, 1>, strides = array<i64: 2, 2>} -> tensor<2x4x4x32xf32>
  %ee = tensor.empty() : tensor<2x4x4x32xf32>
  %e = lathe.conv2d ins(%d, %w2 : tensor<2x4x4x32xf32>, tensor<3x3x32x32xf32>) outs(%ee : tensor<2x4x4x32xf32>) {layout = #lathe<layout nhwc>, padding = array<i64: 1, 1, 1, 1>} -> tensor<2x4x4x32xf32>
  %f = lathe.conv2d ins(%e, %w2 : tensor<2x4x4x32xf32>, tensor<3x3x32x32xf32>) outs(%d : tensor<2x4x4x32xf32>) {layout = #lathe<layout nhwc>, accumulate, padding = array<i64: 1, 1, 1, 1>} -> tensor<2x4x4x32xf32>
  %p = lathe.conv2d ins(%x, %w0 : tensor<2x8x8x1xf32>, tensor<3x3x1x16xf32>) outs(%e0 : tensor<2x8x8x16xf32>) {layout = #lathe<layout nhwc>, padding = array<i64: 1, 1, 1, 1>} -> tensor<2x8x8x16xf32>
  %pe = tensor.empty() : tensor<2x8x8x16xf32>
  %p2 = lathe.conv2d ins(%p, %w1 : tensor<2x8x8x16xf32>, tensor<3x3x16x16xf32>) outs(%pe : tensor<2x8x8x16xf32>) {layout = #lathe<layout nhwc>, padding = array<i64: 1, 1, 1, 1>} -> tensor<2x8x8x16xf32>
  %qe = tensor.empty() : tensor<2x8x8x8xf32>
  %q = lathe.conv2d ins(%x, %w8 : tensor<2x8x8x1xf32>, tensor<3x3x1x8xf32>) outs(%qe : tensor<2x8x8x8xf32>) {layout = #lathe<layout nhwc>, padding = array<i64: 1, 1, 1, 1>} -> tensor<2x8x8x8xf32>
  %q2 = lathe.conv2d ins(%q, %w9 : tensor<2x8x8x8xf32>, tensor<1x1x8x16xf32>) outs(%pe : tensor<2x8x8x16xf32>) {layout = #lathe<layout nhwc>} -> tensor<2x8x8x16xf32>
  return %f, %p, %p2, %q2 : tensor<2x4x4x32xf32>, tensor<2x8x8x16xf32>, tensor<2x8x8x16xf32>, tensor<2x8x8x16xf32>
}
