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
  // expected-error @+1 {{supports f32 operands only (bf16 also for lhs and init), got 'tensor<4x4xf16>'}}
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

// -----

// IR written before the enum attributes (`activation = "relu"`): the error
// names the attribute and its values, in the custom form...
func.func @activation_string(%x: tensor<4x4xf32>, %e: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{attribute 'activation' failed to satisfy constraint: #lathe<activation ...> enum attribute, one of: none, relu, gelu, gelu_tanh, sigmoid, tanh}}
  %y = lathe.matmul ins(%x, %x : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {activation = "relu"} -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

// ...and in the generic form's properties, with the value given.
func.func @activation_string_generic(%x: tensor<4x4xf32>, %e: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'activation' must be an #lathe<activation ...> enum attribute, one of: none, relu, gelu, gelu_tanh, sigmoid, tanh; got "relu"}}
  %y = "lathe.matmul"(%x, %x, %e) <{activation = "relu", alpha = 1.0 : f32, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1>}> : (tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @conv_strings_generic(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %o: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{'pool' must be an #lathe<pool ...> enum attribute, one of: none, max; got "max"}}
  %y = "lathe.conv2d"(%x, %w, %o) <{layout = #lathe<layout nchw>, pool = "max"}> : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @conv_layout_string_generic(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %o: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{'layout' must be an #lathe<layout ...> enum attribute, one of: nchw, nhwc; got "nchw"}}
  %y = "lathe.conv2d"(%x, %w, %o) <{layout = "nchw"}> : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @rnn_cell_string_generic(%x: tensor<2x1x3xf32>, %w: tensor<12x3xf32>, %r: tensor<12x4xf32>, %b: tensor<12xf32>, %h0: tensor<1x4xf32>, %y: tensor<2x1x4xf32>) {
  // expected-error @+1 {{'cell' must be an #lathe<cell ...> enum attribute, one of: lstm, gru, lbr_gru; got "gru"}}
  %0:2 = "lathe.rnn"(%x, %w, %r, %b, %h0, %y, %h0) <{cell = "gru", gates = array<i64: 0, 1, 2>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1, 0, 2>}> : (tensor<2x1x3xf32>, tensor<12x3xf32>, tensor<12x4xf32>, tensor<12xf32>, tensor<1x4xf32>, tensor<2x1x4xf32>, tensor<1x4xf32>) -> (tensor<2x1x4xf32>, tensor<1x4xf32>)
  return
}

// -----

func.func @bf16_rhs(%x: tensor<4x4xbf16>, %w: tensor<4x4xbf16>, %e: tensor<4x4xbf16>) -> tensor<4x4xbf16> {
  // expected-error @+1 {{supports f32 operands only (bf16 also for lhs and init), got 'tensor<4x4xbf16>'}}
  %y = lathe.matmul ins(%x, %w : tensor<4x4xbf16>, tensor<4x4xbf16>) outs(%e : tensor<4x4xbf16>) -> tensor<4x4xbf16>
  return %y : tensor<4x4xbf16>
}
