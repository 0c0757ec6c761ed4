// A per-channel bias as ONNX importers broadcast it: tensor<4x1x1xf32> read
// at (c, 0, 0) by an add over [N, C, H, W], and a weighted-sum loss.
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
#bias = affine_map<(n, c, h, w) -> (c, 0, 0)>
#none = affine_map<(n, c, h, w) -> ()>
func.func @loss(%x: tensor<2x4x3x5xf32> {lathe.param}, %b: tensor<4x1x1xf32> {lathe.param},
                %r: tensor<2x4x3x5xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x3x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #bias, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %b : tensor<2x4x3x5xf32>, tensor<4x1x1xf32>) outs(%e : tensor<2x4x3x5xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    %m = arith.mulf %s, %s : f32
    linalg.yield %m : f32
  } -> tensor<2x4x3x5xf32>
  %s0 = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%s0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [#id, #id, #none], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%y, %r : tensor<2x4x3x5xf32>, tensor<2x4x3x5xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %c: f32, %acc: f32):
    %m = arith.mulf %a, %c : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}
