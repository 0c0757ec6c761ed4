// One decision of each dialect that decides, as lathe-opt would leave them:
// lathe-run --report lists each through DecisionAttrInterface::toDictionary()
// (see decisions.test).
func.func @main(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %q: tensor<1x16x8xf32>)
    -> (tensor<4x8xf32>, tensor<1x16x8xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %f = linalg.fill {lathe.decision = #cpu.decision<input_range = [-1.5, 2.0], precision = "int8", site = 0>} ins(%z : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = linalg.matmul {lathe.decision = #lowrank.decision<action = "dense", rank = 8, energy = 1.0, latency_before_us = 2.5, latency_after_us = 2.5, latency_before_b1_us = 1.25, latency_after_b1_us = 1.25, latency_before_b64_us = 40.0, latency_after_b64_us = 40.0, target = "cpu", strategy = "global", error_norm = "spectral", budget = "max_latency", budget_limit = 0.75, model_error = 0.015625, model_latency = 0.5>}
         ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%f : tensor<4x8xf32>) -> tensor<4x8xf32>
  %rp = arith.constant dense<[0, 2, 3, 4, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 0, 3, 2, 3]> : tensor<6xi64>
  %v = arith.constant dense<1.0> : tensor<6xf32>
  %a = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%m : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {lathe.decision = #sparsegcn.decision<classification = "compile-time", dense_threshold = 0.5, nnz = 6, nnz_sparse = 6, predicted_us_hybrid = 0.125, reorder = "none", result = "kept sparsegcn.aggregate: no tile reaches the dense threshold", target = "cpu", threshold_source = "option", tile_size = 2, tile_size_source = "option", tiles_dense = 0, tiles_empty = 1, tiles_sparse = 3>} -> tensor<4x8xf32>
  %e2 = tensor.empty() : tensor<1x16x8xf32>
  %o = memred.attention ins(%q, %q, %q : tensor<1x16x8xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>)
         outs(%e2 : tensor<1x16x8xf32>) scale(0.25) {lathe.decision = #memred.decision<action = "kept: scores fit", budget_bytes = 4096, score_bytes = 1024>} -> tensor<1x16x8xf32>
  return %a, %o : tensor<4x8xf32>, tensor<1x16x8xf32>
}
