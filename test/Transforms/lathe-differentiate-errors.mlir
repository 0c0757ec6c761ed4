// RUN: lathe-opt --lathe-differentiate --split-input-file --verify-diagnostics %s

// expected-error @+1 {{lathe-differentiate: @vector_loss must return one scalar loss (tensor<f32> or f32), but returns 'tensor<4xf32>'}}
func.func @vector_loss(%w: tensor<4xf32> {lathe.param}) -> tensor<4xf32> {
  return %w : tensor<4xf32>
}

// -----

// expected-error @+1 {{argument #0 of @int_param is marked lathe.param but is not a float tensor}}
func.func @int_param(%w: tensor<4xi32> {lathe.param}) -> f32 {
  %z = arith.constant 0.0 : f32
  return %z : f32
}

// -----

// A product reduction has no rule: an error naming the op, not a wrong
// gradient.
#id = affine_map<(i) -> (i)>
#s = affine_map<(i) -> ()>
func.func @prod(%w: tensor<4xf32> {lathe.param}) -> tensor<f32> {
  %o = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%o : f32) outs(%e : tensor<f32>) -> tensor<f32>
  // expected-error @+1 {{lathe-differentiate: cannot differentiate 'linalg.generic': a reduction must combine its body's value with the output by addf, maximumf or minimumf}}
  %r = linalg.generic {indexing_maps = [#id, #s], iterator_types = ["reduction"]}
      ins(%w : tensor<4xf32>) outs(%i : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %q = arith.mulf %acc, %a : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// A scalar op without a derivative rule is named.
#id = affine_map<(i) -> (i)>
#s = affine_map<(i) -> ()>
func.func @atan(%w: tensor<4xf32> {lathe.param}) -> tensor<f32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [#id, #s], iterator_types = ["reduction"]}
      ins(%w : tensor<4xf32>) outs(%i : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    // expected-error @+1 {{lathe-differentiate: no derivative for 'math.atan'}}
    %t = math.atan %a : f32
    %q = arith.addf %acc, %t : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// An op on the path from a parameter to the loss without a rule.
func.func @sort_like(%w: tensor<4xf32> {lathe.param}, %idx: index) -> f32 {
  // expected-error @+1 {{lathe-differentiate: cannot differentiate 'tensor.extract': no derivative rule for this op}}
  %v = tensor.extract %w[%idx] : tensor<4xf32>
  return %v : f32
}

// -----

// Gradients with respect to a sparse adjacency's values are not implemented:
// an error naming the op, not a zero gradient.
func.func @adjacency_values(%v: tensor<3xf32> {lathe.param}, %x: tensor<2x4xf32>) -> tensor<f32> {
  %rp = arith.constant dense<[0, 2, 3]> : tensor<3xi64>
  %ci = arith.constant dense<[0, 1, 1]> : tensor<3xi64>
  %e = tensor.empty() : tensor<2x4xf32>
  // expected-error @+1 {{lathe-differentiate: cannot differentiate 'sparsegcn.aggregate': the adjacency values depend on a parameter}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<3xi64>, tensor<3xi64>, tensor<3xf32>) [2, 2]
         ins(%x : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %z = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<f32>
  %s1 = linalg.fill ins(%z : f32) outs(%s0 : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%y : tensor<2x4xf32>) outs(%s1 : tensor<f32>) dimensions = [0, 1]
    (%a: f32, %acc: f32) {
      %t = arith.addf %a, %acc : f32
      linalg.yield %t : f32
    }
  return %s : tensor<f32>
}

// -----

// The loss reads attention's log-sum-exp: memred.attention_grad only
// differentiates the output.
func.func @attention_lse(%q: tensor<1x4x4xf32> {lathe.param}) -> tensor<f32> {
  %e = tensor.empty() : tensor<1x4x4xf32>
  %el = tensor.empty() : tensor<1x4xf32>
  // expected-error @+1 {{lathe-differentiate: cannot differentiate 'memred.attention': the loss depends on its log-sum-exp result}}
  %o:2 = memred.attention ins(%q, %q, %q : tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<1x4x4xf32>)
           outs(%e : tensor<1x4x4xf32>) lse(%el : tensor<1x4xf32>) scale(1.0) -> tensor<1x4x4xf32>, tensor<1x4xf32>
  %z = arith.constant 0.0 : f32
  %a = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%a : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<(b, i) -> (b, i)>, affine_map<(b, i) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%o#1 : tensor<1x4xf32>) outs(%i : tensor<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}

