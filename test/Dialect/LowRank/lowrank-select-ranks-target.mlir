// lowrank-select-ranks prices candidates with the lowrank table of the
// module's #lathe.target, and with the CPU's shipped roofline when the module
// has none (or its target has no lowrank table).
// The last split's table is bad, so lathe-opt exits non-zero on the whole file.
// RUN: not lathe-opt %s --split-input-file --lowrank-select-ranks="max-error=0.01" 2>/dev/null | FileCheck %s
// RUN: not lathe-opt %s --split-input-file --lowrank-select-ranks="max-error=0.01" 2>&1 >/dev/null | FileCheck %s --check-prefix=ERR

// The weight is rank 1 (all ones), so every candidate rank is exact and the
// cheapest predicted one wins. The shipped table's measured rows: dense
// [64,256]x[256,256] 36.5 us; rank 16 4.3 + 7.6 = 11.9 us; rank 32 6.4 +
// 6.5 = 12.9 us; rank 48 8.5 + 8.9 = 17.4 us.
// CHECK-LABEL: func.func @default
// CHECK: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 16, {{.*}}target = "cpu"
func.func @default(%x: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %w = arith.constant dense<1.0> : tensor<256x256xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x256xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x256xf32>) -> tensor<64x256xf32>
  %y = linalg.matmul ins(%x, %w : tensor<64x256xf32>, tensor<256x256xf32>) outs(%f : tensor<64x256xf32>) -> tensor<64x256xf32>
  return %y : tensor<64x256xf32>
}

// -----

// The 2026-11 shipped roofline (155 GFLOP/s, 30 GB/s, 3 us per call; rank 16
// two matmuls of 6.4 us, rank 32 two of 9.8 us) with rank 16's two matmuls
// measured slow (100 us each): rank 32 is now the cheapest.
// CHECK-LABEL: func.func @slow_rank16
// CHECK: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 32, {{.*}}target = "slow-rank16"
module attributes {lathe.target = #lathe.target<name = "slow-rank16", threads = 1, features = [],
    tables = {lowrank = {peak_gflops = 155.0, bandwidth_gbps = 30.0, call_overhead_us = 3.0,
                         min_efficient_dim = 16, granularity = 16,
                         matmul = [{m = 64, n = 16, k = 256, us = 100.0},
                                   {m = 64, n = 256, k = 16, us = 100.0}]}}>} {
func.func @slow_rank16(%x: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %w = arith.constant dense<1.0> : tensor<256x256xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x256xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x256xf32>) -> tensor<64x256xf32>
  %y = linalg.matmul ins(%x, %w : tensor<64x256xf32>, tensor<256x256xf32>) outs(%f : tensor<64x256xf32>) -> tensor<64x256xf32>
  return %y : tensor<64x256xf32>
}
}

// -----

// Factorized matmuls slower than the dense one at every rank (a 1 ms call
// overhead; the dense shape measured at 10 us): the layer stays dense.
// CHECK-LABEL: func.func @slow_factors
// CHECK: linalg.matmul {{.*}}lathe.decision = #lowrank.decision<action = "dense"{{.*}}target = "slow-factors"
module attributes {lathe.target = #lathe.target<name = "slow-factors", threads = 1, features = [],
    tables = {lowrank = {peak_gflops = 155.0, bandwidth_gbps = 30.0, call_overhead_us = 1000.0,
                         granularity = 16, matmul = [{m = 64, n = 256, k = 256, us = 10.0}]}}>} {
func.func @slow_factors(%x: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %w = arith.constant dense<1.0> : tensor<256x256xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x256xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x256xf32>) -> tensor<64x256xf32>
  %y = linalg.matmul ins(%x, %w : tensor<64x256xf32>, tensor<256x256xf32>) outs(%f : tensor<64x256xf32>) -> tensor<64x256xf32>
  return %y : tensor<64x256xf32>
}
}

// -----

// A target without a lowrank table: the shipped default's table prices it.
// CHECK-LABEL: func.func @no_table
// CHECK: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 16, {{.*}}target = "cpu"
module attributes {lathe.target = #lathe.target<name = "other", threads = 1, features = [],
    tables = {memred = {workers = 1}}>} {
func.func @no_table(%x: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %w = arith.constant dense<1.0> : tensor<256x256xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x256xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x256xf32>) -> tensor<64x256xf32>
  %y = linalg.matmul ins(%x, %w : tensor<64x256xf32>, tensor<256x256xf32>) outs(%f : tensor<64x256xf32>) -> tensor<64x256xf32>
  return %y : tensor<64x256xf32>
}
}

// -----

// A bad table: an error naming the target, the table and the key.
// ERR: error: target 'bad': table 'lowrank': key 'bandwidth_gbps': expected a positive number, got "fast"
module attributes {lathe.target = #lathe.target<name = "bad", threads = 1, features = [],
    tables = {lowrank = {peak_gflops = 155.0, bandwidth_gbps = "fast"}}>} {
func.func @bad(%x: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %w = arith.constant dense<1.0> : tensor<256x256xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x256xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x256xf32>) -> tensor<64x256xf32>
  %y = linalg.matmul ins(%x, %w : tensor<64x256xf32>, tensor<256x256xf32>) outs(%f : tensor<64x256xf32>) -> tensor<64x256xf32>
  return %y : tensor<64x256xf32>
}
}
