// RUN: lathe-opt %s --lathe-cpu-scope-runtime-calls | FileCheck %s

func.func private @lathe_rt_kernel(memref<*xf32>, i64) -> i64

// A call in a loop saves and restores the stack pointer around itself and
// its own copy of the cast.
// CHECK-LABEL: func.func @in_loop
// CHECK-SAME: (%[[BUF:.*]]: memref<8xf32>, %[[N:.*]]: index)
// CHECK: scf.for {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (i64)
// CHECK-NEXT: %[[SP:.*]] = llvm.intr.stacksave : !llvm.ptr
// CHECK-NEXT: %[[U:.*]] = memref.cast %[[BUF]] : memref<8xf32> to memref<*xf32>
// CHECK-NEXT: %[[C:.*]] = func.call @lathe_rt_kernel(%[[U]], %[[ACC]])
// CHECK-NEXT: llvm.intr.stackrestore %[[SP]] : !llvm.ptr
// CHECK-NEXT: scf.yield %[[C]] : i64
func.func @in_loop(%buf: memref<8xf32>, %n: index) -> i64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0 : i64
  %u = memref.cast %buf : memref<8xf32> to memref<*xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (i64) {
    %c = func.call @lathe_rt_kernel(%u, %acc) : (memref<*xf32>, i64) -> i64
    scf.yield %c : i64
  }
  return %r : i64
}

// A call in the function's body is left alone (its stack is returned with
// the function).
// CHECK-LABEL: func.func @top_level
// CHECK-NOT: stacksave
// CHECK: call @lathe_rt_kernel
func.func @top_level(%buf: memref<8xf32>) -> i64 {
  %z = arith.constant 0 : i64
  %u = memref.cast %buf : memref<8xf32> to memref<*xf32>
  %c = func.call @lathe_rt_kernel(%u, %z) : (memref<*xf32>, i64) -> i64
  return %c : i64
}
