#q = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#k = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#s = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @transposed_maps(%q: tensor<4x128x64xf32>, %k: tensor<4x128x64xf32>, %v: tensor<4x128x32xf32>) -> tensor<4x128x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<4x128x128xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<4x128x128xf32>) -> tensor<4x128x128xf32>
  %s = linalg.batch_matmul indexing_maps = [#q, #k, #s] ins(%q, %k : tensor<4x128x64xf32>, tensor<4x128x64xf32>) outs(%f0 : tensor<4x128x128xf32>) -> tensor<4x128x128xf32>
  %e1 = tensor.empty() : tensor<4x128x128xf32>
  %x = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<4x128x128xf32>) outs(%e1 : tensor<4x128x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<4x128x128xf32>
  %e2 = tensor.empty() : tensor<4x128x128xf32>
  %p = linalg.softmax dimension(2) ins(%x : tensor<4x128x128xf32>) outs(%e2 : tensor<4x128x128xf32>) -> tensor<4x128x128xf32>
  %e3 = tensor.empty() : tensor<4x128x32xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<4x128x32xf32>) -> tensor<4x128x32xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<4x128x128xf32>, tensor<4x128x32xf32>) outs(%f3 : tensor<4x128x32xf32>) -> tensor<4x128x32xf32>
  return %o : tensor<4x128x32xf32>
}
