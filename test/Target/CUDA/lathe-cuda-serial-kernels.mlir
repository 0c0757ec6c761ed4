// REQUIRES: cuda
// RUN: lathe-opt %s --pass-pipeline='builtin.module(func.func(lathe-cuda-serial-kernels))' | FileCheck %s

// A fill of a rank-0 buffer and a reduction to a scalar have no parallel
// dimension: each gets a one-iteration scf.parallel (a one-thread kernel);
// an op with a parallel dimension is left alone.

// CHECK-LABEL: func.func @loss
// CHECK: scf.parallel
// CHECK-NEXT: linalg.fill
// CHECK: scf.parallel
// CHECK-NEXT: linalg.generic
// CHECK-SAME: iterator_types = ["reduction"]
// CHECK-NOT: scf.parallel
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel"]
func.func @loss(%x: memref<8xf32>, %s: memref<f32>, %y: memref<8xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%s : memref<f32>)
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> ()>], iterator_types = ["reduction"]} ins(%x : memref<8xf32>) outs(%s : memref<f32>) {
  ^bb0(%v: f32, %a: f32):
    %r = arith.addf %v, %a : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x : memref<8xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  return
}
