// RUN: lathe-opt --lathe-differentiate %s | FileCheck %s

// memred.attention with a key mask (not trained) and a pair bias (trained):
// the forward gets a log-sum-exp result, one memred.attention_grad gives
// dQ, dK, dV and the pair bias' gradient, and no [2, 16, 16] score-shaped
// tensor appears in the gradient function.
#id = affine_map<(b, i, d) -> (b, i, d)>
#s = affine_map<(b, i, d) -> ()>
// CHECK-LABEL: func.func @loss(
// CHECK: memred.attention
// CHECK-NOT: lse(
// CHECK-LABEL: func.func @loss_grad(
// CHECK-NOT: tensor<2x16x16xf32>
// CHECK: %[[LSE:.*]] = tensor.empty() : tensor<2x16xf32>
// CHECK: %[[FWD:.*]]:2 = memred.attention ins(%[[Q:[^,]*]], %[[K:[^,]*]], %[[V:[^ ]*]] :
// CHECK-SAME: biases(%[[MASK:[^,]*]], %[[PAIR:[^ ]*]] :
// CHECK-SAME: lse(%[[LSE]] : tensor<2x16xf32>)
// CHECK-SAME: -> tensor<2x16x8xf32>, tensor<2x16xf32>
// CHECK-NOT: memred.attention ins
// CHECK: %[[G:.*]]:4 = memred.attention_grad ins(%[[Q]], %[[K]], %[[V]], %[[FWD]]#0, %{{.*}}, %[[FWD]]#1 :
// CHECK-SAME: biases(%[[MASK]], %[[PAIR]] : tensor<2x1x16xf32>, tensor<1x16x16xf32>)
// CHECK-SAME: bias_grads [1] (%{{.*}} : tensor<1x16x16xf32>)
// CHECK-SAME: scale(2.500000e-01) chunks(0, 0)
// CHECK: return %{{.*}}, %[[G]]#0, %[[G]]#1, %[[G]]#2, %[[G]]#3 :
// CHECK-NOT: tensor<2x16x16xf32>
func.func @loss(%q: tensor<2x16x8xf32> {lathe.param}, %k: tensor<2x16x8xf32> {lathe.param},
                %v: tensor<2x16x8xf32> {lathe.param}, %pair: tensor<1x16x16xf32> {lathe.param},
                %mask: tensor<2x1x16xf32>, %w: tensor<2x16x8xf32>) -> tensor<f32> {
  %e = tensor.empty() : tensor<2x16x8xf32>
  %o = memred.attention ins(%q, %k, %v : tensor<2x16x8xf32>, tensor<2x16x8xf32>, tensor<2x16x8xf32>)
         biases(%mask, %pair : tensor<2x1x16xf32>, tensor<1x16x16xf32>)
         outs(%e : tensor<2x16x8xf32>) scale(0.25) -> tensor<2x16x8xf32>
  %z = arith.constant 0.0 : f32
  %a = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%a : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [#id, #id, #s], iterator_types = ["reduction", "reduction", "reduction"]}
      ins(%o, %w : tensor<2x16x8xf32>, tensor<2x16x8xf32>) outs(%i : tensor<f32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}

// Chunked attention keeps its chunks; only the query is a parameter (the
// other gradients are computed by the same op and unused); no bias
// gradient is requested for a bias that is not trained.
// CHECK-LABEL: func.func @chunked_grad(
// CHECK: memred.chunked_attention {{.*}} lse(%{{.*}} : tensor<1x64xf32>) scale(5.000000e-01) chunks(16, 32)
// CHECK: %[[G:.*]]:3 = memred.attention_grad
// CHECK-SAME: biases(%{{.*}} : tensor<1x1x64xf32>) outs(
// CHECK-NOT: bias_grads
// CHECK-SAME: chunks(16, 32)
// CHECK: return %{{.*}}, %[[G]]#0 : tensor<f32>, tensor<1x64x4xf32>
func.func @chunked(%q: tensor<1x64x4xf32> {lathe.param}, %kv: tensor<1x64x4xf32>,
                   %mask: tensor<1x1x64xf32>) -> tensor<f32> {
  %e = tensor.empty() : tensor<1x64x4xf32>
  %o = memred.chunked_attention ins(%q, %kv, %kv : tensor<1x64x4xf32>, tensor<1x64x4xf32>, tensor<1x64x4xf32>)
         biases(%mask : tensor<1x1x64xf32>)
         outs(%e : tensor<1x64x4xf32>) scale(0.5) chunks(16, 32) -> tensor<1x64x4xf32>
  %z = arith.constant 0.0 : f32
  %a = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%a : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [#id, #s], iterator_types = ["reduction", "reduction", "reduction"]}
      ins(%o : tensor<1x64x4xf32>) outs(%i : tensor<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}
