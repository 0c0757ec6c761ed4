// Integer inputs and results on --backend=cuda: token ids (i64, 2x3: 48
// bytes) and a mask (i32, 5: 20 bytes) come back as they went in, beside an
// f32 result (2x4: 32 bytes) computed from an f32 input. The copies are
// told apart by their sizes.
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%ids: tensor<2x3xi64>, %mask: tensor<5xi32>,
                %x: tensor<2x4xf32>)
    -> (tensor<2x3xi64>, tensor<5xi32>, tensor<2x4xf32>) {
  %e = tensor.empty() : tensor<2x4xf32>
  %y = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  return %ids, %mask, %y : tensor<2x3xi64>, tensor<5xi32>, tensor<2x4xf32>
}
