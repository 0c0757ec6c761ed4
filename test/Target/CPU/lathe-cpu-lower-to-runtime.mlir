// RUN: lathe-opt %s --lathe-cpu-lower-to-runtime | FileCheck %s

// CHECK-DAG: func.func private @lathe_rt_matmul_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, i64)
// CHECK-DAG: func.func private @lathe_rt_softmax_f32(memref<*xf32>, memref<*xf32>, i64)
// CHECK-DAG: memref.global @w : memref<32x16xf32>
memref.global @w : memref<32x16xf32>

// Flags: bias (1) | constant B (4) | relu (1 << 8) = 261. The transposed
// weight is passed as a strided view, not a copy.
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.*]]: memref<8x16xf32>, %[[B:.*]]: memref<32xf32>, %[[C:.*]]: memref<8x32xf32>)
func.func @linear(%x: memref<8x16xf32>, %b: memref<32xf32>, %c: memref<8x32xf32>) {
  %w = memref.get_global @w : memref<32x16xf32>
  // CHECK: %[[W:.*]] = memref.get_global @w
  // CHECK: %[[WT:.*]] = memref.transpose %[[W]] (d0, d1) -> (d1, d0)
  // CHECK-DAG: %[[XU:.*]] = memref.cast %[[X]] : memref<8x16xf32> to memref<*xf32>
  // CHECK-DAG: %[[WU:.*]] = memref.cast %[[WT]] : {{.*}} to memref<*xf32>
  // CHECK-DAG: %[[BU:.*]] = memref.cast %[[B]] : memref<32xf32> to memref<*xf32>
  // CHECK-DAG: memref.cast %[[C]] : memref<8x32xf32> to memref<*xf32>
  // CHECK-DAG: %[[FLAGS:.*]] = arith.constant 261 : i64
  // CHECK: call @lathe_rt_matmul_f32(%[[XU]], %[[WU]], %[[BU]], %{{.*}}, %{{.*}}, %[[FLAGS]])
  // CHECK-NOT: lathe.matmul
  lathe.matmul ins(%x, %w : memref<8x16xf32>, memref<32x16xf32>) bias(%b : memref<32xf32>)
      outs(%c : memref<8x32xf32>) {transpose_rhs, activation = #lathe<activation relu>}
  return
}

// CHECK-LABEL: func.func @softmax
func.func @softmax(%x: memref<4x16xf32>, %y: memref<4x16xf32>) {
  // CHECK: %[[AXIS:.*]] = arith.constant 1 : i64
  // CHECK: call @lathe_rt_softmax_f32(%{{.*}}, %{{.*}}, %[[AXIS]])
  linalg.softmax dimension(1) ins(%x : memref<4x16xf32>) outs(%y : memref<4x16xf32>)
  return
}

// A convolution whose output was not zero-filled just before accumulates: it
// runs into a temporary that is then added to the output.
// CHECK-LABEL: func.func @conv_accumulating
// CHECK-SAME: %[[O:[a-z0-9]+]]: memref<1x4x6x6xf32>)
func.func @conv_accumulating(%i: memref<1x3x8x8xf32>, %f: memref<4x3x3x3xf32>, %o: memref<1x4x6x6xf32>) {
  // CHECK: %[[T:.*]] = memref.alloc() : memref<1x4x6x6xf32>
  // CHECK: call @lathe_rt_conv2d_f32
  // CHECK: linalg.add ins(%[[O]], %[[T]] : {{.*}}) outs(%[[O]] : {{.*}})
  // CHECK: memref.dealloc %[[T]]
  // CHECK-NOT: linalg.conv_2d
  linalg.conv_2d_nchw_fchw ins(%i, %f : memref<1x3x8x8xf32>, memref<4x3x3x3xf32>) outs(%o : memref<1x4x6x6xf32>)
  return
}

// CHECK-LABEL: func.func @conv_zeroed
func.func @conv_zeroed(%i: memref<1x3x8x8xf32>, %f: memref<4x3x3x3xf32>, %o: memref<1x4x6x6xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%o : memref<1x4x6x6xf32>)
  // CHECK-NOT: linalg.fill
  // CHECK: call @lathe_rt_conv2d_f32
  linalg.conv_2d_nchw_fchw ins(%i, %f : memref<1x3x8x8xf32>, memref<4x3x3x3xf32>) outs(%o : memref<1x4x6x6xf32>)
  return
}
