// REQUIRES: cuda
// RUN: lathe-opt %s --lathe-cuda-device-memory | FileCheck %s

// Host code handles device buffers only: allocations go through the CUDA
// runtime's allocator, a constant is copied to the device where it is read
// (and freed before the return), a copy becomes a linalg.copy (a kernel).

memref.global "private" constant @w : memref<4xf32> = dense<1.0>

// CHECK-LABEL: func.func @f
// CHECK-SAME: (%[[A:.*]]: memref<4xf32>)
// CHECK: %[[G:.*]] = memref.get_global @w
// CHECK: %[[W:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: gpu.memcpy %[[W]], %[[G]]
// CHECK: %[[T:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: linalg.copy ins(%[[A]] : memref<4xf32>) outs(%[[T]] : memref<4xf32>)
// CHECK: %[[O:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: linalg.add ins(%[[T]], %[[W]] : {{.*}}) outs(%[[O]] : memref<4xf32>)
// CHECK-DAG: gpu.dealloc %[[T]]
// CHECK-DAG: gpu.dealloc %[[W]]
// CHECK: return %[[O]]
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
func.func @f(%a: memref<4xf32>) -> memref<4xf32> {
  %g = memref.get_global @w : memref<4xf32>
  %t = memref.alloc() : memref<4xf32>
  memref.copy %a, %t : memref<4xf32> to memref<4xf32>
  %o = memref.alloc() : memref<4xf32>
  linalg.add ins(%t, %g : memref<4xf32>, memref<4xf32>) outs(%o : memref<4xf32>)
  memref.dealloc %t : memref<4xf32>
  return %o : memref<4xf32>
}

// A host read of a rank-0 device buffer (AdamW's step counter) reads a copy
// on the host stack; loads inside loop nests (kernels) are left alone.
// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[S:.*]]: memref<f32>, %[[X:.*]]: memref<4xf32>)
// CHECK: %[[H:.*]] = memref.alloca() : memref<f32>
// CHECK: gpu.memcpy %[[H]], %[[S]] : memref<f32>, memref<f32>
// CHECK: %[[V:.*]] = memref.load %[[H]][] : memref<f32>
// CHECK: linalg.generic
// CHECK-NOT: memref.alloca
// CHECK: return
func.func @step(%s: memref<f32>, %x: memref<4xf32>) -> f32 {
  %v = memref.load %s[] : memref<f32>
  %one = arith.constant 1.0 : f32
  %n = arith.addf %v, %one : f32
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]} outs(%x : memref<4xf32>) {
  ^bb0(%o: f32):
    %w = memref.load %s[] : memref<f32>
    %y = arith.mulf %o, %w : f32
    linalg.yield %y : f32
  }
  return %n : f32
}
