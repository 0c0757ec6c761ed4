// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(lathe-cpu-bf16-activations))' | FileCheck %s

// A convolution chain: the output only the next convolution reads becomes
// bf16 (a bf16 init of its own); the last, returned, stays f32.
// CHECK-LABEL: func.func @conv_chain
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x1x8x8x16xbf16>
// CHECK: %[[A:.*]] = lathe.conv2d ins(%arg0, %arg1 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%[[E]] : tensor<1x1x8x8x16xbf16>)
// CHECK-SAME: -> tensor<1x1x8x8x16xbf16>
// CHECK: %[[B:.*]] = lathe.conv2d ins(%[[A]], %arg2 : tensor<1x1x8x8x16xbf16>, tensor<16x16x3x3xf32>) outs(%{{.*}} : tensor<1x16x8x8xf32>)
// CHECK: return %[[B]]
func.func @conv_chain(%x: tensor<1x16x8x8xf32>, %w1: tensor<16x16x3x3xf32>, %w2: tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32> {
  %e1 = tensor.empty() : tensor<1x1x8x8x16xf32>
  %a = lathe.conv2d ins(%x, %w1 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%e1 : tensor<1x1x8x8x16xf32>) {output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x1x8x8x16xf32>
  %e2 = tensor.empty() : tensor<1x16x8x8xf32>
  %b = lathe.conv2d ins(%a, %w2 : tensor<1x1x8x8x16xf32>, tensor<16x16x3x3xf32>) outs(%e2 : tensor<1x16x8x8xf32>) {input_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  return %b : tensor<1x16x8x8xf32>
}

// -----

// Residual blocks: the residual and the accumulating convolution's output
// are one buffer, so they are bf16 together. %c (the first block's output)
// is read by two convolutions and as the second block's residual: bf16. The
// second block's output is returned, so it and its residual %d stay f32.
// CHECK-LABEL: func.func @residual
// CHECK: %[[A:.*]] = lathe.conv2d ins(%arg0, %arg1 : {{.*}}) outs(%{{.*}} : tensor<1x16x8x8xbf16>)
// CHECK: %[[B:.*]] = lathe.conv2d ins(%[[A]], %arg2 : tensor<1x16x8x8xbf16>, {{.*}}) outs(%{{.*}} : tensor<1x16x8x8xbf16>)
// CHECK: %[[C:.*]] = lathe.conv2d ins(%[[B]], %arg3 : tensor<1x16x8x8xbf16>, {{.*}}) outs(%[[A]] : tensor<1x16x8x8xbf16>) {accumulate
// CHECK-SAME: -> tensor<1x16x8x8xbf16>
// CHECK: %[[D:.*]] = lathe.conv2d ins(%[[C]], %arg4 : tensor<1x16x8x8xbf16>, {{.*}}) outs(%{{.*}} : tensor<1x16x8x8xf32>)
// CHECK: %[[F:.*]] = lathe.conv2d ins(%[[C]], %arg5 : tensor<1x16x8x8xbf16>, {{.*}}) outs(%{{.*}} : tensor<1x16x8x8xbf16>)
// CHECK: %[[G:.*]] = lathe.conv2d ins(%[[F]], %arg6 : tensor<1x16x8x8xbf16>, {{.*}}) outs(%[[D]] : tensor<1x16x8x8xf32>) {accumulate
// CHECK-SAME: -> tensor<1x16x8x8xf32>
// CHECK: return %[[G]]
func.func @residual(%x: tensor<1x16x8x8xf32>, %w0: tensor<16x16x1x1xf32>, %w1: tensor<16x16x3x3xf32>, %w2: tensor<16x16x3x3xf32>, %wd: tensor<16x16x1x1xf32>, %w3: tensor<16x16x3x3xf32>, %w4: tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32> {
  %e = tensor.empty() : tensor<1x16x8x8xf32>
  %a = lathe.conv2d ins(%x, %w0 : tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) outs(%e : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
  %b = lathe.conv2d ins(%a, %w1 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%e : tensor<1x16x8x8xf32>) {activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  %c = lathe.conv2d ins(%b, %w2 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%a : tensor<1x16x8x8xf32>) {accumulate, activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  %d = lathe.conv2d ins(%c, %wd : tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) outs(%e : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
  %f = lathe.conv2d ins(%c, %w3 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%e : tensor<1x16x8x8xf32>) {activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  %g = lathe.conv2d ins(%f, %w4 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%d : tensor<1x16x8x8xf32>) {accumulate, activation = #lathe<activation relu>, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  return %g : tensor<1x16x8x8xf32>
}

// -----

// %a is read by a convolution and as the init of generated code (a generic
// that reads and rewrites it): it stays f32. The accumulating convolution's
// residual is written by generated code, so its output stays f32 too.
// CHECK-LABEL: func.func @mixed_uses
// CHECK: %[[A:.*]] = lathe.conv2d {{.*}} -> tensor<1x16x8x8xf32>
// CHECK: linalg.generic {{.*}} ins(%arg0 : tensor<1x16x8x8xf32>) outs(%[[A]] : tensor<1x16x8x8xf32>)
// CHECK: lathe.conv2d ins(%[[A]], %arg2 : tensor<1x16x8x8xf32>, {{.*}}) {{.*}} -> tensor<1x16x8x8xf32>
// CHECK-NOT: bf16
func.func @mixed_uses(%x: tensor<1x16x8x8xf32>, %w1: tensor<16x16x3x3xf32>, %w2: tensor<16x16x3x3xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) {
  %e = tensor.empty() : tensor<1x16x8x8xf32>
  %a = lathe.conv2d ins(%x, %w1 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%e : tensor<1x16x8x8xf32>) {padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(n, c, h, w) -> (n, c, h, w)>, affine_map<(n, c, h, w) -> (n, c, h, w)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : tensor<1x16x8x8xf32>) outs(%a : tensor<1x16x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = math.tanh %in : f32
    %s = arith.addf %t, %out : f32
    linalg.yield %s : f32
  } -> tensor<1x16x8x8xf32>
  %b = lathe.conv2d ins(%a, %w2 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%r : tensor<1x16x8x8xf32>) {accumulate, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x16x8x8xf32>
  return %r, %b : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>
}

// -----

// A CNN's tail: the last residual block's output is copied out of the
// blocked layout (a transpose) and averaged by generated code (a reduction
// generic). The generic reads bf16: its payload extends the element to f32
// first. So the transpose copies bf16 into a bf16 init, and the block's
// output and residual are bf16 up to the stem convolution's.
// CHECK-LABEL: func.func @pooling_tail
// CHECK: %[[A:.*]] = lathe.conv2d {{.*}} -> tensor<1x1x8x8x16xbf16>
// CHECK: %[[B:.*]] = lathe.conv2d ins(%[[A]], %arg2 : tensor<1x1x8x8x16xbf16>, {{.*}}) outs(%[[A]] : tensor<1x1x8x8x16xbf16>) {accumulate
// CHECK-SAME: -> tensor<1x1x8x8x16xbf16>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x1x16x8x8xbf16>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[B]] : tensor<1x1x8x8x16xbf16>) outs(%[[E]] : tensor<1x1x16x8x8xbf16>)
// CHECK: linalg.generic {{.*}} ins(%[[T]] : tensor<1x1x16x8x8xbf16>) outs(%{{.*}} : tensor<1x1x16xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: bf16, %[[OUT:.*]]: f32):
// CHECK-NEXT: %[[W:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK-NEXT: arith.addf %[[OUT]], %[[W]] : f32
func.func @pooling_tail(%x: tensor<1x16x8x8xf32>, %w1: tensor<16x16x3x3xf32>, %w2: tensor<16x16x3x3xf32>) -> tensor<1x1x16xf32> {
  %e1 = tensor.empty() : tensor<1x1x8x8x16xf32>
  %a = lathe.conv2d ins(%x, %w1 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%e1 : tensor<1x1x8x8x16xf32>) {output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x1x8x8x16xf32>
  %b = lathe.conv2d ins(%a, %w2 : tensor<1x1x8x8x16xf32>, tensor<16x16x3x3xf32>) outs(%a : tensor<1x1x8x8x16xf32>) {accumulate, input_block = 16 : i64, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x1x8x8x16xf32>
  %e2 = tensor.empty() : tensor<1x1x16x8x8xf32>
  %t = linalg.transpose ins(%b : tensor<1x1x8x8x16xf32>) outs(%e2 : tensor<1x1x16x8x8xf32>) permutation = [0, 1, 4, 2, 3]
  %zero = arith.constant 0.0 : f32
  %e3 = tensor.empty() : tensor<1x1x16xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e3 : tensor<1x1x16xf32>) -> tensor<1x1x16xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(n, g, c, h, w) -> (n, g, c, h, w)>, affine_map<(n, g, c, h, w) -> (n, g, c)>], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%t : tensor<1x1x16x8x8xf32>) outs(%fill : tensor<1x1x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = arith.addf %out, %in : f32
    linalg.yield %y : f32
  } -> tensor<1x1x16xf32>
  return %s : tensor<1x1x16xf32>
}

// -----

// Conv -> max pooling -> conv: the pooling reads and writes bf16. A pooling
// whose output is returned stays f32, and so does its input.
// CHECK-LABEL: func.func @conv_pool_conv
// CHECK: %[[A:.*]] = lathe.conv2d {{.*}} -> tensor<1x1x8x8x16xbf16>
// CHECK: %[[P:.*]] = lathe.max_pool2d ins(%[[A]] : tensor<1x1x8x8x16xbf16>) outs(%{{.*}} : tensor<1x1x4x4x16xbf16>)
// CHECK: %[[B:.*]] = lathe.conv2d ins(%[[P]], %arg2 : tensor<1x1x4x4x16xbf16>, {{.*}}) {{.*}} -> tensor<1x1x4x4x16xf32>
// CHECK: %[[Q:.*]] = lathe.max_pool2d ins(%[[B]] : tensor<1x1x4x4x16xf32>) outs(%{{.*}} : tensor<1x1x2x2x16xf32>)
// CHECK: return %[[Q]]
func.func @conv_pool_conv(%x: tensor<1x16x8x8xf32>, %w1: tensor<16x16x3x3xf32>, %w2: tensor<16x16x3x3xf32>) -> tensor<1x1x2x2x16xf32> {
  %e1 = tensor.empty() : tensor<1x1x8x8x16xf32>
  %a = lathe.conv2d ins(%x, %w1 : tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) outs(%e1 : tensor<1x1x8x8x16xf32>) {output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x1x8x8x16xf32>
  %e2 = tensor.empty() : tensor<1x1x4x4x16xf32>
  %p = lathe.max_pool2d ins(%a : tensor<1x1x8x8x16xf32>) outs(%e2 : tensor<1x1x4x4x16xf32>) {block = 16 : i64, window = array<i64: 2, 2>, strides = array<i64: 2, 2>} -> tensor<1x1x4x4x16xf32>
  %b = lathe.conv2d ins(%p, %w2 : tensor<1x1x4x4x16xf32>, tensor<16x16x3x3xf32>) outs(%e2 : tensor<1x1x4x4x16xf32>) {input_block = 16 : i64, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>} -> tensor<1x1x4x4x16xf32>
  %e3 = tensor.empty() : tensor<1x1x2x2x16xf32>
  %q = lathe.max_pool2d ins(%b : tensor<1x1x4x4x16xf32>) outs(%e3 : tensor<1x1x2x2x16xf32>) {block = 16 : i64, window = array<i64: 2, 2>, strides = array<i64: 2, 2>} -> tensor<1x1x2x2x16xf32>
  return %q : tensor<1x1x2x2x16xf32>
}

// -----

// An MLP: each layer's output is only the next linear layer's lhs (one
// through a reshape): bf16. The last is returned (f32). A product of two
// activations (%k, no constant rhs) neither reads nor writes bf16, so %y,
// its lhs, stays f32.
// CHECK-LABEL: func.func @mlp
// CHECK: %[[H1:.*]] = lathe.matmul ins(%arg0, %{{.*}} : tensor<8x2x32xf32>, tensor<32x64xf32>) {{.*}} outs(%{{.*}} : tensor<8x2x64xbf16>) {{.*}} -> tensor<8x2x64xbf16>
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[H1]] {{.*}} : tensor<8x2x64xbf16> into tensor<16x64xbf16>
// CHECK: %[[H2:.*]] = lathe.matmul ins(%[[R]], %{{.*}} : tensor<16x64xbf16>, tensor<64x64xf32>) {{.*}} outs(%{{.*}} : tensor<16x64xbf16>)
// CHECK: %[[Y:.*]] = lathe.matmul ins(%[[H2]], %{{.*}} : tensor<16x64xbf16>, tensor<64x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: %[[K:.*]] = lathe.matmul ins(%arg1, %arg2 : tensor<16x16xf32>, tensor<16x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: lathe.matmul ins(%[[Y]], %[[K]] : tensor<16x16xf32>, tensor<16x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
func.func @mlp(%x: tensor<8x2x32xf32>, %p: tensor<16x16xf32>, %q: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %w1 = arith.constant dense<0.5> : tensor<32x64xf32>
  %b1 = arith.constant dense<0.25> : tensor<64xf32>
  %w2 = arith.constant dense<0.5> : tensor<64x64xf32>
  %w3 = arith.constant dense<0.5> : tensor<64x16xf32>
  %e1 = tensor.empty() : tensor<8x2x64xf32>
  %h1 = lathe.matmul ins(%x, %w1 : tensor<8x2x32xf32>, tensor<32x64xf32>) bias(%b1 : tensor<64xf32>) outs(%e1 : tensor<8x2x64xf32>) {activation = #lathe<activation relu>} -> tensor<8x2x64xf32>
  %r = tensor.collapse_shape %h1 [[0, 1], [2]] : tensor<8x2x64xf32> into tensor<16x64xf32>
  %e2 = tensor.empty() : tensor<16x64xf32>
  %h2 = lathe.matmul ins(%r, %w2 : tensor<16x64xf32>, tensor<64x64xf32>) bias(%b1 : tensor<64xf32>) outs(%e2 : tensor<16x64xf32>) {activation = #lathe<activation relu>} -> tensor<16x64xf32>
  %e3 = tensor.empty() : tensor<16x16xf32>
  %y = lathe.matmul ins(%h2, %w3 : tensor<16x64xf32>, tensor<64x16xf32>) outs(%e3 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %k = lathe.matmul ins(%p, %q : tensor<16x16xf32>, tensor<16x16xf32>) outs(%e3 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %z = lathe.matmul ins(%y, %k : tensor<16x16xf32>, tensor<16x16xf32>) outs(%e3 : tensor<16x16xf32>) -> tensor<16x16xf32>
  return %z : tensor<16x16xf32>
}

// -----

// A linear layer's output read by generated code (its bias / ReLU epilogue)
// keeps the f32 accumulation: generics read bf16 only from convolutions and
// poolings.
// CHECK-LABEL: func.func @matmul_epilogue
// CHECK: %[[H:.*]] = lathe.matmul {{.*}} -> tensor<16x64xf32>
// CHECK: linalg.generic {{.*}} ins(%[[H]] : tensor<16x64xf32>)
// CHECK-NEXT: ^bb0(%{{.*}}: f32, %{{.*}}: f32):
// CHECK-NOT: bf16
func.func @matmul_epilogue(%x: tensor<16x32xf32>) -> tensor<16x64xf32> {
  %w = arith.constant dense<0.5> : tensor<32x64xf32>
  %e = tensor.empty() : tensor<16x64xf32>
  %h = lathe.matmul ins(%x, %w : tensor<16x32xf32>, tensor<32x64xf32>) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<16x64xf32>) outs(%e : tensor<16x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = math.tanh %in : f32
    linalg.yield %t : f32
  } -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}

// -----

// Dynamic shapes are left alone.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: bf16
func.func @dynamic(%x: tensor<?x32xf32>, %w: tensor<32x32xf32>, %e: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %h = lathe.matmul ins(%x, %w : tensor<?x32xf32>, tensor<32x32xf32>) outs(%e : tensor<?x32xf32>) -> tensor<?x32xf32>
  %y = lathe.matmul ins(%h, %w : tensor<?x32xf32>, tensor<32x32xf32>) outs(%e : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
