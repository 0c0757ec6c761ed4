func.func @layer_norm_gamma(%x: tensor<4x8xf32>, %g: tensor<4xf32>, %e: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = lathe.layer_norm ins(%x : tensor<4x8xf32>) gamma(%g : tensor<4xf32>) outs(%e : tensor<4x8xf32>) {epsilon = 1.0e-5 : f32} -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
