// REQUIRES: cuda
// RUN: lathe-opt %s --split-input-file --lathe-cuda-check-contract=phase=kernels --verify-diagnostics

// After the 'kernels' phase the CUDA target takes every memred op (attention
// and its gradient, memory banks, the cross-modal reduction) and sparsegcn
// aggregation and transpose (the runtime's own kernels); other ops of those
// dialects are errors naming the op.
func.func @reduce(%q: tensor<1x2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10x3xf32>, %o: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %r = memred.cross_modal_reduce queries(%q : tensor<1x2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<4x3xf32>) recent(0.2) keep(0.25) scale(1.0) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

func.func @bank(%f: tensor<4x12xf32>, %q: tensor<2x3x4xf32>, %b: tensor<16x12xf32>, %n: index) -> tensor<16x12xf32> {
  %b1, %n1 = memred.bank_append ins(%f : tensor<4x12xf32>) queries(%q : tensor<2x3x4xf32>) outs(%b : tensor<16x12xf32>) count(%n) recent(0.25) keep(0.5) scale(0.5) -> tensor<16x12xf32>, index
  return %b1 : tensor<16x12xf32>
}

// -----

func.func @grad(%q: tensor<2x8x4xf32>, %l: tensor<2x8xf32>) -> tensor<2x8x4xf32> {
  %g:3 = memred.attention_grad ins(%q, %q, %q, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8xf32>) outs(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) scale(0.5) chunks(64, 128) -> tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>
  return %g#0 : tensor<2x8x4xf32>
}

// -----

// The CSR transpose (GCN training graphs) has a kernel: no error.
func.func @transpose(%rp: tensor<6xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %e0: tensor<6xi64>, %e1: tensor<6xi64>, %e2: tensor<6xf32>) -> tensor<6xi64> {
  %t:3 = sparsegcn.transpose csr(%rp, %ci, %v : tensor<6xi64>, tensor<6xi64>, tensor<6xf32>) [5, 5] outs(%e0, %e1, %e2 : tensor<6xi64>, tensor<6xi64>, tensor<6xf32>) -> tensor<6xi64>, tensor<6xi64>, tensor<6xf32>
  return %t#0 : tensor<6xi64>
}

// -----

// The shard all-gather, reduce-scatter, all-reduce and all-to-all run over
// NCCL, the qcomm compute ops on the runtime's quantization kernels (no
// error); qcomm's communication ops must have been expanded.
shard.grid @g(shape = 2)
func.func @all_reduce(%x: tensor<8xf32>) -> tensor<8xf32> {
  %r = shard.all_reduce %x on @g grid_axes = [0] : tensor<8xf32> -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

func.func @quantize(%x: tensor<64xf32>, %q: tensor<32xi8>, %s: tensor<2xf32>) -> tensor<32xi8> {
  %a, %b = qcomm.quantize ins(%x : tensor<64xf32>) outs(%q, %s : tensor<32xi8>, tensor<2xf32>) bits = 4 group_size = 32 -> tensor<32xi8>, tensor<2xf32>
  return %a : tensor<32xi8>
}

// -----

shard.grid @dp(shape = 2)
func.func @quantized_gather(%d: tensor<4096xf32>) -> tensor<8192xf32> {
  // expected-error @below {{CUDA phase 'kernels' must leave no qcomm communication op (qcomm-expand-collectives), but qcomm.all_gather remains}}
  %w = qcomm.all_gather %d on @dp grid_axes = [0] bits = 4 group_size = 2048 : tensor<4096xf32> -> tensor<8192xf32>
  return %w : tensor<8192xf32>
}

// -----

shard.grid @g(shape = 2)
func.func @gather(%x: tensor<4xf32>) -> tensor<8xf32> {
  %r = shard.all_gather %x on @g grid_axes = [0] gather_axis = 0 : tensor<4xf32> -> tensor<8xf32>
  return %r : tensor<8xf32>
}
