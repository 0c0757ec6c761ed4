func.func @linear(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>,
                  %b: tensor<32xf32>) -> tensor<4x32xf32> {
  %y = lowrank.linear %x, %u, %v bias(%b)
         : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
func.func @linear_dynamic_batched(%x: tensor<2x?x64xf32>, %u: tensor<32x16xf32>,
                                  %v: tensor<16x64xf32>) -> tensor<2x?x32xf32> {
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "factorize", rank = 16, energy = 0.95, latency_before_us = 10.0, latency_after_us = 4.5, latency_before_b1_us = 1.0, latency_after_b1_us = 1.0, latency_before_b64_us = 1.0, latency_after_b64_us = 1.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.01, model_latency = 0.5>}
         : (tensor<2x?x64xf32>, tensor<32x16xf32>, tensor<16x64xf32>) -> tensor<2x?x32xf32>
  return %y : tensor<2x?x32xf32>
}
func.func @tucker(%x: tensor<1x16x10x10xf32>, %uin: tensor<8x16xf32>,
                  %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>,
                  %b: tensor<32xf32>) -> tensor<1x32x8x8xf32> {
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout bias(%b)
         : (tensor<1x16x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}
func.func @tucker_strided(%x: tensor<2x16x9x9xf32>, %uin: tensor<4x16xf32>,
                          %core: tensor<4x4x3x3xf32>, %uout: tensor<8x4xf32>) -> tensor<2x8x4x4xf32> {
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout {strides = array<i64: 2, 2>}
         : (tensor<2x16x9x9xf32>, tensor<4x16xf32>, tensor<4x4x3x3xf32>, tensor<8x4xf32>) -> tensor<2x8x4x4xf32>
  return %y : tensor<2x8x4x4xf32>
}
