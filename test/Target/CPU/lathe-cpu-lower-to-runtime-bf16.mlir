// RUN: lathe-opt %s --lathe-cpu-lower-to-runtime --cse | FileCheck %s

// Kernels on bf16 memrefs (lathe-cpu-bf16-activations) call the runtime's
// typed entry points (lathe/runtime/Bf16.h), with the bf16 flags set:
// LATHE_CONV_BF16_INPUT (8) / _OUTPUT (16) in the convolution's layout,
// LATHE_MM_A_BF16 (8) / LATHE_MM_C_BF16 (16) in the matmul's flags,
// LATHE_POOL_BF16 (2) in the pooling's.

// CHECK-DAG: func.func private @lathe_rt_conv2d_f32_bf16(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xbf16>,
// CHECK-DAG: func.func private @lathe_rt_conv2d_bf16_f32(memref<*xbf16>, memref<*xf32>, memref<*xf32>, memref<*xf32>,
// CHECK-DAG: func.func private @lathe_rt_pool2d_padded_bf16(memref<*xbf16>, memref<*xbf16>,
// CHECK-DAG: func.func private @lathe_rt_matmul_bf16_bf16(memref<*xbf16>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xbf16>, i64)

// CHECK-LABEL: func.func @chain
// CHECK: %[[L1:.*]] = arith.constant 20 : i64
// CHECK: call @lathe_rt_conv2d_f32_bf16({{.*}}, %[[L1]],
// CHECK: %[[P:.*]] = arith.constant 2 : i64
// CHECK: call @lathe_rt_pool2d_padded_bf16({{.*}}, %[[P]])
// CHECK: %[[L2:.*]] = arith.constant 14 : i64
// CHECK: call @lathe_rt_conv2d_bf16_f32({{.*}}, %[[L2]],
func.func @chain(%x: memref<1x16x8x8xf32>, %w: memref<16x16x3x3xf32>, %a: memref<1x1x8x8x16xbf16>, %p: memref<1x1x4x4x16xbf16>, %y: memref<1x1x4x4x16xf32>) {
  lathe.conv2d ins(%x, %w : memref<1x16x8x8xf32>, memref<16x16x3x3xf32>) outs(%a : memref<1x1x8x8x16xbf16>) {output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
  lathe.max_pool2d ins(%a : memref<1x1x8x8x16xbf16>) outs(%p : memref<1x1x4x4x16xbf16>) {block = 16 : i64, window = array<i64: 2, 2>, strides = array<i64: 2, 2>}
  lathe.conv2d ins(%p, %w : memref<1x1x4x4x16xbf16>, memref<16x16x3x3xf32>) outs(%y : memref<1x1x4x4x16xf32>) {input_block = 16 : i64, output_block = 16 : i64, padding = array<i64: 1, 1, 1, 1>}
  return
}

// CHECK-LABEL: func.func @linear
// CHECK: %[[F:.*]] = arith.constant 25 : i64
// CHECK: call @lathe_rt_matmul_bf16_bf16({{.*}}, %[[F]])
func.func @linear(%x: memref<16x64xbf16>, %w: memref<64x32xf32>, %b: memref<32xf32>, %y: memref<16x32xbf16>) {
  lathe.matmul ins(%x, %w : memref<16x64xbf16>, memref<64x32xf32>) bias(%b : memref<32xf32>) outs(%y : memref<16x32xbf16>)
  return
}
