// REQUIRES: cuda
// RUN: lathe-opt %s --split-input-file --lathe-cuda-check-contract=phase=kernels --verify-diagnostics

// After the 'kernels' phase the CUDA target takes memred attention and
// sparsegcn aggregation and transpose (the runtime's own kernels); other
// ops of those dialects are errors naming the op.
func.func @reduce(%q: tensor<1x2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10x3xf32>, %o: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @below {{CUDA phase 'kernels' must leave no memred op but attention (the CUDA target has no kernel for memory banks or cross-modal reduction yet): run this model on the CPU backend, but memred.cross_modal_reduce remains}}
  %r = memred.cross_modal_reduce queries(%q : tensor<1x2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<4x3xf32>) recent(0.2) keep(0.25) scale(1.0) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

// The CSR transpose (GCN training graphs) has a kernel: no error.
func.func @transpose(%rp: tensor<6xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %e0: tensor<6xi64>, %e1: tensor<6xi64>, %e2: tensor<6xf32>) -> tensor<6xi64> {
  %t:3 = sparsegcn.transpose csr(%rp, %ci, %v : tensor<6xi64>, tensor<6xi64>, tensor<6xf32>) [5, 5] outs(%e0, %e1, %e2 : tensor<6xi64>, tensor<6xi64>, tensor<6xf32>) -> tensor<6xi64>, tensor<6xi64>, tensor<6xf32>
  return %t#0 : tensor<6xi64>
}

// -----

// The shard all-gather, reduce-scatter, all-reduce and all-to-all run over
// NCCL (no error); the quantize/dequantize ops of quantized collectives
// have no CUDA lowering yet.
shard.grid @g(shape = 2)
func.func @all_reduce(%x: tensor<8xf32>) -> tensor<8xf32> {
  %r = shard.all_reduce %x on @g grid_axes = [0] : tensor<8xf32> -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

func.func @quantize(%x: tensor<64xf32>, %q: tensor<32xi8>, %s: tensor<2xf32>) -> tensor<32xi8> {
  // expected-error @below {{CUDA phase 'kernels' must leave no qcomm op (the CUDA target runs f32 all-gather, reduce-scatter, all-reduce and all-to-all over NCCL, but has no quantize/dequantize kernels for quantized collectives yet): run this model on the CPU backend, but qcomm.quantize remains}}
  %a, %b = qcomm.quantize ins(%x : tensor<64xf32>) outs(%q, %s : tensor<32xi8>, tensor<2xf32>) bits = 4 group_size = 32 -> tensor<32xi8>, tensor<2xf32>
  return %a : tensor<32xi8>
}

// -----

shard.grid @g(shape = 2)
func.func @gather(%x: tensor<4xf32>) -> tensor<8xf32> {
  %r = shard.all_gather %x on @g grid_axes = [0] gather_axis = 0 : tensor<4xf32> -> tensor<8xf32>
  return %r : tensor<8xf32>
}
