// loss = sum_ij x_ij b_j + sum_j b_j sqrt(a_j): finite at a = b = 0, where
// d/da = b / (2 sqrt(a)) = 0 / 0 is not.
#row = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#all = affine_map<(i, j) -> ()>
#v = affine_map<(j) -> (j)>
#s = affine_map<(j) -> ()>
func.func @loss(%b: tensor<2xf32> {lathe.param, lathe.name = "b"},
                %a: tensor<2xf32> {lathe.param, lathe.name = "a"},
                %x: tensor<?x2xf32> {lathe.name = "x"}) -> tensor<f32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %s0 = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s1 = linalg.generic {indexing_maps = [#row, #col, #all],
                        iterator_types = ["reduction", "reduction"]}
      ins(%x, %b : tensor<?x2xf32>, tensor<2xf32>) outs(%s0 : tensor<f32>) {
  ^bb0(%xv: f32, %bv: f32, %acc: f32):
    %u = arith.mulf %xv, %bv : f32
    %w = arith.addf %acc, %u : f32
    linalg.yield %w : f32
  } -> tensor<f32>
  %s = linalg.generic {indexing_maps = [#v, #v, #s], iterator_types = ["reduction"]}
      ins(%b, %a : tensor<2xf32>, tensor<2xf32>) outs(%s1 : tensor<f32>) {
  ^bb0(%bv: f32, %av: f32, %acc: f32):
    %r = math.sqrt %av : f32
    %t = arith.mulf %bv, %r : f32
    %w = arith.addf %acc, %t : f32
    linalg.yield %w : f32
  } -> tensor<f32>
  return %s : tensor<f32>
}
