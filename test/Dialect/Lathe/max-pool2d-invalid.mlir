// RUN: lathe-opt %s -split-input-file -verify-diagnostics

func.func @channels(%x: tensor<1x3x8x8xf32>, %e: tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32> {
  // expected-error @+1 {{expects input and init with the same batch and channels (layout nchw), got 'tensor<1x3x8x8xf32>' and 'tensor<1x4x4x4xf32>'}}
  %y = lathe.max_pool2d ins(%x : tensor<1x3x8x8xf32>) outs(%e : tensor<1x4x4x4xf32>) {window = array<i64: 2, 2>, strides = array<i64: 2, 2>} -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

func.func @window(%x: tensor<1x3x8x8xf32>, %e: tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error @+1 {{expects window to be two values >= 1, got [0, 2]}}
  %y = lathe.max_pool2d ins(%x : tensor<1x3x8x8xf32>) outs(%e : tensor<1x3x4x4xf32>) {window = array<i64: 0, 2>} -> tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}

// -----

func.func @negative_padding(%x: tensor<1x3x8x8xf32>, %e: tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error @+1 {{expects padding to be four values >= 0 (top, left, bottom, right), got [1, -1, 1, 1]}}
  %y = lathe.max_pool2d ins(%x : tensor<1x3x8x8xf32>) outs(%e : tensor<1x3x4x4xf32>) {window = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 1, -1, 1, 1>} -> tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}

// -----

func.func @too_tall(%x: tensor<1x3x8x8xf32>, %e: tensor<1x3x5x4xf32>) -> tensor<1x3x5x4xf32> {
  // expected-error @+1 {{output height 5 reads 10 rows, but the padded input has 9}}
  %y = lathe.max_pool2d ins(%x : tensor<1x3x8x8xf32>) outs(%e : tensor<1x3x5x4xf32>) {window = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 1, 0, 0, 0>} -> tensor<1x3x5x4xf32>
  return %y : tensor<1x3x5x4xf32>
}

// -----

func.func @window_of_padding(%x: tensor<1x3x8x8xf32>, %e: tensor<1x3x6x4xf32>) -> tensor<1x3x6x4xf32> {
  // expected-error @+1 {{has a pooling window that takes only padding rows (input 8, padding 2 and 2)}}
  %y = lathe.max_pool2d ins(%x : tensor<1x3x8x8xf32>) outs(%e : tensor<1x3x6x4xf32>) {window = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 2, 0, 2, 0>} -> tensor<1x3x6x4xf32>
  return %y : tensor<1x3x6x4xf32>
}

// -----

func.func @rank(%x: tensor<3x8x8xf32>, %e: tensor<3x4x4xf32>) -> tensor<3x4x4xf32> {
  // expected-error @+1 {{expects rank-4 operands, got 'tensor<3x8x8xf32>'}}
  %y = lathe.max_pool2d ins(%x : tensor<3x8x8xf32>) outs(%e : tensor<3x4x4xf32>) {window = array<i64: 2, 2>} -> tensor<3x4x4xf32>
  return %y : tensor<3x4x4xf32>
}

// -----

func.func @blocked_rank(%x: tensor<1x64x8x8xf32>, %e: tensor<1x64x4x4xf32>) -> tensor<1x64x4x4xf32> {
  // expected-error @+1 {{expects channel-blocked operands [N, C/16, H, W, 16] of rank 5, got 'tensor<1x64x8x8xf32>'}}
  %y = lathe.max_pool2d ins(%x : tensor<1x64x8x8xf32>) outs(%e : tensor<1x64x4x4xf32>) {block = 16 : i64, window = array<i64: 2, 2>, strides = array<i64: 2, 2>} -> tensor<1x64x4x4xf32>
  return %y : tensor<1x64x4x4xf32>
}

// -----

func.func @blocked_nhwc(%x: tensor<1x4x8x8x16xf32>, %e: tensor<1x4x4x4x16xf32>) -> tensor<1x4x4x4x16xf32> {
  // expected-error @+1 {{supports channel-blocked operands (block = 16) with layout nchw only}}
  %y = lathe.max_pool2d ins(%x : tensor<1x4x8x8x16xf32>) outs(%e : tensor<1x4x4x4x16xf32>) {layout = #lathe<layout nhwc>, block = 16 : i64, window = array<i64: 2, 2>, strides = array<i64: 2, 2>} -> tensor<1x4x4x4x16xf32>
  return %y : tensor<1x4x4x4x16xf32>
}

// -----

func.func @blocked_size(%x: tensor<1x2x8x8x8xf32>, %e: tensor<1x2x4x4x8xf32>) -> tensor<1x2x4x4x8xf32> {
  // expected-error @+1 {{supports block 16 or one block of all channels ([N, 1, H, W, C]), got block = 8 with 'tensor<1x2x8x8x8xf32>'}}
  %y = lathe.max_pool2d ins(%x : tensor<1x2x8x8x8xf32>) outs(%e : tensor<1x2x4x4x8xf32>) {block = 8 : i64, window = array<i64: 2, 2>, strides = array<i64: 2, 2>} -> tensor<1x2x4x4x8xf32>
  return %y : tensor<1x2x4x4x8xf32>
}
