// RUN: lathe-opt %s -split-input-file -verify-diagnostics

func.func @empty_path() -> tensor<4xf32> {
  // expected-error @+1 {{expects a non-empty file path in its source}}
  %w = lathe.weight #lathe.external<"", "/w"> : tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

func.func @empty_dataset() -> tensor<4xf32> {
  // expected-error @+1 {{expects a non-empty dataset name in its source}}
  %w = lathe.weight #lathe.external<"w.h5", ""> : tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

func.func @mixed(%x: tensor<4x4xf32>, %w: memref<4x4xf32>, %e: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{expects all operands to be tensors or all to be memrefs}}
  %y = lathe.matmul ins(%x, %w : tensor<4x4xf32>, memref<4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @memref_result(%x: memref<4x4xf32>, %c: memref<4x4xf32>) {
  // expected-error @+1 {{on memrefs has no results}}
  %y = lathe.matmul ins(%x, %x : memref<4x4xf32>, memref<4x4xf32>) outs(%c : memref<4x4xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @result_type(%x: tensor<4x4xf32>, %e: tensor<4x4xf32>) -> tensor<4x5xf32> {
  // expected-error @+1 {{on tensors returns one result of the init type 'tensor<4x4xf32>'}}
  %y = lathe.matmul ins(%x, %x : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

func.func @lhs_rank(%x: tensor<4xf32>, %w: tensor<4x4xf32>, %e: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects lhs of rank 2 to 4, got rank 1}}
  %y = lathe.matmul ins(%x, %w : tensor<4xf32>, tensor<4x4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @rhs_rank(%x: tensor<4x4xf32>, %w: tensor<2x2x2x2xf32>, %e: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{expects rhs of rank 2 or of the lhs rank (2), got rank 4}}
  %y = lathe.matmul ins(%x, %w : tensor<4x4xf32>, tensor<2x2x2x2xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @rhs_exceeds(%x: tensor<4x4xf32>, %w: tensor<2x4x4xf32>, %e: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{expects rhs of rank 2 or of the lhs rank (2), got rank 3}}
  %y = lathe.matmul ins(%x, %w : tensor<4x4xf32>, tensor<2x4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @init_rank(%x: tensor<2x4x4xf32>, %w: tensor<4x4xf32>, %e: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{expects init of rank 3 (the lhs rank), got 2}}
  %y = lathe.matmul ins(%x, %w : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @not_f32(%x: tensor<4x4xf16>, %e: tensor<4x4xf16>) -> tensor<4x4xf16> {
  // expected-error @+1 {{supports f32 operands only, got 'tensor<4x4xf16>'}}
  %y = lathe.matmul ins(%x, %x : tensor<4x4xf16>, tensor<4x4xf16>) outs(%e : tensor<4x4xf16>) -> tensor<4x4xf16>
  return %y : tensor<4x4xf16>
}

// -----

func.func @contraction(%x: tensor<4x8xf32>, %w: tensor<4x4xf32>, %e: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{has mismatched contraction sizes: lhs gives K = 8, rhs gives K = 4}}
  %y = lathe.matmul ins(%x, %w : tensor<4x8xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @batch(%x: tensor<2x4x4xf32>, %w: tensor<3x4x4xf32>, %e: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  // expected-error @+1 {{has mismatched batch sizes 2 and 3 in dimension 0}}
  %y = lathe.matmul ins(%x, %w : tensor<2x4x4xf32>, tensor<3x4x4xf32>) outs(%e : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %y : tensor<2x4x4xf32>
}

// -----

func.func @init_shape(%x: tensor<4x8xf32>, %w: tensor<8x6xf32>, %e: tensor<4x5xf32>) -> tensor<4x5xf32> {
  // expected-error @+1 {{expects init (as read through init_perm) to end in [4, 6]}}
  %y = lathe.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x6xf32>) outs(%e : tensor<4x5xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

func.func @bias(%x: tensor<4x8xf32>, %w: tensor<8x6xf32>, %b: tensor<5xf32>, %e: tensor<4x6xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{expects a bias of shape [6], got 'tensor<5xf32>'}}
  %y = lathe.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x6xf32>) bias(%b : tensor<5xf32>) outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

// -----

func.func @residual(%x: tensor<4x8xf32>, %w: tensor<8x6xf32>, %r: tensor<4x7xf32>, %e: tensor<4x6xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{expects a residual of the init's shape, got 'tensor<4x7xf32>'}}
  %y = lathe.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x6xf32>) residual(%r : tensor<4x7xf32>) outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

// -----

func.func @activation(%x: tensor<4x4xf32>, %e: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+2 {{unknown activation 'swish' (expected one of: none, relu, gelu, gelu_tanh, sigmoid, tanh)}}
  // expected-error @+1 {{failed to parse Lathe_ActivationAttr parameter}}
  %y = lathe.matmul ins(%x, %x : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {activation = #lathe<activation swish>} -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @perm_length(%x: tensor<2x4x8xf32>, %w: tensor<8x6xf32>, %e: tensor<2x4x6xf32>) -> tensor<2x4x6xf32> {
  // expected-error @+1 {{expects lhs_perm to have 3 entries (the operand's rank), got 2}}
  %y = lathe.matmul ins(%x, %w : tensor<2x4x8xf32>, tensor<8x6xf32>) outs(%e : tensor<2x4x6xf32>) {lhs_perm = array<i64: 1, 0>} -> tensor<2x4x6xf32>
  return %y : tensor<2x4x6xf32>
}

// -----

func.func @perm_repeats(%x: tensor<2x4x8xf32>, %w: tensor<8x6xf32>, %e: tensor<2x4x6xf32>) -> tensor<2x4x6xf32> {
  // expected-error @+1 {{expects init_perm to be a permutation of [0, 3)}}
  %y = lathe.matmul ins(%x, %w : tensor<2x4x8xf32>, tensor<8x6xf32>) outs(%e : tensor<2x4x6xf32>) {init_perm = array<i64: 0, 1, 1>} -> tensor<2x4x6xf32>
  return %y : tensor<2x4x6xf32>
}

// -----

// The permuted lhs is [2, 3, 4, 8]: the init read through init_perm must be [2, 3, 4, 6].
func.func @perm_shapes(%x: tensor<2x4x3x8xf32>, %w: tensor<8x6xf32>, %e: tensor<2x3x4x6xf32>) -> tensor<2x3x4x6xf32> {
  // expected-error @+1 {{expects init batch size 3 in dimension 1, got 4}}
  %y = lathe.matmul ins(%x, %w : tensor<2x4x3x8xf32>, tensor<8x6xf32>) outs(%e : tensor<2x3x4x6xf32>) {lhs_perm = array<i64: 0, 2, 1, 3>, init_perm = array<i64: 0, 2, 1, 3>} -> tensor<2x3x4x6xf32>
  return %y : tensor<2x3x4x6xf32>
}

// -----

func.func @alpha_bias(%x: tensor<4x8xf32>, %w: tensor<8x6xf32>, %b: tensor<6xf32>, %e: tensor<4x6xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{cannot combine alpha with a bias}}
  %y = lathe.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x6xf32>) bias(%b : tensor<6xf32>) outs(%e : tensor<4x6xf32>) {alpha = 0.5 : f32} -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

// -----

func.func @layer_norm_gamma(%x: tensor<4x8xf32>, %g: tensor<4xf32>, %e: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects gamma and beta of shape [8] (the last input dimension), got 'tensor<4xf32>'}}
  %y = lathe.layer_norm ins(%x : tensor<4x8xf32>) gamma(%g : tensor<4xf32>) outs(%e : tensor<4x8xf32>) {epsilon = 1.0e-5 : f32} -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @layer_norm_init(%x: tensor<4x8xf32>, %e: tensor<4x9xf32>) -> tensor<4x9xf32> {
  // expected-error @+1 {{expects init of the input's shape, got 'tensor<4x9xf32>'}}
  %y = lathe.layer_norm ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x9xf32>) {epsilon = 1.0e-5 : f32} -> tensor<4x9xf32>
  return %y : tensor<4x9xf32>
}

// -----

func.func @layer_norm_eps(%x: tensor<4x8xf32>, %e: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects a finite epsilon >= 0, got -1.000000e+00}}
  %y = lathe.layer_norm ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {epsilon = -1.0 : f32} -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @conv_accumulate_pool(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %o: tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32> {
  // expected-error @+1 {{cannot accumulate into a pooled output}}
  %y = lathe.conv2d ins(%x, %w : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%o : tensor<1x4x3x3xf32>) {accumulate, pool = #lathe<pool max>, pool_window = array<i64: 2, 2>, pool_strides = array<i64: 2, 2>} -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}
