// REQUIRES: cuda
// RUN: lathe-opt %s --split-input-file --lathe-cuda-host-scalars --verify-diagnostics | FileCheck %s

// Host code's loads and stores of (device) buffers become the runtime's
// scalar read and write at the element's address (aligned pointer + offset
// x width); the value travels as i64 bits (zero-extended, floats bitcast).
// Accesses in loop nests that become kernels, and of stack memory, stay.
// CHECK-LABEL: func.func @count
// CHECK: %[[V:.*]] = memref.subview %arg0[%{{.*}}] [1] [1] : memref<1xi64> to memref<1xi64, strided<[1], offset: ?>>
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[V]]
// CHECK: %[[B:.*]], %[[OFF:.*]], %{{.*}}, %{{.*}} = memref.extract_strided_metadata %[[V]]
// CHECK: %[[BYTES:.*]] = arith.muli %[[OFF]], %c8
// CHECK: %[[SUM:.*]] = arith.addi %[[P]], %[[BYTES]] : index
// CHECK: %[[A:.*]] = arith.index_cast %[[SUM]] : index to i64
// CHECK: %[[N:.*]] = call @lathe_cuda_read_scalar(%[[A]], %c8_i64) : (i64, i64) -> i64
// CHECK: %[[I:.*]] = arith.index_cast %[[N]] : i64 to index
// CHECK: arith.muli %{{.*}}, %c4
// CHECK: %[[F:.*]] = arith.bitcast %{{.*}} : f32 to i32
// CHECK: %[[X:.*]] = arith.extui %[[F]] : i32 to i64
// CHECK: call @lathe_cuda_write_scalar(%{{.*}}, %c4_i64, %[[X]]) : (i64, i64, i64) -> ()
// CHECK: memref.subview %arg2[%c1, %c0] [1, 1] [1, 1]
// CHECK: %[[R:.*]] = call @lathe_cuda_read_scalar(%{{.*}}, %c1_i64) : (i64, i64) -> i64
// CHECK: arith.trunci %[[R]] : i64 to i1
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %arg1[%{{.*}}] : memref<4xf32>
// CHECK: memref.load %{{.*}}[] : memref<f32>
// CHECK-NOT: memref.load
func.func @count(%n: memref<1xi64>, %x: memref<4xf32>, %m: memref<2x3xi1>, %f: f32) -> (index, i1, f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %v = memref.load %n[%c0] : memref<1xi64>
  %i = arith.index_cast %v : i64 to index
  memref.store %f, %x[%c1] : memref<4xf32>
  %b = memref.load %m[%c1, %c0] : memref<2x3xi1>
  scf.parallel (%j) = (%c0) to (%c4) step (%c1) {
    memref.store %f, %x[%j] : memref<4xf32>
  }
  %s = memref.alloca() : memref<f32>
  memref.store %f, %s[] : memref<f32>
  %r = memref.load %s[] : memref<f32>
  return %i, %b, %r : index, i1, f32
}

// -----

// An index in a rank-0 buffer: no view needed; i64 bits read back.
// CHECK-LABEL: func.func @rank0
// CHECK: memref.extract_aligned_pointer_as_index %arg0 : memref<index> -> index
// CHECK: %[[N:.*]] = call @lathe_cuda_read_scalar(%{{.*}}, %c8_i64)
// CHECK: arith.index_cast %[[N]] : i64 to index
func.func @rank0(%n: memref<index>) -> index {
  %v = memref.load %n[] : memref<index>
  return %v : index
}

// -----

func.func @wide(%n: memref<2xi128>) -> i128 {
  %c0 = arith.constant 0 : index
  // expected-error @below {{host code reads a 'i128' from a device buffer (the CUDA target moves integers, floats and indices of up to 8 bytes)}}
  %v = memref.load %n[%c0] : memref<2xi128>
  return %v : i128
}
