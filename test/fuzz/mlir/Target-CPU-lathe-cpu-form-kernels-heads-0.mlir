#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @heads(%q: tensor<16x32xf32>, %k: tensor<16x32xf32>, %v: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant 0.353553385 : f32
  %q4 = tensor.expand_shape %q [[0, 1], [2, 3]] output_shape [2, 8, 4, 8] : tensor<16x32xf32> into tensor<2x8x4x8xf32>
  %k4 = tensor.expand_shape %k [[0, 1], [2, 3]] output_shape [2, 8, 4, 8] : tensor<16x32xf32> into tensor<2x8x4x8xf32>
  %v4 = tensor.expand_shape %v [[0, 1], [2, 3]] output_shape [2, 8, 4, 8] : tensor<16x32xf32> into tensor<2x8x4x8xf32>
  %eh = tensor.empty() : tensor<2x4x8x8xf32>
  %qt = linalg.transpose ins(%q4 : tensor<2x8x4x8xf32>) outs(%eh : tensor<2x4x8x8xf32>) permutation = [0, 2, 1, 3]
  %kt = linalg.transpose ins(%k4 : tensor<2x8x4x8xf32>) outs(%eh : tensor<2x4x8x8xf32>) permutation = [0, 2, 1, 3]
  %vt = linalg.transpose ins(%v4 : tensor<2x8x4x8xf32>) outs(%eh : tensor<2x4x8x8xf32>) permutation = [0, 2, 1, 3]
  %qh = tensor.collapse_shape %qt [[0, 1], [2], [3]] : tensor<2x4x8x8xf32> into tensor<8x8x8xf32>
  %kh = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<2x4x8x8xf32> into tensor<8x8x8xf32>
  %vh = tensor.collapse_shape %vt [[0, 1], [2], [3]] : tensor<2x4x8x8xf32> into tensor<8x8x8xf32>
  %es = tensor.empty() : tensor<8x8x8xf32>
  %fs = linalg.fill ins(%zero : f32) outs(%es : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %s = linalg.batch_matmul indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>]
      ins(%qh, %kh : tensor<8x8x8xf32>, tensor<8x8x8xf32>) outs(%fs : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %scaled = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<8x8x8xf32>) outs(%es : tensor<8x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %scale : f32
    linalg.yield %m : f32
  } -> tensor<8x8x8xf32>
  %p = linalg.softmax dimension(2) ins(%scaled : tensor<8x8x8xf32>) outs(%es : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %ec = tensor.empty() : tensor<8x8x8xf32>
  %fc = linalg.fill ins(%zero : f32) outs(%ec : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %ctx = linalg.batch_matmul ins(%p, %vh : tensor<8x8x8xf32>, tensor<8x8x8xf32>) outs(%fc : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %ctx4 = tensor.expand_shape %ctx [[0, 1], [2], [3]] output_shape [2, 4, 8, 8] : tensor<8x8x8xf32> into tensor<2x4x8x8xf32>
  %em = tensor.empty() : tensor<2x8x4x8xf32>
  %merged = linalg.transpose ins(%ctx4 : tensor<2x4x8x8xf32>) outs(%em : tensor<2x8x4x8xf32>) permutation = [0, 2, 1, 3]
  %out = tensor.collapse_shape %merged [[0, 1], [2, 3]] : tensor<2x8x4x8xf32> into tensor<16x32xf32>
  return %out : tensor<16x32xf32>
}
func.func @scale_after_bias(%x: tensor<4x8xf32>, %w: tensor<8x6xf32>, %b: tensor<6xf32>) -> tensor<4x6xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %e = tensor.empty() : tensor<4x6xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x6xf32>) outs(%acc : tensor<4x6xf32>) -> tensor<4x6xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<4x6xf32>, tensor<6xf32>) outs(%e : tensor<4x6xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    linalg.yield %s : f32
  } -> tensor<4x6xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<4x6xf32>) outs(%e : tensor<4x6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.mulf %a, %two : f32
    linalg.yield %s : f32
  } -> tensor<4x6xf32>
  return %z : tensor<4x6xf32>
}
