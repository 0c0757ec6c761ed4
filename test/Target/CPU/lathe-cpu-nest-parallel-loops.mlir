// RUN: lathe-opt %s --lathe-cpu-nest-parallel-loops | FileCheck %s

// A dynamic leading dimension stays parallel; the others become scf.for.
// CHECK-LABEL: func.func @dynamic_batch
// CHECK-SAME: %[[A:.*]]: memref<?x16x8xf32>, %[[N:.*]]: index
// CHECK: scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%[[N]])
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}}
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %{{.*}}
// CHECK: memref.load %[[A]][%[[I]], %[[J]], %[[K]]]
func.func @dynamic_batch(%a: memref<?x16x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%n, %c16, %c8) step (%c1, %c1, %c1) {
    %v = memref.load %a[%i, %j, %k] : memref<?x16x8xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %a[%i, %j, %k] : memref<?x16x8xf32>
    scf.reduce
  }
  return
}

// Static leading dimensions stay parallel until they reach 16 iterations
// (2 x 8), the rest is sequential.
// CHECK-LABEL: func.func @small_leading
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%c2, %c8)
// CHECK: scf.for %{{.*}} = %{{.*}} to %c4
// CHECK-NOT: scf.for
// CHECK: memref.store
func.func @small_leading(%a: memref<2x8x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c2, %c8, %c4) step (%c1, %c1, %c1) {
    %v = memref.load %a[%i, %j, %k] : memref<2x8x4xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %a[%i, %j, %k] : memref<2x8x4xf32>
    scf.reduce
  }
  return
}

// A reduction keeps its scf.parallel as it is.
// CHECK-LABEL: func.func @reduction
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = {{.*}} init
// CHECK-NOT: scf.for
func.func @reduction(%a: memref<64x64xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %s = scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) init (%zero) -> f32 {
    %v = memref.load %a[%i, %j] : memref<64x64xf32>
    scf.reduce(%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %t = arith.addf %x, %y : f32
      scf.reduce.return %t : f32
    }
  }
  return %s : f32
}
