// loss = sum_ij (x_ij b_j + b_j sqrt(a_j)): the gradient of a sums over i but
// reads no x (test/e2e/differentiate-unread-loop.test).
#row = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#all = affine_map<(i, j) -> ()>
func.func @loss(%b: tensor<2xf32> {lathe.param}, %a: tensor<2xf32> {lathe.param},
                %x: tensor<4x2xf32>) -> tensor<f32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %s0 = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [#row, #col, #col, #all],
                       iterator_types = ["reduction", "reduction"]}
      ins(%x, %b, %a : tensor<4x2xf32>, tensor<2xf32>, tensor<2xf32>) outs(%s0 : tensor<f32>) {
  ^bb0(%xv: f32, %bv: f32, %av: f32, %acc: f32):
    %r = math.sqrt %av : f32
    %t = arith.mulf %bv, %r : f32
    %u = arith.mulf %xv, %bv : f32
    %v = arith.addf %t, %u : f32
    %w = arith.addf %acc, %v : f32
    linalg.yield %w : f32
  } -> tensor<f32>
  return %s : tensor<f32>
}
