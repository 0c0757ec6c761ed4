func.func @decision_rank(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "factorize", rank = 16, energy = 0.9, latency_before_us = 1.0, latency_after_us = 0.5, latency_before_b1_us = 1.0, latency_after_b1_us = 1.0, latency_before_b64_us = 1.0, latency_after_b64_us = 1.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.01, model_latency = 0.5>} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
