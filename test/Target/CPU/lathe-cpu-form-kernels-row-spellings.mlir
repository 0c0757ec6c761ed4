// RUN: lathe-opt %s --pass-pipeline="builtin.module(func.func(lathe-cpu-form-kernels))" | FileCheck %s

// Spellings of a softmax and a layer norm that differ from the canonical
// ones by simple algebra only: x - m as x + (-m), a / b as a * (1 / b),
// sqrt then divide as rsqrt then multiply, pow(d, 2) as d * d, the exp
// computed inside the sum's body, 1/N inside or outside the reduction. The
// layer norm's epsilon is the constant the IR adds under the square root.

#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
#cols = affine_map<(d0, d1) -> (d1)>
#id1 = affine_map<(d0) -> (d0)>

// max by maxnumf from the lowest float, x + (-max), the exp recomputed in
// the sum's body, division by multiplying with the reciprocal.
// CHECK-LABEL: func.func @softmax_reciprocal
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK: %[[Y:.*]] = linalg.softmax dimension(1) ins(%[[X]] : tensor<4x8xf32>)
// CHECK: return %[[Y]]
func.func @softmax_reciprocal(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %lowest = arith.constant -3.40282347E+38 : f32
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e1 = tensor.empty() : tensor<4xf32>
  %m0 = linalg.fill ins(%lowest : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %max = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%m0 : tensor<4xf32>) {
  ^bb0(%a: f32, %m: f32):
    %r = arith.maxnumf %m, %a : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x, %max : tensor<4x8xf32>, tensor<4xf32>) outs(%s0 : tensor<4xf32>) {
  ^bb0(%a: f32, %m: f32, %s: f32):
    %nm = arith.negf %m : f32
    %d = arith.addf %a, %nm : f32
    %e = math.exp %d : f32
    %r = arith.addf %s, %e : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %inv = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%sum : tensor<4xf32>) outs(%e1 : tensor<4xf32>) {
  ^bb0(%s: f32, %o: f32):
    %r = arith.divf %one, %s : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #rows, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max, %inv : tensor<4x8xf32>, tensor<4xf32>, tensor<4xf32>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%a: f32, %m: f32, %i: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %e = math.exp %d : f32
    %r = arith.mulf %i, %e : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// pow(x - mean, 2) averaged with 1/N inside the reduction, 1 / sqrt(var +
// eps) multiplied, gamma first, beta added last; eps = 1e-12 (BERT).
// CHECK-LABEL: func.func @layer_norm_pow_recip_sqrt
// CHECK-SAME: (%[[X:.*]]: tensor<8x12xf32>, %[[G:.*]]: tensor<12xf32>, %[[B:.*]]: tensor<12xf32>)
// CHECK: %[[Y:.*]] = lathe.layer_norm ins(%[[X]] : tensor<8x12xf32>) gamma(%[[G]] : tensor<12xf32>) beta(%[[B]] : tensor<12xf32>)
// CHECK-SAME: {epsilon = 9.99999996E-13 : f32}
// CHECK: return %[[Y]]
func.func @layer_norm_pow_recip_sqrt(%x: tensor<8x12xf32>, %g: tensor<12xf32>, %b: tensor<12xf32>) -> tensor<8x12xf32> {
  %zero = arith.constant 0.0 : f32
  %inv_n = arith.constant 0.0833333358 : f32
  %e1 = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x12xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %var = linalg.generic {indexing_maps = [#id, #rows, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x, %sum : tensor<8x12xf32>, tensor<8xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %t: f32, %s: f32):
    %two = arith.constant 2.0 : f32
    %m = arith.mulf %t, %inv_n : f32
    %d = arith.subf %a, %m : f32
    %sq = math.powf %d, %two : f32
    %q = arith.mulf %sq, %inv_n : f32
    %r = arith.addf %s, %q : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e2 = tensor.empty() : tensor<8x12xf32>
  %y = linalg.generic {indexing_maps = [#cols, #id, #rows, #rows, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %x, %sum, %var, %b : tensor<12xf32>, tensor<8x12xf32>, tensor<8xf32>, tensor<8xf32>, tensor<12xf32>) outs(%e2 : tensor<8x12xf32>) {
  ^bb0(%gg: f32, %a: f32, %t: f32, %v: f32, %bb: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %eps = arith.constant 1.0e-12 : f32
    %m = arith.mulf %t, %inv_n : f32
    %ve = arith.addf %eps, %v : f32
    %sd = math.sqrt %ve : f32
    %rs = arith.divf %one, %sd : f32
    %d = arith.subf %a, %m : f32
    %gd = arith.mulf %gg, %d : f32
    %nx = arith.mulf %gd, %rs : f32
    %r = arith.addf %nx, %bb : f32
    linalg.yield %r : f32
  } -> tensor<8x12xf32>
  return %y : tensor<8x12xf32>
}

// sqrt((sum of squares + N * eps) / N): eps = 1.6e-4 / 16 = 1e-5, read from
// the IR's constant through the algebra; no gamma, no beta.
// CHECK-LABEL: func.func @layer_norm_scaled_eps
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>)
// CHECK: lathe.layer_norm ins(%[[X]] : tensor<8x16xf32>) outs
// CHECK-SAME: {epsilon = 9.99999{{[0-9]*}}E-6 : f32}
func.func @layer_norm_scaled_eps(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
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
  %ss = linalg.generic {indexing_maps = [#id, #rows, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean : tensor<8x16xf32>, tensor<8xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %m: f32, %s: f32):
    %d = arith.subf %a, %m : f32
    %sq = arith.mulf %d, %d : f32
    %r = arith.addf %s, %sq : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e2 = tensor.empty() : tensor<8x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #rows, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean, %ss : tensor<8x16xf32>, tensor<8xf32>, tensor<8xf32>) outs(%e2 : tensor<8x16xf32>) {
  ^bb0(%a: f32, %m: f32, %v: f32, %o: f32):
    %n = arith.constant 16.0 : f32
    %neps = arith.constant 1.6e-4 : f32
    %ve = arith.addf %v, %neps : f32
    %vn = arith.divf %ve, %n : f32
    %rs = math.rsqrt %vn : f32
    %d = arith.subf %a, %m : f32
    %r = arith.mulf %d, %rs : f32
    linalg.yield %r : f32
  } -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}

// The variance as E[x^2] - E[x]^2 equals the biased variance in exact
// arithmetic but cancels in floating point when the mean is large against
// the spread; lathe.layer_norm computes E[(x - mean)^2], so this stays as
// written (the default and the reference pipeline must agree).
// CHECK-LABEL: func.func @layer_norm_moments_variance
// CHECK-NOT: lathe.layer_norm
// CHECK: return
func.func @layer_norm_moments_variance(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x16xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %s, %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %sumsq = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x16xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %s: f32):
    %sq = arith.mulf %a, %a : f32
    %r = arith.addf %s, %sq : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e2 = tensor.empty() : tensor<8x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #rows, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum, %sumsq : tensor<8x16xf32>, tensor<8xf32>, tensor<8xf32>) outs(%e2 : tensor<8x16xf32>) {
  ^bb0(%a: f32, %s: f32, %q: f32, %o: f32):
    %n = arith.constant 16.0 : f32
    %eps = arith.constant 1.0e-5 : f32
    %m = arith.divf %s, %n : f32
    %ex2 = arith.divf %q, %n : f32
    %m2 = arith.mulf %m, %m : f32
    %v = arith.subf %ex2, %m2 : f32
    %ve = arith.addf %v, %eps : f32
    %rs = math.rsqrt %ve : f32
    %d = arith.subf %a, %m : f32
    %r = arith.mulf %d, %rs : f32
    linalg.yield %r : f32
  } -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}
