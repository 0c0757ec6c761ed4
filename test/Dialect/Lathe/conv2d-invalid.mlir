// RUN: lathe-opt %s -split-input-file -verify-diagnostics

func.func @channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{has mismatched input channels: input has 3, filter has 2 (layout nchw)}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @nhwc_channels(%x: tensor<1x8x8x3xf32>, %w: tensor<3x3x3x4xf32>, %e: tensor<1x6x6x5xf32>) -> tensor<1x6x6x5xf32> {
  // expected-error @+1 {{expects init with batch 1 and 4 channels (layout nhwc), got 'tensor<1x6x6x5xf32>'}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>) outs(%e : tensor<1x6x6x5xf32>) {layout = #lathe<layout nhwc>} -> tensor<1x6x6x5xf32>
  return %y : tensor<1x6x6x5xf32>
}

// -----

func.func @too_tall(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x7x6xf32>) -> tensor<1x4x7x6xf32> {
  // expected-error @+1 {{output height 7 reads 9 input rows, but the input has 8}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x7x6xf32>) -> tensor<1x4x7x6xf32>
  return %y : tensor<1x4x7x6xf32>
}

// -----

// 4 pooled columns with window 2 / stride 2 need 8 conv columns; 8 - 2 = 6 fit.
func.func @pool_too_wide(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x3x4xf32>) -> tensor<1x4x3x4xf32> {
  // expected-error @+1 {{output width 4 reads 10 input columns, but the input has 8}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x3x4xf32>) {pool = #lathe<pool max>, pool_window = array<i64: 2, 2>, pool_strides = array<i64: 2, 2>} -> tensor<1x4x3x4xf32>
  return %y : tensor<1x4x3x4xf32>
}

// -----

