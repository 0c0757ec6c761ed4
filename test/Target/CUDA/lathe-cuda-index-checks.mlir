// REQUIRES: cuda
// RUN: lathe-opt %s --split-input-file --lathe-cuda-index-checks --verify-diagnostics | FileCheck %s

// An embedding lookup's guard: the call in the loop body becomes an atomic
// claim of a device record plus stores of {index, lo, hi}; the record is
// zeroed before the loop and read back (with the host-side message) after.

// CHECK-LABEL: func.func @gather
// CHECK: %[[REC:.*]] = memref.alloc() : memref<4xi64>
// CHECK: call @lathe_cuda_index_check_begin
// CHECK: linalg.generic
// CHECK-NOT: lathe_rt_index_check_failed
// CHECK: %[[OLD:.*]] = memref.atomic_rmw addi %{{.*}}, %[[REC]]
// CHECK: scf.if
// CHECK-COUNT-3: memref.store %{{.*}}, %[[REC]]
// CHECK: %[[MSG:.*]] = memref.get_global @__lathe_check_msg
// CHECK: call @lathe_cuda_index_check_end
// CHECK: memref.dealloc %[[REC]]
memref.global "private" constant @__lathe_check_msg : memref<6xi8> = dense<[116, 111, 107, 101, 110, 0]>
func.func private @lathe_rt_index_check_failed(memref<*xi8>, i64, i64, i64)
func.func @gather(%ids: memref<8xi64>, %table: memref<100x4xf32>, %out: memref<8x4xf32>) {
  %c100 = arith.constant 100 : i64
  %c0i = arith.constant 0 : i64
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%ids : memref<8xi64>) outs(%out : memref<8x4xf32>) {
  ^bb0(%id: i64, %o: f32):
    %j = linalg.index 1 : index
    %lo = arith.cmpi sge, %id, %c0i : i64
    %hi = arith.cmpi slt, %id, %c100 : i64
    %ok = arith.andi %lo, %hi : i1
    %r = scf.if %ok -> f32 {
      %i = arith.index_cast %id : i64 to index
      %v = memref.load %table[%i, %j] : memref<100x4xf32>
      scf.yield %v : f32
    } else {
      %m = memref.get_global @__lathe_check_msg : memref<6xi8>
      %c = memref.cast %m : memref<6xi8> to memref<*xi8>
      func.call @lathe_rt_index_check_failed(%c, %id, %c0i, %c100) : (memref<*xi8>, i64, i64, i64) -> ()
      scf.yield %zero : f32
    }
    linalg.yield %r : f32
  }
  return
}

// -----

// A cf.assert in a loop body: failing threads flag the record; the message
// is read on the host after the loop.

// CHECK-LABEL: func.func @assert
// CHECK: %[[REC:.*]] = memref.alloc() : memref<4xi64>
// CHECK: linalg.generic
// CHECK-NOT: cf.assert
// CHECK: scf.if
// CHECK-NEXT: arith.constant 1 : i64
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[REC]]
// CHECK: memref.get_global @__lathe_cuda_assert_msg
// CHECK: call @lathe_cuda_assert_check_end
func.func @assert(%x: memref<64xf32>, %y: memref<64xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x : memref<64xf32>) outs(%y : memref<64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %ok = arith.cmpf oge, %v, %z : f32
    cf.assert %ok, "negative input"
    linalg.yield %v : f32
  }
  return
}

// -----

func.func private @lathe_rt_index_check_failed(memref<*xi8>, i64, i64, i64)
func.func @host(%w: memref<*xi8>, %i: i64) {
  // expected-error @below {{an index check outside a loop nest}}
  func.call @lathe_rt_index_check_failed(%w, %i, %i, %i) : (memref<*xi8>, i64, i64, i64) -> ()
  return
}
