// The whole CPU pipeline through lathe-opt reaches the LLVM dialect (plus omp
// constructs), with the matmul as a runtime call and allocations through the
// runtime's allocator.
// RUN: lathe-opt %s --lathe-cpu-pipeline | FileCheck %s
// RUN: lathe-opt %s --lathe-cpu-pipeline | lathe-opt --lathe-check-contract=phase=llvm > /dev/null
// RUN: lathe-opt %s --lathe-cpu-kernels | FileCheck %s --check-prefix=KERNELS
// RUN: not lathe-opt %s --lathe-check-contract=phase=bufferize 2>&1 | FileCheck %s --check-prefix=CONTRACT

// CHECK-DAG: llvm.func @lathe_rt_matmul_f32(
// CHECK-DAG: llvm.func @_mlir_memref_to_llvm_alloc(
// CHECK-LABEL: llvm.func @main
// CHECK: llvm.call @lathe_rt_matmul_f32
// CHECK: omp.parallel

// KERNELS-LABEL: func.func @main
// KERNELS: lathe.matmul {{.*}} {activation = #lathe<activation relu>}

// CONTRACT: error: phase 'bufferize' must leave no tensor values, but tensor.empty still has one
func.func @main(%x: tensor<16x32xf32>, %w: tensor<32x64xf32>, %b: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<16x32xf32>, tensor<32x64xf32>) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%mm : tensor<16x64xf32>) outs(%e : tensor<16x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c0 = arith.constant 0.0 : f32
    %m = arith.maximumf %a, %c0 : f32
    linalg.yield %m : f32
  } -> tensor<16x64xf32>
  // A separate element-wise op stays a parallel loop.
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r, %b : tensor<16x64xf32>, tensor<16x64xf32>) outs(%e : tensor<16x64xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}
