#q = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#k = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#s = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @main(%q: tensor<2x1024x16xf32>, %k: tensor<2x1024x16xf32>, %v: tensor<2x1024x16xf32>) -> tensor<2x1024x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<2x1024x1024xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x1024x1024xf32>) -> tensor<2x1024x1024xf32>
  %s = linalg.batch_matmul indexing_maps = [#q, #k, #s] ins(%q, %k : tensor<2x1024x16xf32>, tensor<2x1024x16xf32>) outs(%f0 : tensor<2x1024x1024xf32>) -> tensor<2x1024x1024xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x1024x1024xf32>) outs(%e0 : tensor<2x1024x1024xf32>) -> tensor<2x1024x1024xf32>
  %e3 = tensor.empty() : tensor<2x1024x16xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x1024x16xf32>) -> tensor<2x1024x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x1024x1024xf32>, tensor<2x1024x16xf32>) outs(%f3 : tensor<2x1024x16xf32>) -> tensor<2x1024x16xf32>
  return %o : tensor<2x1024x16xf32>
}
func.func @small(%q: tensor<2x64x16xf32>, %k: tensor<2x64x16xf32>, %v: tensor<2x64x16xf32>) -> tensor<2x64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<2x64x64xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x64x64xf32>) -> tensor<2x64x64xf32>
  %s = linalg.batch_matmul indexing_maps = [#q, #k, #s] ins(%q, %k : tensor<2x64x16xf32>, tensor<2x64x16xf32>) outs(%f0 : tensor<2x64x64xf32>) -> tensor<2x64x64xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x64x64xf32>) outs(%e0 : tensor<2x64x64xf32>) -> tensor<2x64x64xf32>
  %e3 = tensor.empty() : tensor<2x64x16xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x64x16xf32>) -> tensor<2x64x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x64x64xf32>, tensor<2x64x16xf32>) outs(%f3 : tensor<2x64x16xf32>) -> tensor<2x64x16xf32>
  return %o : tensor<2x64x16xf32>
}
