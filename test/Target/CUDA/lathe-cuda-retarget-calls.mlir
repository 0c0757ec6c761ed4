// REQUIRES: cuda
// RUN: lathe-opt %s --split-input-file --lathe-cuda-retarget-calls --verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func private @lathe_cuda_matmul_f32
// CHECK-LABEL: func.func @f
// CHECK: call @lathe_cuda_matmul_f32
func.func private @lathe_rt_matmul_f32(i64, !llvm.ptr, i64)
func.func @f(%p: !llvm.ptr) {
  %c = arith.constant 2 : i64
  call @lathe_rt_matmul_f32(%c, %p, %c) : (i64, !llvm.ptr, i64) -> ()
  return
}

// -----

func.func private @lathe_rt_softmax_f32(i64)
func.func @g() {
  %c = arith.constant 2 : i64
  // expected-error @below {{the CUDA target has no kernel for '@lathe_rt_softmax_f32'}}
  call @lathe_rt_softmax_f32(%c) : (i64) -> ()
  return
}
