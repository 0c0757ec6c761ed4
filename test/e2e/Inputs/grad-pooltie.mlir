// Max pooling of a parameter whose windows hold equal values (ties): the
// gradient of each output goes to the first maximal element of its window,
// as in PyTorch (and XLA), not to every tied element.
#id4 = affine_map<(n, c, h, w) -> (n, c, h, w)>
#all4 = affine_map<(n, c, h, w) -> ()>
func.func @loss(%p: tensor<1x2x4x4xf32> {lathe.param}, %t: tensor<1x2x2x2xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %i = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %pool = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%p, %win : tensor<1x2x4x4xf32>, tensor<2x2xf32>) outs(%i : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %s0 = tensor.empty() : tensor<f32>
  %si = linalg.fill ins(%zero : f32) outs(%s0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [#id4, #id4, #all4], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%pool, %t : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) outs(%si : tensor<f32>) {
  ^bb0(%v: f32, %tt: f32, %acc: f32):
    %m = arith.mulf %v, %tt : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}
