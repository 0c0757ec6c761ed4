#a = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#b = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @onnx_generics(%q: tensor<?x12x64xf32>, %kt: tensor<?x64x12xf32>, %v: tensor<?x12x64xf32>, %n: index) -> tensor<?x12x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty(%n) : tensor<?x12x12xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<?x12x12xf32>) -> tensor<?x12x12xf32>
  %s = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %kt : tensor<?x12x64xf32>, tensor<?x64x12xf32>) outs(%f0 : tensor<?x12x12xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %m = arith.mulf %in, %in_1 : f32
    %a = arith.addf %out, %m : f32
    linalg.yield %a : f32
  } -> tensor<?x12x12xf32>
  %e1 = tensor.empty(%n) : tensor<?x12x12xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<?x12x12xf32>) outs(%e1 : tensor<?x12x12xf32>) -> tensor<?x12x12xf32>
  %e2 = tensor.empty(%n) : tensor<?x12x64xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x12x64xf32>) -> tensor<?x12x64xf32>
  %o = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<?x12x12xf32>, tensor<?x12x64xf32>) outs(%f2 : tensor<?x12x64xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %m = arith.mulf %in, %in_1 : f32
    %a = arith.addf %out, %m : f32
    linalg.yield %a : f32
  } -> tensor<?x12x64xf32>
  return %o : tensor<?x12x64xf32>
}
