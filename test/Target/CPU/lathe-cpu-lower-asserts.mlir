// RUN: lathe-opt %s --lathe-cpu-lower-asserts | FileCheck %s

// CHECK-DAG: func.func private @lathe_rt_assert_failed(memref<*xi8>, i64)
// CHECK-DAG: memref.global "private" constant @[[MSG:__lathe_check_msg[_0-9]*]] : memref<30xi8> = dense<[109, 105, 115,

// On the invoking thread: the runtime may longjmp back (flag 0).
// CHECK-LABEL: func.func @top_level
// CHECK-SAME: (%[[OK:.*]]: i1)
// CHECK-NOT: cf.assert
// CHECK: %[[BAD:.*]] = arith.xori %[[OK]], %true
// CHECK: scf.if %[[BAD]] {
// CHECK:   %[[G:.*]] = memref.get_global @[[MSG]] : memref<30xi8>
// CHECK:   %[[M:.*]] = memref.cast %[[G]] : memref<30xi8> to memref<*xi8>
// CHECK:   func.call @lathe_rt_assert_failed(%[[M]], %c0_i64)
func.func @top_level(%ok: i1) {
  cf.assert %ok, "mismatched size for broadcast"
  return
}

// In a parallel loop: the runtime prints and exits instead (flag 1).
// CHECK-LABEL: func.func @in_parallel_loop
// CHECK: scf.parallel
// CHECK-NOT: cf.assert
// CHECK: func.call @lathe_rt_assert_failed(%{{.*}}, %c1_i64)
func.func @in_parallel_loop(%x: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %x[%i] : memref<8xf32>
    %z = arith.constant 0.0 : f32
    %ok = arith.cmpf oge, %v, %z : f32
    cf.assert %ok, "negative input"
    scf.reduce
  }
  return
}
