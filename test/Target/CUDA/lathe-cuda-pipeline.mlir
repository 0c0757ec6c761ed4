// REQUIRES: cuda
// RUN: lathe-opt %s --lathe-cuda-pipeline | FileCheck %s
// RUN: lathe-opt %s --lathe-cuda-import --lathe-cuda-kernels --lathe-cuda-bufferize --lathe-cuda-library-calls | FileCheck %s --check-prefix=CALLS
// RUN: lathe-opt %s --lathe-cuda-import --lathe-cuda-kernels --lathe-cuda-bufferize --lathe-cuda-library-calls --lathe-cuda-gpu | FileCheck %s --check-prefix=GPU
// RUN: lathe-opt %s --lathe-cuda-pipeline="chip=sm_80" | FileCheck %s --check-prefix=SM80

// A linear layer with ReLU, a softmax over rows, then an element-wise
// square: the matmul (ReLU fused) becomes a cuBLASLt call, the softmax the
// runtime's warp-per-row kernel, the square a generated kernel in one
// gpu.module, and the module ends as host LLVM dialect plus one gpu.binary
// with PTX for sm_90.

// CALLS-LABEL: func.func @main
// CALLS: call @lathe_cuda_matmul_f32
// CALLS-NOT: lathe.matmul
// CALLS: call @lathe_cuda_softmax_f32
// CALLS: linalg.generic

// GPU-LABEL: func.func @main
// GPU: gpu.alloc
// GPU: call @lathe_cuda_matmul_f32
// GPU: call @lathe_cuda_softmax_f32
// GPU: gpu.launch_func @lathe_kernels::
// GPU-NOT: linalg.
// GPU: gpu.module @lathe_kernels
// GPU-NOT: gpu.module

// CHECK-LABEL: llvm.func @main
// CHECK: llvm.call @lathe_cuda_matmul_f32
// CHECK: llvm.call @lathe_cuda_softmax_f32
// CHECK: gpu.launch_func
// CHECK: gpu.binary @lathe_kernels
// CHECK-SAME: .target sm_90\0A
// SM80: .target sm_80\0A
func.func @main(%x: tensor<64x32xf32>, %w: tensor<32x128xf32>) -> tensor<64x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  %m = linalg.matmul ins(%x, %w : tensor<64x32xf32>, tensor<32x128xf32>) outs(%f : tensor<64x128xf32>) -> tensor<64x128xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i,j)->(i,j)>, affine_map<(i,j)->(i,j)>], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.maximumf %a, %zero : f32
    linalg.yield %v : f32
  } -> tensor<64x128xf32>
  %s = linalg.softmax dimension(1) ins(%r : tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  %q = linalg.generic {indexing_maps = [affine_map<(i,j)->(i,j)>, affine_map<(i,j)->(i,j)>], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = arith.mulf %a, %a : f32
    linalg.yield %v : f32
  } -> tensor<64x128xf32>
  return %q : tensor<64x128xf32>
}
