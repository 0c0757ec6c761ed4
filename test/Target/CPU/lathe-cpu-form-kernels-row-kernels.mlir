// RUN: lathe-opt %s --pass-pipeline="builtin.module(func.func(lathe-cpu-form-kernels))" | FileCheck %s

// Layer norms and softmaxes in several spellings become one lathe.layer_norm
// or linalg.softmax (a layer norm's epsilon recovered from the arithmetic);
// look-alikes that compute something else stay as they are.

#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
#cols = affine_map<(d0, d1) -> (d1)>
#id1 = affine_map<(d0) -> (d0)>

// Sum, mean, centred sum of squares, normalize (as scripts/gen_examples.py).
// CHECK-LABEL: func.func @four_generics
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[G:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<16xf32>)
// CHECK: %[[Y:.*]] = lathe.layer_norm ins(%[[X]] : tensor<8x16xf32>) gamma(%[[G]] : tensor<16xf32>) beta(%[[B]] : tensor<16xf32>)
// CHECK-SAME: {epsilon = 9.99999974E-6 : f32}
// CHECK: return %[[Y]]
func.func @four_generics(%x: tensor<8x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x16xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %s, %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %mean = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%sum : tensor<8xf32>) outs(%e1 : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.constant 16.0 : f32
    %r = arith.divf %a, %n : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %var = linalg.generic {indexing_maps = [#id, #rows, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean : tensor<8x16xf32>, tensor<8xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %m: f32, %s: f32):
    %d = arith.subf %a, %m : f32
    %sq = arith.mulf %d, %d : f32
    %r = arith.addf %s, %sq : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e2 = tensor.empty() : tensor<8x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #rows, #rows, #cols, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean, %var, %g, %b : tensor<8x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<16xf32>, tensor<16xf32>) outs(%e2 : tensor<8x16xf32>) {
  ^bb0(%a: f32, %m: f32, %v: f32, %gg: f32, %bb: f32, %o: f32):
    %n = arith.constant 16.0 : f32
    %eps = arith.constant 1.0e-5 : f32
    %vn = arith.divf %v, %n : f32
    %ve = arith.addf %vn, %eps : f32
    %sd = math.sqrt %ve : f32
    %d = arith.subf %a, %m : f32
    %nx = arith.divf %d, %sd : f32
    %sc = arith.mulf %nx, %gg : f32
    %r = arith.addf %sc, %bb : f32
    linalg.yield %r : f32
  } -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}

// Mean by multiplying with 1/N inside the reduction, a separate centring
// generic, rsqrt of the variance as a row statistic, beta first in the
// operand list and no gamma.
// CHECK-LABEL: func.func @rsqrt_beta_only
// CHECK-SAME: (%[[X:.*]]: tensor<4x32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK: lathe.layer_norm ins(%[[X]] : tensor<4x32xf32>) beta(%[[B]] : tensor<32xf32>)
// CHECK-SAME: {epsilon = 1.000000e-03 : f32}
func.func @rsqrt_beta_only(%x: tensor<4x32xf32>, %b: tensor<32xf32>) -> tensor<4x32xf32> {
  %zero = arith.constant 0.0 : f32
  %inv_n = arith.constant 0.03125 : f32
  %e1 = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %mean = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x32xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.mulf %a, %inv_n : f32
    %r = arith.addf %t, %s : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4x32xf32>
  %centred = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean : tensor<4x32xf32>, tensor<4xf32>) outs(%e2 : tensor<4x32xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    linalg.yield %d : f32
  } -> tensor<4x32xf32>
  %ss = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%centred : tensor<4x32xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%d: f32, %s: f32):
    %sq = arith.mulf %d, %d : f32
    %t = arith.mulf %sq, %inv_n : f32
    %r = arith.addf %t, %s : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %rstd = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%ss : tensor<4xf32>) outs(%e1 : tensor<4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %eps = arith.constant 1.0e-3 : f32
    %ve = arith.addf %v, %eps : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %y = linalg.generic {indexing_maps = [#cols, #id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b, %centred, %rstd : tensor<32xf32>, tensor<4x32xf32>, tensor<4xf32>) outs(%e2 : tensor<4x32xf32>) {
  ^bb0(%bb: f32, %d: f32, %r: f32, %o: f32):
    %nx = arith.mulf %d, %r : f32
    %out = arith.addf %bb, %nx : f32
    linalg.yield %out : f32
  } -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// Unbiased variance (divides by N - 1): not a layer norm, left alone.
// CHECK-LABEL: func.func @unbiased_variance
// CHECK-NOT: lathe.layer_norm
// CHECK: return
func.func @unbiased_variance(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x16xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %s, %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %var = linalg.generic {indexing_maps = [#id, #rows, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x, %sum : tensor<8x16xf32>, tensor<8xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %m: f32, %s: f32):
    %n = arith.constant 16.0 : f32
    %mm = arith.divf %m, %n : f32
    %d = arith.subf %a, %mm : f32
    %sq = arith.mulf %d, %d : f32
    %r = arith.addf %s, %sq : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e2 = tensor.empty() : tensor<8x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #rows, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum, %var : tensor<8x16xf32>, tensor<8xf32>, tensor<8xf32>) outs(%e2 : tensor<8x16xf32>) {
  ^bb0(%a: f32, %m: f32, %v: f32, %o: f32):
    %n = arith.constant 16.0 : f32
    %n1 = arith.constant 15.0 : f32
    %mm = arith.divf %m, %n : f32
    %vn = arith.divf %v, %n1 : f32
    %sd = math.sqrt %vn : f32
    %d = arith.subf %a, %mm : f32
    %r = arith.divf %d, %sd : f32
    linalg.yield %r : f32
  } -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}

// Centring without scaling (x - mean): statistics are taken, but it is not a
// layer norm either.
// CHECK-LABEL: func.func @centring_only
// CHECK-NOT: lathe.layer_norm
// CHECK: return
func.func @centring_only(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x16xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %s, %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e2 = tensor.empty() : tensor<8x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<8x16xf32>, tensor<8xf32>) outs(%e2 : tensor<8x16xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %n = arith.constant 16.0 : f32
    %mm = arith.divf %m, %n : f32
    %r = arith.subf %a, %mm : f32
    linalg.yield %r : f32
  } -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}

// Softmax decomposed into max, exp, sum and divide (rank 3, last dim).
// CHECK-LABEL: func.func @softmax_generics
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x8xf32>)
// CHECK: %[[Y:.*]] = linalg.softmax dimension(2) ins(%[[X]] : tensor<2x4x8xf32>)
// CHECK: return %[[Y]]
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#rows3 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @softmax_generics(%x: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<2x4xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %max = linalg.generic {indexing_maps = [#id3, #rows3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<2x4x8xf32>) outs(%m0 : tensor<2x4xf32>) {
  ^bb0(%a: f32, %m: f32):
    %r = arith.maximumf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %e2 = tensor.empty() : tensor<2x4x8xf32>
  %ex = linalg.generic {indexing_maps = [#id3, #rows3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %max : tensor<2x4x8xf32>, tensor<2x4xf32>) outs(%e2 : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %sum = linalg.generic {indexing_maps = [#id3, #rows3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ex : tensor<2x4x8xf32>) outs(%s0 : tensor<2x4xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %y = linalg.generic {indexing_maps = [#id3, #rows3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ex, %sum : tensor<2x4x8xf32>, tensor<2x4xf32>) outs(%e2 : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.divf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// exp(x - max) without the division is not a softmax.
// CHECK-LABEL: func.func @exp_shift_only
// CHECK-NOT: linalg.softmax
// CHECK: return
func.func @exp_shift_only(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e1 = tensor.empty() : tensor<4xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %max = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%m0 : tensor<4xf32>) {
  ^bb0(%a: f32, %m: f32):
    %r = arith.maximumf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : tensor<4x8xf32>, tensor<4xf32>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// A layer norm as PyTorch's ONNX export spells it after import: keep-dims
// reductions over a [2, 4, 1, 8] view (unit dimensions added by expand_shape)
// and row statistics broadcast with a constant-0 index.
// CHECK-LABEL: func.func @keep_dims
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x8xf32>, %[[G:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: lathe.layer_norm ins(%[[X]] : tensor<2x4x8xf32>) gamma(%[[G]] : tensor<8xf32>) beta(%[[B]] : tensor<8xf32>)
// CHECK-SAME: {epsilon = 9.99999974E-6 : f32}
#kd_id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#kd_id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#kd_red_out = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#kd_rows1 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#kd_cols = affine_map<(d0, d1, d2) -> (d2)>
func.func @keep_dims(%17: tensor<2x4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x4x8xf32> {
  %cst_2 = arith.constant 0.0 : f32
  %cst_1 = arith.constant 8.0 : f32
  %cst_0 = arith.constant 1.0e-5 : f32
  %16 = tensor.empty() : tensor<2x4x8xf32>
  %18 = tensor.empty() : tensor<2x4xf32>
  %expanded_29 = tensor.expand_shape %17 [[0], [1, 2], [3]] output_shape [2, 4, 1, 8] : tensor<2x4x8xf32> into tensor<2x4x1x8xf32>
  %expanded_30 = tensor.expand_shape %18 [[0], [1, 2]] output_shape [2, 4, 1] : tensor<2x4xf32> into tensor<2x4x1xf32>
  %19 = linalg.fill ins(%cst_2 : f32) outs(%expanded_30 : tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %20 = linalg.generic {indexing_maps = [#kd_id4, #kd_red_out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%expanded_29 : tensor<2x4x1x8xf32>) outs(%19 : tensor<2x4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %31 = arith.addf %out, %in : f32
    linalg.yield %31 : f32
  } -> tensor<2x4x1xf32>
  %21 = linalg.generic {indexing_maps = [#kd_id3, #kd_rows1, #kd_id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17, %20 : tensor<2x4x8xf32>, tensor<2x4x1xf32>) outs(%16 : tensor<2x4x8xf32>) {
  ^bb0(%in: f32, %in_36: f32, %out: f32):
    %31 = arith.divf %in_36, %cst_1 : f32
    %32 = arith.subf %in, %31 : f32
    linalg.yield %32 : f32
  } -> tensor<2x4x8xf32>
  %expanded_31 = tensor.expand_shape %21 [[0], [1, 2], [3]] output_shape [2, 4, 1, 8] : tensor<2x4x8xf32> into tensor<2x4x1x8xf32>
  %22 = linalg.generic {indexing_maps = [#kd_id4, #kd_red_out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%expanded_31 : tensor<2x4x1x8xf32>) outs(%19 : tensor<2x4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %31 = arith.mulf %in, %in : f32
    %32 = arith.addf %out, %31 : f32
    linalg.yield %32 : f32
  } -> tensor<2x4x1xf32>
  %23 = linalg.generic {indexing_maps = [#kd_id3, #kd_rows1, #kd_cols, #kd_cols, #kd_id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%21, %22, %g, %b : tensor<2x4x8xf32>, tensor<2x4x1xf32>, tensor<8xf32>, tensor<8xf32>) outs(%16 : tensor<2x4x8xf32>) {
  ^bb0(%in: f32, %in_36: f32, %in_37: f32, %in_38: f32, %out: f32):
    %31 = arith.divf %in_36, %cst_1 : f32
    %32 = arith.addf %31, %cst_0 : f32
    %33 = math.rsqrt %32 : f32
    %34 = arith.mulf %in, %33 : f32
    %35 = arith.mulf %34, %in_37 : f32
    %36 = arith.addf %35, %in_38 : f32
    linalg.yield %36 : f32
  } -> tensor<2x4x8xf32>
  return %23 : tensor<2x4x8xf32>
}

// A softmax over a single row ([1, 8], keep-dims statistics): the softmax is
// along the last dimension of the tensor, not of its non-unit dimensions.
// CHECK-LABEL: func.func @softmax_one_row
// CHECK: linalg.softmax dimension(1) ins(%{{.*}} : tensor<1x8xf32>)
func.func @softmax_one_row(%x: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<1xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<1xf32>) -> tensor<1xf32>
  %max = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<1x8xf32>) outs(%m0 : tensor<1xf32>) {
  ^bb0(%a: f32, %m: f32):
    %r = arith.maximumf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<1xf32>
  %max2 = tensor.expand_shape %max [[0, 1]] output_shape [1, 1] : tensor<1xf32> into tensor<1x1xf32>
  %e2 = tensor.empty() : tensor<1x8xf32>
  %ex = linalg.generic {indexing_maps = [#id, affine_map<(d0, d1) -> (d0, 0)>, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max2 : tensor<1x8xf32>, tensor<1x1xf32>) outs(%e2 : tensor<1x8xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<1x8xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1xf32>) -> tensor<1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%ex : tensor<1x8xf32>) outs(%s0 : tensor<1xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<1xf32>
  %y = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ex, %sum : tensor<1x8xf32>, tensor<1xf32>) outs(%e2 : tensor<1x8xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.divf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
