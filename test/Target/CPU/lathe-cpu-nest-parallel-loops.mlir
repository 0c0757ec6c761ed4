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

// A parallel loop nested in another one (the channels of a pooling that sums
// h and w, as convert-linalg-to-parallel-loops writes it) becomes scf.for:
// the outer loop alone is the OpenMP region.
// CHECK-LABEL: func.func @nested_parallel
// CHECK: scf.parallel (%[[N:.*]]) =
// CHECK-NOT: scf.parallel
// CHECK: scf.for %[[H:.*]] =
// CHECK: scf.for %[[W:.*]] =
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %c64
// CHECK: memref.load %{{.*}}[%[[N]], %[[H]], %[[W]], %[[C]]]
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[N]], %[[C]]]
func.func @nested_parallel(%in: memref<8x14x14x64xf32>, %out: memref<8x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c14 = arith.constant 14 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%n) = (%c0) to (%c8) step (%c1) {
    scf.for %h = %c0 to %c14 step %c1 {
      scf.for %w = %c0 to %c14 step %c1 {
        scf.parallel (%c) = (%c0) to (%c64) step (%c1) {
          %v = memref.load %in[%n, %h, %w, %c] : memref<8x14x14x64xf32>
          %s = memref.load %out[%n, %c] : memref<8x64xf32>
          %t = arith.addf %s, %v : f32
          memref.store %t, %out[%n, %c] : memref<8x64xf32>
          scf.reduce
        }
      }
    }
    scf.reduce
  }
  return
}

// Batch 1: the channel loop runs sequentially too, although the outer loop
// then has one iteration and the whole pooling runs on one thread. Measured
// on a global average pooling [1, 56, 56, 256] (lathe-run): with the channel
// loop hoisted out of the h and w loops into the parallel one instead, each
// channel walks the input with the channel stride (30x slower on two
// threads); chunks of 16, 64 and 128 channels with the h and w loops around
// them ran 5.3x, 1.8x and 1.3x slower than this on one thread (contiguous
// channels innermost, 0.09 ms), and two threads did not win it back.
// CHECK-LABEL: func.func @nested_parallel_batch1
// CHECK: scf.parallel (%[[N:.*]]) = (%{{.*}}) to (%c1)
// CHECK-NOT: scf.parallel
// CHECK: scf.for %{{.*}} = %{{.*}} to %c14
// CHECK: scf.for %{{.*}} = %{{.*}} to %c14
// CHECK: scf.for %{{.*}} = %{{.*}} to %c64
func.func @nested_parallel_batch1(%in: memref<1x14x14x64xf32>, %out: memref<1x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c14 = arith.constant 14 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%n) = (%c0) to (%c1) step (%c1) {
    scf.for %h = %c0 to %c14 step %c1 {
      scf.for %w = %c0 to %c14 step %c1 {
        scf.parallel (%c) = (%c0) to (%c64) step (%c1) {
          %v = memref.load %in[%n, %h, %w, %c] : memref<1x14x14x64xf32>
          %s = memref.load %out[%n, %c] : memref<1x64xf32>
          %t = arith.addf %s, %v : f32
          memref.store %t, %out[%n, %c] : memref<1x64xf32>
          scf.reduce
        }
      }
    }
    scf.reduce
  }
  return
}

// Sibling parallel loops (not nested) both stay parallel.
// CHECK-LABEL: func.func @siblings
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @siblings(%a: memref<64xf32>, %b: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %v = memref.load %a[%i] : memref<64xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %a[%i] : memref<64xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %v = memref.load %b[%i] : memref<64xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %b[%i] : memref<64xf32>
    scf.reduce
  }
  return
}
