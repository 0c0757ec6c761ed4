// Single-head self-attention on [2, 6, 8] with a gain, and a loss mixing
// tanh, exp and a division: batch_matmul (named), scores as a generic with a
// transposed operand, linalg.softmax, collapse_shape and broadcasts.
#x3 = affine_map<(b, i, j, d) -> (b, i, d)>
#k3 = affine_map<(b, i, j, d) -> (b, j, d)>
#s3 = affine_map<(b, i, j, d) -> (b, i, j)>
#id2 = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#sc = affine_map<(i, j) -> ()>
func.func @loss(%wq: tensor<8x8xf32> {lathe.param}, %wk: tensor<8x8xf32> {lathe.param},
                %wv: tensor<8x8xf32> {lathe.param}, %g: tensor<8xf32> {lathe.param},
                %x: tensor<2x6x8xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %mean = arith.constant 0.010416667 : f32
  %e = tensor.empty() : tensor<2x8x8xf32>
  %wqb = linalg.broadcast ins(%wq : tensor<8x8xf32>) outs(%e : tensor<2x8x8xf32>) dimensions = [0]
  %wkb = linalg.broadcast ins(%wk : tensor<8x8xf32>) outs(%e : tensor<2x8x8xf32>) dimensions = [0]
  %wvb = linalg.broadcast ins(%wv : tensor<8x8xf32>) outs(%e : tensor<2x8x8xf32>) dimensions = [0]
  %e6 = tensor.empty() : tensor<2x6x8xf32>
  %z6 = linalg.fill ins(%zero : f32) outs(%e6 : tensor<2x6x8xf32>) -> tensor<2x6x8xf32>
  %q = linalg.batch_matmul ins(%x, %wqb : tensor<2x6x8xf32>, tensor<2x8x8xf32>) outs(%z6 : tensor<2x6x8xf32>) -> tensor<2x6x8xf32>
  %k = linalg.batch_matmul ins(%x, %wkb : tensor<2x6x8xf32>, tensor<2x8x8xf32>) outs(%z6 : tensor<2x6x8xf32>) -> tensor<2x6x8xf32>
  %v = linalg.batch_matmul ins(%x, %wvb : tensor<2x6x8xf32>, tensor<2x8x8xf32>) outs(%z6 : tensor<2x6x8xf32>) -> tensor<2x6x8xf32>
  %es = tensor.empty() : tensor<2x6x6xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x6x6xf32>) -> tensor<2x6x6xf32>
  %s = linalg.generic {indexing_maps = [#x3, #k3, #s3], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<2x6x8xf32>, tensor<2x6x8xf32>) outs(%zs : tensor<2x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %ps = arith.mulf %p, %half : f32
    %r = arith.addf %acc, %ps : f32
    linalg.yield %r : f32
  } -> tensor<2x6x6xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x6x6xf32>) outs(%es : tensor<2x6x6xf32>) -> tensor<2x6x6xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x6x6xf32>, tensor<2x6x8xf32>) outs(%z6 : tensor<2x6x8xf32>) -> tensor<2x6x8xf32>
  %o2 = tensor.collapse_shape %o [[0, 1], [2]] : tensor<2x6x8xf32> into tensor<12x8xf32>
  %e12 = tensor.empty() : tensor<12x8xf32>
  %og = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%o2, %g : tensor<12x8xf32>, tensor<8xf32>) outs(%e12 : tensor<12x8xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<12x8xf32>
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %loss = linalg.generic {indexing_maps = [#id2, #sc], iterator_types = ["reduction", "reduction"]}
      ins(%og : tensor<12x8xf32>) outs(%z0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = math.tanh %a : f32
    %t2 = arith.mulf %t, %t : f32
    %ex = math.exp %a : f32
    %sq = arith.mulf %a, %a : f32
    %den = arith.addf %sq, %one : f32
    %q2 = arith.divf %ex, %den : f32
    %qm = arith.mulf %q2, %mean : f32
    %term = arith.addf %t2, %qm : f32
    %r = arith.addf %acc, %term : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %loss : tensor<f32>
}
