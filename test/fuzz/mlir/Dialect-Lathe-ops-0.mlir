func.func @weight() -> tensor<4x8xf32> {
  %w = lathe.weight #lathe.external<"w.h5", "/fc1/weight"> : tensor<4x8xf32>
  return %w : tensor<4x8xf32>
}
func.func @matmul_epilogue(%x: tensor<16x32xf32>, %w: tensor<64x32xf32>,
                           %b: tensor<64xf32>, %r: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %e = tensor.empty() : tensor<16x64xf32>
  %y = lathe.matmul ins(%x, %w : tensor<16x32xf32>, tensor<64x32xf32>)
         bias(%b : tensor<64xf32>) residual(%r : tensor<16x64xf32>)
         outs(%e : tensor<16x64xf32>) {transpose_rhs, activation = #lathe<activation relu>} -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}
func.func @batched_shared_rhs(%x: tensor<?x16x32xf32>, %w: tensor<32x8xf32>,
                              %e: tensor<?x16x8xf32>) -> tensor<?x16x8xf32> {
  %y = lathe.matmul ins(%x, %w : tensor<?x16x32xf32>, tensor<32x8xf32>)
         outs(%e : tensor<?x16x8xf32>) -> tensor<?x16x8xf32>
  return %y : tensor<?x16x8xf32>
}
func.func @on_buffers(%x: memref<16x32xf32>, %w: memref<32x64xf32>, %c: memref<16x64xf32>) {
  lathe.matmul ins(%x, %w : memref<16x32xf32>, memref<32x64xf32>) outs(%c : memref<16x64xf32>)
  return
}
func.func @matmul_heads(%q: tensor<2x8x4x16xf32>, %k: tensor<2x8x4x16xf32>) -> tensor<2x4x8x8xf32> {
  %e = tensor.empty() : tensor<2x4x8x8xf32>
  %s = lathe.matmul ins(%q, %k : tensor<2x8x4x16xf32>, tensor<2x8x4x16xf32>) outs(%e : tensor<2x4x8x8xf32>)
         {lhs_perm = array<i64: 0, 2, 1, 3>, rhs_perm = array<i64: 0, 2, 1, 3>, transpose_rhs, alpha = 0.25 : f32} -> tensor<2x4x8x8xf32>
  return %s : tensor<2x4x8x8xf32>
}
func.func @layer_norm(%x: tensor<2x8x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  %e = tensor.empty() : tensor<2x8x16xf32>
  %y = lathe.layer_norm ins(%x : tensor<2x8x16xf32>) gamma(%g : tensor<16xf32>) beta(%b : tensor<16xf32>)
         outs(%e : tensor<2x8x16xf32>) {epsilon = 1.0e-5 : f32} -> tensor<2x8x16xf32>
  %z = lathe.layer_norm ins(%x : tensor<2x8x16xf32>) outs(%e : tensor<2x8x16xf32>) {epsilon = 0.0 : f32} -> tensor<2x8x16xf32>
  return %y, %z : tensor<2x8x16xf32>, tensor<2x8x16xf32>
}
