// REQUIRES: cuda
// RUN: lathe-opt %s --pass-pipeline='builtin.module(func.func(lathe-cuda-host-loops))' -split-input-file | FileCheck %s

// The scatter-add of a slice's gradient (lathe-differentiate): every
// iteration updates its own element of a local buffer (index (i, j + 64)),
// so the whole nest is one scf.parallel.

// CHECK-LABEL: func.func @slice_grad
// CHECK: %[[ACC:.*]] = memref.alloc
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK-NOT: scf.for
// CHECK: %[[K:.*]] = arith.addi %[[J]], %{{.*}} : index
// CHECK: memref.load %[[ACC]][%[[I]], %[[K]]]
// CHECK: memref.store %{{.*}}, %[[ACC]][%[[I]], %[[K]]]
func.func @slice_grad(%g: memref<3x32xf32>) -> memref<3x96xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %acc = memref.alloc() : memref<3x96xf32>
  scf.for %i = %c0 to %c3 step %c1 {
    scf.for %j = %c0 to %c32 step %c1 {
      %v = memref.load %g[%i, %j] : memref<3x32xf32>
      %k = arith.addi %j, %c64 : index
      %a = memref.load %acc[%i, %k] : memref<3x96xf32>
      %s = arith.addf %a, %v : f32
      memref.store %s, %acc[%i, %k] : memref<3x96xf32>
    }
  }
  return %acc : memref<3x96xf32>
}

// -----

// An embedding's gradient: rows through token ids (data dependent, two
// tokens may share a row), columns direct. The column loop is parallel and
// becomes the outer scf.parallel; the token loop stays sequential inside it,
// in its order.

// CHECK-LABEL: func.func @embedding_grad
// CHECK: scf.parallel (%[[C:.*]]) = (%{{.*}}) to (%{{.*}})
// CHECK-NEXT: scf.for %[[T:.*]] =
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}, %[[C]]]
func.func @embedding_grad(%ids: memref<5xindex>, %g: memref<5x16xf32>) -> memref<100x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %c16 = arith.constant 16 : index
  %acc = memref.alloc() : memref<100x16xf32>
  scf.for %t = %c0 to %c5 step %c1 {
    scf.for %c = %c0 to %c16 step %c1 {
      %row = memref.load %ids[%t] : memref<5xindex>
      %v = memref.load %g[%t, %c] : memref<5x16xf32>
      %a = memref.load %acc[%row, %c] : memref<100x16xf32>
      %s = arith.addf %a, %v : f32
      memref.store %s, %acc[%row, %c] : memref<100x16xf32>
    }
  }
  return %acc : memref<100x16xf32>
}

// -----

// A scatter through data-dependent indices only (the loss gradient over a
// training index list), writing a function argument: no loop is provably
// independent, so the nest runs on one thread, in order.

// CHECK-LABEL: func.func @scatter
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[ONE:[^)]*]]) step (%[[ONE]])
// CHECK-NEXT: scf.for
func.func @scatter(%idx: memref<4xindex>, %g: memref<4xf32>, %out: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %t = %c0 to %c4 step %c1 {
    %r = memref.load %idx[%t] : memref<4xindex>
    %v = memref.load %g[%t] : memref<4xf32>
    %a = memref.load %out[%r] : memref<10xf32>
    %s = arith.addf %a, %v : f32
    memref.store %s, %out[%r] : memref<10xf32>
  }
  return
}

// -----

// Host loops that call the runtime stay host code.

// CHECK-LABEL: func.func @calls
// CHECK-NOT: scf.parallel
// CHECK: scf.for
func.func private @lathe_rt_matmul_f32(memref<2x2xf32>)
func.func @calls(%m: memref<2x2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %t = %c0 to %c4 step %c1 {
    %v = memref.load %m[%c0, %c0] : memref<2x2xf32>
    memref.store %v, %m[%c1, %c1] : memref<2x2xf32>
    func.call @lathe_rt_matmul_f32(%m) : (memref<2x2xf32>) -> ()
  }
  return
}

// -----

// AdamW's step count: a scalar read on the host of a buffer the function
// never writes, and the arithmetic on it, move into the kernel that uses
// them; a scalar read of a buffer that is written stays where it is.

// CHECK-LABEL: func.func @step_count
// CHECK-NOT: memref.load %arg1
// CHECK: linalg.generic
// CHECK: ^bb0(
// CHECK-NEXT: %[[S:.*]] = memref.load %arg1[] : memref<f32>
// CHECK-NEXT: %[[T:.*]] = arith.addf %[[S]]
// CHECK: arith.mulf %{{.*}}, %[[T]]
// CHECK: linalg.yield
// CHECK: %[[W:.*]] = memref.load %arg2[]
// CHECK: linalg.generic
func.func @step_count(%x: memref<8xf32>, %step: memref<f32>, %w: memref<f32>, %y: memref<8xf32>) {
  %one = arith.constant 1.0 : f32
  %s = memref.load %step[] : memref<f32>
  %t = arith.addf %s, %one : f32
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x : memref<8xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.mulf %v, %t : f32
    linalg.yield %r : f32
  }
  %wv = memref.load %w[] : memref<f32>
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x : memref<8xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.mulf %v, %wv : f32
    linalg.yield %r : f32
  }
  memref.store %one, %w[] : memref<f32>
  return
}

// -----

// A reshape to sizes host code stores into a shape buffer (a dynamic ONNX
// Reshape): the buffer goes, the sizes become a reinterpret_cast's.

// CHECK-LABEL: func.func @reshape
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.store
// CHECK: memref.reinterpret_cast %arg0 to offset: [0], sizes: [%arg1, 12], strides: [12, 1]
func.func @reshape(%x: memref<?x3x4xf32>, %n: index) -> memref<?x12xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c12 = arith.constant 12 : index
  %shape = memref.alloc() : memref<2xindex>
  memref.store %n, %shape[%c0] : memref<2xindex>
  memref.store %c12, %shape[%c1] : memref<2xindex>
  %r = memref.reshape %x(%shape) : (memref<?x3x4xf32>, memref<2xindex>) -> memref<?x12xf32>
  memref.dealloc %shape : memref<2xindex>
  return %r : memref<?x12xf32>
}
