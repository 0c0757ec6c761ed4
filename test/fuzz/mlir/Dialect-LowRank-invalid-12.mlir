func.func @decision_rank(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  %y = lowrank.linear %x, %u, %v {decision = #lowrank.decision<rank = 16, energy = 0.9, latency_before = 1.0, latency_after = 0.5, target = "cpu">} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
