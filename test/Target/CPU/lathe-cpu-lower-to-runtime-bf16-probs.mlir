// RUN: lathe-opt %s --split-input-file --lathe-cpu-lower-to-runtime --cse | FileCheck %s

// A product marked `lathe.bf16_lhs` (lathe-cpu-bf16-activations: unmasked
// attention's probabilities) whose probabilities only one softmax writes and
// only it reads: the buffer and its reshape become bf16, the softmax writes
// them through lathe_rt_softmax_f32_bf16 and the product reads them as a
// bf16 A (LATHE_MM_A_BF16 = 8).
// CHECK-DAG: func.func private @lathe_rt_softmax_f32_bf16(memref<*xf32>, memref<*xbf16>, i64)
// CHECK-DAG: func.func private @lathe_rt_matmul_bf16_f32(memref<*xbf16>, memref<*xf32>,
// CHECK-LABEL: func.func @probs
// CHECK: %[[P:.*]] = memref.alloc() {{.*}} : memref<8x16x16xbf16>
// CHECK: call @lathe_rt_softmax_f32_bf16(
// CHECK: memref.expand_shape %[[P]] {{.*}} into memref<2x4x16x16xbf16>
// CHECK: %[[F:.*]] = arith.constant 8 : i64
// CHECK: call @lathe_rt_matmul_bf16_f32({{.*}}, %[[F]])
// CHECK-NOT: memref<8x16x16xf32>
func.func @probs(%s: memref<8x16x16xf32>, %v: memref<2x4x16x8xf32>, %o: memref<2x4x16x8xf32>) {
  %p = memref.alloc() {alignment = 64 : i64} : memref<8x16x16xf32>
  linalg.softmax dimension(2) ins(%s : memref<8x16x16xf32>) outs(%p : memref<8x16x16xf32>)
  %e = memref.expand_shape %p [[0, 1], [2], [3]] output_shape [2, 4, 16, 16] : memref<8x16x16xf32> into memref<2x4x16x16xf32>
  lathe.matmul ins(%e, %v : memref<2x4x16x16xf32>, memref<2x4x16x8xf32>) outs(%o : memref<2x4x16x8xf32>) {lathe.bf16_lhs}
  memref.dealloc %p : memref<8x16x16xf32>
  return
}

// -----

// The probabilities are read by something else too (here: a copy): they stay
// f32, and so do the softmax and the product.
// CHECK-LABEL: func.func @probs_read_twice
// CHECK: call @lathe_rt_softmax_f32(
// CHECK: call @lathe_rt_matmul_f32(
func.func @probs_read_twice(%s: memref<8x16x16xf32>, %v: memref<8x16x8xf32>, %o: memref<8x16x8xf32>, %c: memref<8x16x16xf32>) {
  %p = memref.alloc() {alignment = 64 : i64} : memref<8x16x16xf32>
  linalg.softmax dimension(2) ins(%s : memref<8x16x16xf32>) outs(%p : memref<8x16x16xf32>)
  lathe.matmul ins(%p, %v : memref<8x16x16xf32>, memref<8x16x8xf32>) outs(%o : memref<8x16x8xf32>) {lathe.bf16_lhs}
  memref.copy %p, %c : memref<8x16x16xf32> to memref<8x16x16xf32>
  return
}

// -----

// Softmax in place over the scores' buffer: that buffer is written by the
// scores' product too, so it stays f32.
// CHECK-LABEL: func.func @probs_in_place
// CHECK: call @lathe_rt_softmax_f32(
// CHECK: call @lathe_rt_matmul_f32(
func.func @probs_in_place(%s: memref<8x16x16xf32>, %v: memref<8x16x8xf32>, %o: memref<8x16x8xf32>) {
  %p = memref.alloc() {alignment = 64 : i64} : memref<8x16x16xf32>
  memref.copy %s, %p : memref<8x16x16xf32> to memref<8x16x16xf32>
  linalg.softmax dimension(2) ins(%p : memref<8x16x16xf32>) outs(%p : memref<8x16x16xf32>)
  lathe.matmul ins(%p, %v : memref<8x16x16xf32>, memref<8x16x8xf32>) outs(%o : memref<8x16x8xf32>) {lathe.bf16_lhs}
  return
}
