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
