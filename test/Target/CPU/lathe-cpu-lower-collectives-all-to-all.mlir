// RUN: lathe-opt %s --split-input-file --lathe-cpu-lower-collectives | FileCheck %s

// The bufferized form of a Ulysses scatter (bshd, P = 2) and the transpose
// to [B, H/P, N, D] after it: the all-to-all reads the permuted view of the
// projection and writes the permuted view of the attention operand, so
// neither the packed send buffer nor the receive buffer is allocated.
// CHECK-LABEL: func.func @scatter
// CHECK-SAME: (%[[X:.*]]: memref<1x128x4x16xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: %[[E:.*]] = memref.expand_shape %[[X]]
// CHECK: %[[SEND:.*]] = memref.reinterpret_cast %[[E]] to offset: [0], sizes: [2, 1, 128, 2, 16], strides: [32, {{[0-9]+}}, 64, 16, 1]
// CHECK: %[[S:.*]] = memref.cast %[[SEND]]
// CHECK: %[[Y:.*]] = memref.alloc() {{.*}} : memref<1x2x256x16xf32>
// CHECK: %[[RECV:.*]] = memref.reinterpret_cast %[[Y]] to offset: [0], sizes: [2, 1, 128, 2, 16], strides: [2048, {{[0-9]+}}, 16, 4096, 1]
// CHECK: %[[R:.*]] = memref.cast %[[RECV]]
// CHECK: call @lathe_rt_comm_all_to_all_f32(%{{.*}}, %{{.*}}, %[[S]], %[[R]])
// CHECK-NOT: linalg.transpose
// CHECK-NOT: memref.alloc
// CHECK: return %[[Y]]
shard.grid @seqshard(shape = 2)
func.func private @lathe_rt_comm_all_to_all_f32(i64, i64, memref<*xf32>, memref<*xf32>)
func.func @scatter(%x: memref<1x128x4x16xf32>) -> memref<1x2x256x16xf32> {
  %c2 = arith.constant 2 : i64
  %c1 = arith.constant 1 : i64
  %e = memref.expand_shape %x [[0], [1], [2, 3], [4]] output_shape [1, 128, 2, 2, 16] : memref<1x128x4x16xf32> into memref<1x128x2x2x16xf32>
  %send = memref.alloc() {alignment = 64 : i64} : memref<2x1x128x2x16xf32>
  linalg.transpose ins(%e : memref<1x128x2x2x16xf32>) outs(%send : memref<2x1x128x2x16xf32>) permutation = [2, 0, 1, 3, 4]
  %recv = memref.alloc() {alignment = 64 : i64} : memref<2x1x128x2x16xf32>
  %s = memref.cast %send : memref<2x1x128x2x16xf32> to memref<*xf32>
  %r = memref.cast %recv : memref<2x1x128x2x16xf32> to memref<*xf32>
  call @lathe_rt_comm_all_to_all_f32(%c2, %c1, %s, %r) : (i64, i64, memref<*xf32>, memref<*xf32>) -> ()
  %flat = memref.collapse_shape %recv [[0, 1, 2, 3, 4]] : memref<2x1x128x2x16xf32> into memref<8192xf32>
  %v = memref.expand_shape %flat [[0, 1, 2, 3]] output_shape [1, 256, 2, 16] : memref<8192xf32> into memref<1x256x2x16xf32>
  %y = memref.alloc() {alignment = 64 : i64} : memref<1x2x256x16xf32>
  linalg.transpose ins(%v : memref<1x256x2x16xf32>) outs(%y : memref<1x2x256x16xf32>) permutation = [0, 2, 1, 3]
  memref.dealloc %send : memref<2x1x128x2x16xf32>
  memref.dealloc %recv : memref<2x1x128x2x16xf32>
  return %y : memref<1x2x256x16xf32>
}

// -----

// The projection is overwritten between the transpose and the all-to-all,
// and the received data is read twice: both packed buffers stay.
// CHECK-LABEL: func.func @kept
// CHECK: linalg.transpose
// CHECK: linalg.fill
// CHECK: call @lathe_rt_comm_all_to_all_f32
// CHECK: linalg.transpose
// CHECK: memref.copy
shard.grid @seqshard(shape = 2)
func.func private @lathe_rt_comm_all_to_all_f32(i64, i64, memref<*xf32>, memref<*xf32>)
func.func @kept(%x: memref<1x128x4x16xf32>, %out: memref<2x1x128x2x16xf32>) -> memref<1x2x256x16xf32> {
  %c2 = arith.constant 2 : i64
  %c1 = arith.constant 1 : i64
  %zero = arith.constant 0.0 : f32
  %e = memref.expand_shape %x [[0], [1], [2, 3], [4]] output_shape [1, 128, 2, 2, 16] : memref<1x128x4x16xf32> into memref<1x128x2x2x16xf32>
  %send = memref.alloc() {alignment = 64 : i64} : memref<2x1x128x2x16xf32>
  linalg.transpose ins(%e : memref<1x128x2x2x16xf32>) outs(%send : memref<2x1x128x2x16xf32>) permutation = [2, 0, 1, 3, 4]
  linalg.fill ins(%zero : f32) outs(%x : memref<1x128x4x16xf32>)
  %recv = memref.alloc() {alignment = 64 : i64} : memref<2x1x128x2x16xf32>
  %s = memref.cast %send : memref<2x1x128x2x16xf32> to memref<*xf32>
  %r = memref.cast %recv : memref<2x1x128x2x16xf32> to memref<*xf32>
  call @lathe_rt_comm_all_to_all_f32(%c2, %c1, %s, %r) : (i64, i64, memref<*xf32>, memref<*xf32>) -> ()
  %flat = memref.collapse_shape %recv [[0, 1, 2, 3, 4]] : memref<2x1x128x2x16xf32> into memref<8192xf32>
  %v = memref.expand_shape %flat [[0, 1, 2, 3]] output_shape [1, 256, 2, 16] : memref<8192xf32> into memref<1x256x2x16xf32>
  %y = memref.alloc() {alignment = 64 : i64} : memref<1x2x256x16xf32>
  linalg.transpose ins(%v : memref<1x256x2x16xf32>) outs(%y : memref<1x2x256x16xf32>) permutation = [0, 2, 1, 3]
  memref.copy %recv, %out : memref<2x1x128x2x16xf32> to memref<2x1x128x2x16xf32>
  memref.dealloc %send : memref<2x1x128x2x16xf32>
  memref.dealloc %recv : memref<2x1x128x2x16xf32>
  return %y : memref<1x2x256x16xf32>
}
