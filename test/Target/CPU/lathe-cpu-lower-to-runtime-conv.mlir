// RUN: lathe-opt %s --lathe-cpu-lower-to-runtime --cse | FileCheck %s

// CHECK-DAG: func.func private @lathe_rt_conv2d_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK-DAG: func.func private @lathe_rt_conv2d_pool_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK-DAG: func.func private @lathe_rt_pool2d_f32(memref<*xf32>, memref<*xf32>, i64, i64, i64, i64, i64, i64, i64, i64, i64)
memref.global "private" constant @w : memref<4x3x3x3xf32> = dense<1.0>
memref.global "private" constant @cw : memref<4x4x1x1xf32> = dense<0.5>
memref.global "private" constant @bw : memref<16x16x1x1xf32> = dense<0.25>

// Flags: bias (1) | constant filter (4) | relu (1 << 8) = 261; layout 0,
// strides 1x1, no padding, dilations 1x1; pooling: max (0), window 2x2,
// strides 2x2, dilations 1x1.
// CHECK-LABEL: func.func @conv_pool
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[F:.*]] = arith.constant 261 : i64
// CHECK: call @lathe_rt_conv2d_pool_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C0]], %[[C1]], %[[C1]], %[[C0]], %[[C0]], %[[C1]], %[[C1]], %[[F]], %[[C0]], %[[C2]], %[[C2]], %[[C2]], %[[C2]], %[[C1]], %[[C1]])
// CHECK-NOT: lathe.conv2d
func.func @conv_pool(%x: memref<2x3x10x10xf32>, %b: memref<4xf32>, %y: memref<2x4x4x4xf32>) {
  %w = memref.get_global @w : memref<4x3x3x3xf32>
  lathe.conv2d ins(%x, %w : memref<2x3x10x10xf32>, memref<4x3x3x3xf32>) bias(%b : memref<4xf32>)
      outs(%y : memref<2x4x4x4xf32>) {activation = #lathe<activation relu>, pool = #lathe<pool max>, pool_window = array<i64: 2, 2>, pool_strides = array<i64: 2, 2>}
  return
}

// No bias (the init stands in), filter an argument (not constant): flags 0;
// NHWC (layout 1), strides 2x1, dilations 1x3.
// CHECK-LABEL: func.func @conv_nhwc
// CHECK-SAME: (%[[X:.*]]: memref<1x9x9x3xf32>, %[[W:.*]]: memref<3x3x3x5xf32>, %[[Y:.*]]: memref<1x4x3x5xf32>)
// CHECK-DAG: %[[YU:.*]] = memref.cast %[[Y]]
// CHECK-DAG: %[[Z:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[THREE:.*]] = arith.constant 3 : i64
// CHECK: call @lathe_rt_conv2d_f32(%{{.*}}, %{{.*}}, %[[YU]], %[[YU]], %[[ONE]], %[[TWO]], %[[ONE]], %[[Z]], %[[Z]], %[[ONE]], %[[THREE]], %[[Z]])
func.func @conv_nhwc(%x: memref<1x9x9x3xf32>, %w: memref<3x3x3x5xf32>, %y: memref<1x4x3x5xf32>) {
  lathe.conv2d ins(%x, %w : memref<1x9x9x3xf32>, memref<3x3x3x5xf32>)
      outs(%y : memref<1x4x3x5xf32>) {layout = #lathe<layout nhwc>, strides = array<i64: 2, 1>, dilations = array<i64: 1, 3>}
  return
}

// Max pooling from a -inf fill right before: the fill goes, flags 0.
// CHECK-LABEL: func.func @pool_after_fill
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[Z:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[THREE:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2 : i64
// CHECK: call @lathe_rt_pool2d_f32(%{{.*}}, %{{.*}}, %[[Z]], %[[Z]], %[[THREE]], %[[TWO]], %[[ONE]], %[[TWO]], %[[ONE]], %[[ONE]], %[[Z]])
// CHECK-NOT: linalg.
func.func @pool_after_fill(%x: memref<2x4x9x9xf32>, %y: memref<2x4x7x4xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %win = memref.alloc() : memref<3x2xf32>
  linalg.fill ins(%ninf : f32) outs(%y : memref<2x4x7x4xf32>)
  linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<[1, 2]> : tensor<2xi64>}
      ins(%x, %win : memref<2x4x9x9xf32>, memref<3x2xf32>) outs(%y : memref<2x4x7x4xf32>)
  memref.dealloc %win : memref<3x2xf32>
  return
}

// lathe.max_pool2d: layout, kind 0, window, strides, dilations, then the top
// and left padding (the bottom and right follow from the sizes), flags 0.
// CHECK-LABEL: func.func @max_pool2d_padded
// CHECK-DAG: %[[Z:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[THREE:.*]] = arith.constant 3 : i64
// CHECK: call @lathe_rt_pool2d_padded_f32(%{{.*}}, %{{.*}}, %[[ONE]], %[[Z]], %[[THREE]], %[[THREE]], %[[TWO]], %[[TWO]], %[[ONE]], %[[ONE]], %[[ONE]], %[[ONE]], %[[Z]])
// CHECK-NOT: lathe.max_pool2d
func.func @max_pool2d_padded(%x: memref<1x8x8x4xf32>, %y: memref<1x4x4x4xf32>) {
  lathe.max_pool2d ins(%x : memref<1x8x8x4xf32>) outs(%y : memref<1x4x4x4xf32>) {layout = #lathe<layout nhwc>, window = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 0, 0>}
  return
}

// An NHWC pooling into an output that already holds values: the runtime
// keeps the larger (LATHE_POOL_ACCUMULATE = 1); the 0 fill stays.
// CHECK-LABEL: func.func @pool_accumulates
// CHECK: linalg.fill
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[Z:.*]] = arith.constant 0 : i64
// CHECK: call @lathe_rt_pool2d_f32(%{{.*}}, %{{.*}}, %[[ONE]], %[[Z]], %[[TWO]], %[[TWO]], %[[TWO]], %[[TWO]], %[[ONE]], %[[ONE]], %[[ONE]])
func.func @pool_accumulates(%x: memref<1x4x4x3xf32>, %y: memref<1x2x2x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %win = memref.alloc() : memref<2x2xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x2x2x3xf32>)
  linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %win : memref<1x4x4x3xf32>, memref<2x2xf32>) outs(%y : memref<1x2x2x3xf32>)
  memref.dealloc %win : memref<2x2xf32>
  return
}

// Channel-blocked input and output: layout = 2 (LATHE_CONV_BLOCKED_INPUT) |
// 4 (LATHE_CONV_BLOCKED_OUTPUT) = 6, rank-5 memrefs passed as they are.
// CHECK-LABEL: func.func @conv_blocked
// CHECK-SAME: (%[[X:.*]]: memref<1x2x6x6x16xf32>, %[[W:.*]]: memref<32x32x3x3xf32>, %[[Y:.*]]: memref<1x2x4x4x16xf32>)
// CHECK-DAG: %[[XU:.*]] = memref.cast %[[X]] : memref<1x2x6x6x16xf32> to memref<*xf32>
// CHECK-DAG: %[[YU:.*]] = memref.cast %[[Y]] : memref<1x2x4x4x16xf32> to memref<*xf32>
// CHECK-DAG: %[[SIX:.*]] = arith.constant 6 : i64
// CHECK: call @lathe_rt_conv2d_f32(%[[XU]], %{{.*}}, %[[YU]], %[[YU]], %[[SIX]],
func.func @conv_blocked(%x: memref<1x2x6x6x16xf32>, %w: memref<32x32x3x3xf32>, %y: memref<1x2x4x4x16xf32>) {
  lathe.conv2d ins(%x, %w : memref<1x2x6x6x16xf32>, memref<32x32x3x3xf32>)
      outs(%y : memref<1x2x4x4x16xf32>) {input_block = 16 : i64, output_block = 16 : i64}
  return
}

// Padding: top and left go to the call (bottom and right follow from the
// output size in the runtime).
// CHECK-LABEL: func.func @conv_padded
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2 : i64
// CHECK: call @lathe_rt_conv2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ZERO]], %[[ONE]], %[[ONE]], %[[ONE]], %[[TWO]], %[[ONE]], %[[ONE]], %[[ZERO]])
func.func @conv_padded(%x: memref<1x3x6x6xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x6x8xf32>) {
  lathe.conv2d ins(%x, %w : memref<1x3x6x6xf32>, memref<4x3x3x3xf32>)
      outs(%y : memref<1x4x6x8xf32>) {padding = array<i64: 1, 2, 1, 2>}
  return
}

// A chain in fresh allocations: the second convolution's input was last
// written by the first (layout 32: LATHE_CONV_INPUT_FROM_CONV), the third
// accumulates into that same buffer with only the second convolution (into
// another allocation) in between (layout 32 | 64). After a linalg.fill of
// the input nothing is known (layout 0), nor for an argument the caller wrote.
// CHECK-LABEL: func.func @chain_from_conv
// CHECK: %[[Z:.*]] = arith.constant 0 : i64
// CHECK: call @lathe_rt_conv2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[Z]],
// CHECK: %[[IN:.*]] = arith.constant 32 : i64
// CHECK: call @lathe_rt_conv2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[IN]],
// CHECK: %[[BOTH:.*]] = arith.constant 96 : i64
// CHECK: call @lathe_rt_conv2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BOTH]],
// CHECK: linalg.fill
// CHECK: call @lathe_rt_conv2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[Z]],
func.func @chain_from_conv(%x: memref<1x4x8x8xf32>, %b: memref<4xf32>) {
  %w = memref.get_global @cw : memref<4x4x1x1xf32>
  %a = memref.alloc() : memref<1x4x8x8xf32>
  lathe.conv2d ins(%x, %w : memref<1x4x8x8xf32>, memref<4x4x1x1xf32>) bias(%b : memref<4xf32>)
      outs(%a : memref<1x4x8x8xf32>) {activation = #lathe<activation relu>}
  %c = memref.alloc() : memref<1x4x8x8xf32>
  lathe.conv2d ins(%a, %w : memref<1x4x8x8xf32>, memref<4x4x1x1xf32>) bias(%b : memref<4xf32>)
      outs(%c : memref<1x4x8x8xf32>) {activation = #lathe<activation relu>}
  lathe.conv2d ins(%c, %w : memref<1x4x8x8xf32>, memref<4x4x1x1xf32>) bias(%b : memref<4xf32>)
      outs(%a : memref<1x4x8x8xf32>) {accumulate, activation = #lathe<activation relu>}
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<1x4x8x8xf32>)
  lathe.conv2d ins(%c, %w : memref<1x4x8x8xf32>, memref<4x4x1x1xf32>) bias(%b : memref<4xf32>)
      outs(%a : memref<1x4x8x8xf32>) {activation = #lathe<activation relu>}
  return
}

// A max pooling passes the bound on: its input was last written by the
// first convolution (blocked 6 | 32 = 38), and the second convolution reads
// the pooling's output (38); the first reads an argument (6).
// CHECK-LABEL: func.func @pool_between_convs
// CHECK: %[[B:.*]] = arith.constant 6 : i64
// CHECK: call @lathe_rt_conv2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[B]],
// CHECK: %[[BF:.*]] = arith.constant 38 : i64
// CHECK: call @lathe_rt_pool2d_padded_f32(%{{.*}}, %{{.*}}, %[[BF]],
// CHECK: call @lathe_rt_conv2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BF]],
func.func @pool_between_convs(%x: memref<1x1x8x8x16xf32>, %b: memref<16xf32>) {
  %w = memref.get_global @bw : memref<16x16x1x1xf32>
  %a = memref.alloc() : memref<1x1x8x8x16xf32>
  lathe.conv2d ins(%x, %w : memref<1x1x8x8x16xf32>, memref<16x16x1x1xf32>) bias(%b : memref<16xf32>)
      outs(%a : memref<1x1x8x8x16xf32>) {activation = #lathe<activation relu>, input_block = 16 : i64, output_block = 16 : i64}
  %p = memref.alloc() : memref<1x1x4x4x16xf32>
  lathe.max_pool2d ins(%a : memref<1x1x8x8x16xf32>) outs(%p : memref<1x1x4x4x16xf32>) {block = 16 : i64, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>, window = array<i64: 2, 2>}
  %c = memref.alloc() : memref<1x1x4x4x16xf32>
  lathe.conv2d ins(%p, %w : memref<1x1x4x4x16xf32>, memref<16x16x1x1xf32>) bias(%b : memref<16xf32>)
      outs(%c : memref<1x1x4x4x16xf32>) {activation = #lathe<activation relu>, input_block = 16 : i64, output_block = 16 : i64}
  return
}

// Linear layers: the second reads what the first wrote into a fresh
// allocation (flags 261 | 32 = 293: LATHE_MM_A_FROM_KERNEL), with a
// convolution into another allocation in between; the third reads the same
// buffer after a linalg.fill wrote it (261), and the first an argument.
// CHECK-LABEL: func.func @matmul_chain
// CHECK: %[[PLAIN:.*]] = arith.constant 261 : i64
// CHECK: call @lathe_rt_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[PLAIN]])
// CHECK: call @lathe_rt_conv2d_f32
// CHECK: %[[FROM:.*]] = arith.constant 293 : i64
// CHECK: call @lathe_rt_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[FROM]])
// CHECK: linalg.fill
// CHECK: call @lathe_rt_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[PLAIN]])
memref.global @mw : memref<16x16xf32>
func.func @matmul_chain(%x: memref<8x16xf32>, %b: memref<16xf32>, %cx: memref<1x4x8x8xf32>, %cb: memref<4xf32>) {
  %w = memref.get_global @mw : memref<16x16xf32>
  %cw = memref.get_global @cw : memref<4x4x1x1xf32>
  %h = memref.alloc() : memref<8x16xf32>
  lathe.matmul ins(%x, %w : memref<8x16xf32>, memref<16x16xf32>) bias(%b : memref<16xf32>)
      outs(%h : memref<8x16xf32>) {activation = #lathe<activation relu>}
  %ca = memref.alloc() : memref<1x4x8x8xf32>
  lathe.conv2d ins(%cx, %cw : memref<1x4x8x8xf32>, memref<4x4x1x1xf32>) bias(%cb : memref<4xf32>)
      outs(%ca : memref<1x4x8x8xf32>) {activation = #lathe<activation relu>}
  %y = memref.alloc() : memref<8x16xf32>
  lathe.matmul ins(%h, %w : memref<8x16xf32>, memref<16x16xf32>) bias(%b : memref<16xf32>)
      outs(%y : memref<8x16xf32>) {activation = #lathe<activation relu>}
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%h : memref<8x16xf32>)
  lathe.matmul ins(%h, %w : memref<8x16xf32>, memref<16x16xf32>) bias(%b : memref<16xf32>)
      outs(%y : memref<8x16xf32>) {activation = #lathe<activation relu>}
  return
}
