// A measured table need not grow with the rank: on the shipped CPU table a
// 16-wide matmul at batch 1 (3.5-4.5 us) is slower than a 32-wide one
// (1.8-2.9 us), so rank 16 of a [1, 1024] x [1024, 1024] layer (4.478 +
// 3.221 us) costs more than rank 32 (2.926 + 3.246 us), which also drops less
// of the weight. The weight is rank 1 (all ones): every candidate is exact,
// and the fastest must win under every strategy that prices latency; the
// threshold baseline took the smallest rank within its budget (rank 16).
// RUN: lathe-opt %s --split-input-file --lowrank-select-ranks="max-error=0.01" 2>/dev/null | FileCheck %s
// RUN: lathe-opt %s --split-input-file --lowrank-select-ranks="max-error=0.01 strategy=threshold" 2>/dev/null | FileCheck %s
// RUN: lathe-opt %s --split-input-file --lowrank-select-ranks="max-error=0.01" 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// CHECK-LABEL: func.func @shipped_batch1
// CHECK: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 32, {{.*}}target = "cpu"
// REMARK: remark: lowrank-select-ranks: rank 32 of 1024, {{.*}}predicted latency 133.65 -> 6.17 us on 'cpu'
func.func @shipped_batch1(%x: tensor<1x1024xf32>) -> tensor<1x1024xf32> {
  %w = arith.constant dense<1.0> : tensor<1024x1024xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x1024xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x1024xf32>) -> tensor<1x1024xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x1024xf32>, tensor<1024x1024xf32>) outs(%f : tensor<1x1024xf32>) -> tensor<1x1024xf32>
  return %y : tensor<1x1024xf32>
}

// -----

// The same shape on a table of its own whose rank-16 matmuls are slower than
// rank 32's and rank 48's: rank 32, the fastest, under both strategies.
// CHECK-LABEL: func.func @table_batch1
// CHECK: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 32, {{.*}}target = "nonmonotone"
module attributes {lathe.target = #lathe.target<name = "nonmonotone", threads = 1, features = [],
    tables = {lowrank = {peak_gflops = 155.0, bandwidth_gbps = 30.0, call_overhead_us = 3.0,
                         min_efficient_dim = 16, granularity = 16,
                         matmul = [{m = 1, n = 16, k = 1024, us = 10.0}, {m = 1, n = 1024, k = 16, us = 10.0},
                                   {m = 1, n = 32, k = 1024, us = 4.0}, {m = 1, n = 1024, k = 32, us = 4.0},
                                   {m = 1, n = 48, k = 1024, us = 6.0}, {m = 1, n = 1024, k = 48, us = 6.0}]}}>} {
func.func @table_batch1(%x: tensor<1x1024xf32>) -> tensor<1x1024xf32> {
  %w = arith.constant dense<1.0> : tensor<1024x1024xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x1024xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x1024xf32>) -> tensor<1x1024xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x1024xf32>, tensor<1024x1024xf32>) outs(%f : tensor<1x1024xf32>) -> tensor<1x1024xf32>
  return %y : tensor<1x1024xf32>
}
}