func.func @bias(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{expects a bias of shape [4], got 'tensor<3xf32>'}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) bias(%b : tensor<3xf32>) outs(%e : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @rank(%x: tensor<3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{expects a rank-4 input, got 'tensor<3x8x8xf32>'}}
  %y = lathe.conv2d ins(%x, %w : tensor<3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @layout(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+2 {{unknown layout 'nchwc' (expected one of: nchw, nhwc)}}
  // expected-error @+1 {{failed to parse Lathe_ConvLayoutAttr parameter}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) {layout = #lathe<layout nchwc>} -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @pool_kind(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32> {
  // expected-error @+2 {{unknown pool 'avg' (expected one of: none, max)}}
  // expected-error @+1 {{failed to parse Lathe_PoolKindAttr parameter}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x3x3xf32>) {pool = #lathe<pool avg>} -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}

// -----

func.func @strides(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{expects strides to be two values >= 1, got [0, 1]}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) {strides = array<i64: 0, 1>} -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @pool_window(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{expects pool_window to be two values >= 1, got [2]}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) {pool = #lathe<pool max>, pool_window = array<i64: 2>} -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @activation(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+2 {{unknown activation 'swish' (expected one of: none, relu, gelu, gelu_tanh, sigmoid, tanh)}}
  // expected-error @+1 {{failed to parse Lathe_ActivationAttr parameter}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) {activation = #lathe<activation swish>} -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @mixed(%x: tensor<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{expects all operands to be tensors or all to be memrefs}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, memref<4x3x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @f64(%x: tensor<1x3x8x8xf64>, %w: tensor<4x3x3x3xf64>, %e: tensor<1x4x6x6xf64>) -> tensor<1x4x6x6xf64> {
  // expected-error @+1 {{supports f32 operands only (bf16 also for input and init), got 'tensor<1x3x8x8xf64>'}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf64>, tensor<4x3x3x3xf64>) outs(%e : tensor<1x4x6x6xf64>) -> tensor<1x4x6x6xf64>
  return %y : tensor<1x4x6x6xf64>
}

// -----

func.func @block_size(%x: tensor<1x2x8x8x8xf32>, %w: tensor<4x16x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{supports channel block 16 or one block of all channels ([N, 1, H, W, C]), got input_block = 8 with 'tensor<1x2x8x8x8xf32>'}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x2x8x8x8xf32>, tensor<4x16x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) {input_block = 8 : i64} -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @block_all_channels(%x: tensor<1x2x8x8x24xf32>, %w: tensor<4x48x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{supports channel block 16 or one block of all channels ([N, 1, H, W, C]), got input_block = 24 with 'tensor<1x2x8x8x24xf32>'}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x2x8x8x24xf32>, tensor<4x48x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) {input_block = 24 : i64} -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @block_rank(%x: tensor<1x32x8x8xf32>, %w: tensor<4x32x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{expects a channel-blocked input [N, C/16, H, W, 16] of rank 5, got 'tensor<1x32x8x8xf32>'}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x32x8x8xf32>, tensor<4x32x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) {input_block = 16 : i64} -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @block_inner(%x: tensor<1x3x8x8xf32>, %w: tensor<32x3x3x3xf32>, %e: tensor<1x2x6x6x8xf32>) -> tensor<1x2x6x6x8xf32> {
  // expected-error @+1 {{expects a channel-blocked init [N, C/16, H, W, 16] of rank 5, got 'tensor<1x2x6x6x8xf32>'}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<32x3x3x3xf32>) outs(%e : tensor<1x2x6x6x8xf32>) {output_block = 16 : i64} -> tensor<1x2x6x6x8xf32>
  return %y : tensor<1x2x6x6x8xf32>
}

// -----

// A blocked nhwc input is [N, C/16, H, W, 16] (16 channels here), the
// filter HWCF (8 input channels).
func.func @block_nhwc(%x: tensor<1x1x8x8x16xf32>, %w: tensor<3x3x8x4xf32>, %e: tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32> {
  // expected-error @+1 {{has mismatched input channels: input has 16, filter has 8 (layout nhwc)}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x1x8x8x16xf32>, tensor<3x3x8x4xf32>) outs(%e : tensor<1x6x6x4xf32>) {layout = #lathe<layout nhwc>, input_block = 16 : i64} -> tensor<1x6x6x4xf32>
  return %y : tensor<1x6x6x4xf32>
}

// -----

// A blocked nhwc output: [N, F/16, H, W, 16] (7x6 rows and columns).
func.func @block_nhwc_out(%x: tensor<1x8x8x3xf32>, %w: tensor<3x3x3x16xf32>, %e: tensor<1x1x7x6x16xf32>) -> tensor<1x1x7x6x16xf32> {
  // expected-error @+1 {{output height 7 reads 9 input rows, but the input has 8}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x8x8x3xf32>, tensor<3x3x3x16xf32>) outs(%e : tensor<1x1x7x6x16xf32>) {layout = #lathe<layout nhwc>, output_block = 16 : i64} -> tensor<1x1x7x6x16xf32>
  return %y : tensor<1x1x7x6x16xf32>
}

// -----

// Blocked channels count: 2 blocks of 16 = 32 input channels, filter has 16.
func.func @block_channels(%x: tensor<1x2x8x8x16xf32>, %w: tensor<4x16x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{has mismatched input channels: input has 32, filter has 16 (layout nchw)}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x2x8x8x16xf32>, tensor<4x16x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) {input_block = 16 : i64} -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @block_out_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<32x3x3x3xf32>, %e: tensor<1x1x6x6x16xf32>) -> tensor<1x1x6x6x16xf32> {
  // expected-error @+1 {{expects init with batch 1 and 32 channels (layout nchw), got 'tensor<1x1x6x6x16xf32>'}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<32x3x3x3xf32>) outs(%e : tensor<1x1x6x6x16xf32>) {output_block = 16 : i64} -> tensor<1x1x6x6x16xf32>
  return %y : tensor<1x1x6x6x16xf32>
}

// -----

func.func @padding_size(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{expects padding to be four values >= 0 (top, left, bottom, right), got [1, -1, 0, 0]}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x6x6xf32>) {padding = array<i64: 1, -1, 0, 0>} -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

// 9 output rows of a 3x3 filter read 11 rows; 8 + 1 + 1 padded rows are 10.
func.func @padding_too_small(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %e: tensor<1x4x9x8xf32>) -> tensor<1x4x9x8xf32> {
  // expected-error @+1 {{output height 9 reads 11 input rows, but the input has 8 (10 padded)}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%e : tensor<1x4x9x8xf32>) {padding = array<i64: 1, 1, 1, 1>} -> tensor<1x4x9x8xf32>
  return %y : tensor<1x4x9x8xf32>
}

// -----

func.func @bf16_filter(%x: tensor<1x3x8x8xbf16>, %w: tensor<4x3x3x3xbf16>, %e: tensor<1x4x6x6xbf16>) -> tensor<1x4x6x6xbf16> {
  // expected-error @+1 {{supports f32 operands only (bf16 also for input and init), got 'tensor<4x3x3x3xbf16>'}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xbf16>, tensor<4x3x3x3xbf16>) outs(%e : tensor<1x4x6x6xbf16>) -> tensor<1x4x6x6xbf16>
  return %y : tensor<1x4x6x6xbf16>
}
