// RUN: lathe-opt %s --convert-scf-to-openmp --lathe-cpu-serialize-small-loops --canonicalize | FileCheck %s
// RUN: lathe-opt %s --convert-scf-to-openmp --lathe-cpu-serialize-small-loops="min-work=0" | FileCheck %s --check-prefix=OFF

// 16 x 16 iterations of a small body: always on the calling thread.
// CHECK-LABEL: func.func @small_static
// CHECK: %[[FALSE:.*]] = arith.constant false
// CHECK: omp.parallel if(%[[FALSE]])
// OFF-LABEL: func.func @small_static
// OFF-NOT: if(
// OFF: omp.parallel {
func.func @small_static(%a: memref<16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c16) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<16x16xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %a[%i, %j] : memref<16x16xf32>
  }
  return
}

// 1024 x 1024 iterations: parallel, no clause.
// CHECK-LABEL: func.func @big_static
// CHECK-NOT: if(
// CHECK: omp.parallel {
func.func @big_static(%a: memref<1024x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1024 = arith.constant 1024 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c1024, %c1024) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<1024x1024xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %a[%i, %j] : memref<1024x1024xf32>
  }
  return
}

// A dynamic trip count: the clause compares trip count x body size with the
// threshold at run time; an inner loop of 4096 iterations counts 4096 times.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: %[[N:[^:]*]]: index
// CHECK: %[[WORK:.*]] = arith.muli %[[N]], %{{.*}} : index
// CHECK: %[[BIG:.*]] = arith.cmpi sge, %[[WORK]], %{{.*}} : index
// CHECK: omp.parallel if(%[[BIG]])
func.func @dynamic(%a: memref<?x4096xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4096 = arith.constant 4096 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.for %j = %c0 to %c4096 step %c1 {
      %v = memref.load %a[%i, %j] : memref<?x4096xf32>
      %w = arith.addf %v, %one : f32
      memref.store %w, %a[%i, %j] : memref<?x4096xf32>
    }
  }
  return
}

// Small by its trip count, big by its inner loop: parallel.
// CHECK-LABEL: func.func @big_inner
// CHECK-NOT: if(
// CHECK: omp.parallel {
func.func @big_inner(%a: memref<4x1048576xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %cn = arith.constant 1048576 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %j = %c0 to %cn step %c1 {
      %v = memref.load %a[%i, %j] : memref<4x1048576xf32>
      %w = arith.addf %v, %one : f32
      memref.store %w, %a[%i, %j] : memref<4x1048576xf32>
    }
  }
  return
}
