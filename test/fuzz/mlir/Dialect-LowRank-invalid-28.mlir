func.func @tucker_decision(%x: tensor<1x16x10x10xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout {lathe.decision = #lowrank.decision<action = "factorize", rank = 4, energy = 0.9, latency_before_us = 1.0, latency_after_us = 0.5, latency_before_b1_us = 1.0, latency_after_b1_us = 1.0, latency_before_b64_us = 1.0, latency_after_b64_us = 1.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.01, model_latency = 0.5>} : (tensor<1x16x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}
