func.func @decision_energy(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  %y = lowrank.linear %x, %u, %v {decision = #lowrank.decision<rank = 8, energy = 1.5, latency_before = 1.0, latency_after = 0.5, target = "cpu">} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
