// A two-layer MLP with a softmax cross-entropy loss, written in linalg on
// tensors: matmuls (named), bias + ReLU and the loss as generics with
// broadcasts, a max and sum reductions. lathe-differentiate adds @loss_grad.
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#row = affine_map<(i, j) -> (i)>
#all = affine_map<(i) -> (i)>
#scalar = affine_map<(i) -> ()>
func.func @loss(%w1: tensor<64x32xf32> {lathe.param}, %b1: tensor<32xf32> {lathe.param},
                %w2: tensor<32x10xf32> {lathe.param}, %b2: tensor<10xf32> {lathe.param},
                %x: tensor<16x64xf32>, %y: tensor<16x10xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e1 = tensor.empty() : tensor<16x32xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<16x32xf32>) -> tensor<16x32xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<16x64xf32>, tensor<64x32xf32>) outs(%z1 : tensor<16x32xf32>) -> tensor<16x32xf32>
  %a = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %b1 : tensor<16x32xf32>, tensor<32xf32>) outs(%e1 : tensor<16x32xf32>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %s = arith.addf %v, %b : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<16x32xf32>
  %e2 = tensor.empty() : tensor<16x10xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<16x10xf32>) -> tensor<16x10xf32>
  %l0 = linalg.matmul ins(%a, %w2 : tensor<16x32xf32>, tensor<32x10xf32>) outs(%z2 : tensor<16x10xf32>) -> tensor<16x10xf32>
  %l = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%l0, %b2 : tensor<16x10xf32>, tensor<10xf32>) outs(%e2 : tensor<16x10xf32>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %s = arith.addf %v, %b : f32
    linalg.yield %s : f32
  } -> tensor<16x10xf32>
  // log-sum-exp per row, stabilised by the row maximum.
  %e3 = tensor.empty() : tensor<16xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%e3 : tensor<16xf32>) -> tensor<16xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%l : tensor<16x10xf32>) outs(%mi : tensor<16xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %r = arith.maximumf %acc, %v : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %si = linalg.fill ins(%zero : f32) outs(%e3 : tensor<16xf32>) -> tensor<16xf32>
  %se = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%l, %m : tensor<16x10xf32>, tensor<16xf32>) outs(%si : tensor<16xf32>) {
  ^bb0(%v: f32, %mx: f32, %acc: f32):
    %d = arith.subf %v, %mx : f32
    %ex = math.exp %d : f32
    %r = arith.addf %acc, %ex : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  // sum_j y_ij * l_ij: the logit of the true class.
  %t = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%l, %y : tensor<16x10xf32>, tensor<16x10xf32>) outs(%si : tensor<16xf32>) {
  ^bb0(%v: f32, %lab: f32, %acc: f32):
    %p = arith.mulf %v, %lab : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  // mean over the batch of lse - true logit.
  %e4 = tensor.empty() : tensor<f32>
  %li = linalg.fill ins(%zero : f32) outs(%e4 : tensor<f32>) -> tensor<f32>
  %inv = arith.constant 0.0625 : f32
  %loss = linalg.generic {indexing_maps = [#all, #all, #all, #scalar], iterator_types = ["reduction"]}
      ins(%se, %m, %t : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) outs(%li : tensor<f32>) {
  ^bb0(%s: f32, %mx: f32, %tl: f32, %acc: f32):
    %lg = math.log %s : f32
    %lse = arith.addf %lg, %mx : f32
    %d = arith.subf %lse, %tl : f32
    %w = arith.mulf %d, %inv : f32
    %r = arith.addf %acc, %w : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %loss : tensor<f32>
}
