// REQUIRES: cuda
// RUN: lathe-opt %s --split-input-file --lathe-cuda-check-contract=phase=kernels --verify-diagnostics

// After the 'kernels' phase the CUDA target takes memred attention and
// sparsegcn aggregation (the runtime's own kernels); other ops of those
// dialects are errors naming the op.
func.func @reduce(%q: tensor<1x2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10x3xf32>, %o: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @below {{CUDA phase 'kernels' must leave no memred op but attention (the CUDA target has no kernel for attention gradients, memory banks or cross-modal reduction yet): run this model on the CPU backend, but memred.cross_modal_reduce remains}}
  %r = memred.cross_modal_reduce queries(%q : tensor<1x2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<4x3xf32>) recent(0.2) keep(0.25) scale(1.0) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

func.func @transpose(%rp: tensor<6xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %e0: tensor<6xi64>, %e1: tensor<6xi64>, %e2: tensor<6xf32>) -> tensor<6xi64> {
  // expected-error @below {{CUDA phase 'kernels' must leave no sparsegcn op but aggregation (the CUDA target has no CSR transpose kernel yet): run this model on the CPU backend, but sparsegcn.transpose remains}}
  %t:3 = sparsegcn.transpose csr(%rp, %ci, %v : tensor<6xi64>, tensor<6xi64>, tensor<6xf32>) [5, 5] outs(%e0, %e1, %e2 : tensor<6xi64>, tensor<6xi64>, tensor<6xf32>) -> tensor<6xi64>, tensor<6xi64>, tensor<6xf32>
  return %t#0 : tensor<6xi64>
}
