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

// CHECK-LABEL: func.func @attention
// CHECK: call @lathe_cuda_chunked_attention_f32
// CHECK: call @lathe_cuda_spmm_csr_f32_i32
// CHECK: call @lathe_cuda_rnn_f32
// CHECK: call @lathe_cuda_layer_norm_f32
// CHECK: call @lathe_cuda_masked_attention_f32
// CHECK: call @lathe_cuda_spmm_tiled_f32
// CHECK: call @lathe_cuda_pool2d_padded_f32
// CHECK: call @lathe_cuda_csr_transpose
// CHECK: call @lathe_cuda_csr_transpose_i32
// CHECK: call @lathe_cuda_cross_modal_reduce_f32
// CHECK: call @lathe_cuda_bank_append_policy_f32
func.func private @lathe_rt_csr_transpose(i64)
func.func private @lathe_rt_csr_transpose_i32(i64)
func.func private @lathe_rt_masked_attention_f32(i64)
func.func private @lathe_rt_spmm_tiled_f32(i64)
func.func private @lathe_rt_pool2d_padded_f32(i64)
func.func private @lathe_rt_chunked_attention_f32(i64)
func.func private @lathe_rt_spmm_csr_f32_i32(i64)
func.func private @lathe_rt_rnn_f32(i64)
func.func private @lathe_rt_layer_norm_f32(i64)
func.func private @lathe_rt_cross_modal_reduce_f32(i64)
func.func private @lathe_rt_bank_append_policy_f32(i64) -> i64
func.func @attention() {
  %c = arith.constant 2 : i64
  call @lathe_rt_chunked_attention_f32(%c) : (i64) -> ()
  call @lathe_rt_spmm_csr_f32_i32(%c) : (i64) -> ()
  call @lathe_rt_rnn_f32(%c) : (i64) -> ()
  call @lathe_rt_layer_norm_f32(%c) : (i64) -> ()
  call @lathe_rt_masked_attention_f32(%c) : (i64) -> ()
  call @lathe_rt_spmm_tiled_f32(%c) : (i64) -> ()
  call @lathe_rt_pool2d_padded_f32(%c) : (i64) -> ()
  call @lathe_rt_csr_transpose(%c) : (i64) -> ()
  call @lathe_rt_csr_transpose_i32(%c) : (i64) -> ()
  call @lathe_rt_cross_modal_reduce_f32(%c) : (i64) -> ()
  %n = call @lathe_rt_bank_append_policy_f32(%c) : (i64) -> i64
  return
}

// -----

func.func private @lathe_rt_no_such_kernel_f32(i64)
func.func @g() {
  %c = arith.constant 2 : i64
  // expected-error @below {{the CUDA target has no kernel for '@lathe_rt_no_such_kernel_f32'}}
  call @lathe_rt_no_such_kernel_f32(%c) : (i64) -> ()
  return
}
