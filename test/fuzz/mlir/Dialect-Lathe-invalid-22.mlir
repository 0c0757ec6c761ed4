func.func @layer_norm_eps(%x: tensor<4x8xf32>, %e: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = lathe.layer_norm ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {epsilon = -1.0 : f32} -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
