// RUN: lathe-opt --lathe-differentiate %s | FileCheck %s

// The adjoint of a Ulysses all-to-all is the all-to-all with the axes
// swapped: scatter_heads of the parameter in the forward, gather_heads of
// its cotangent in the backward (and the other way round).
shard.grid @seqshard(shape = 2)
#id = affine_map<(b, n, h, d) -> (b, n, h, d)>
#s = affine_map<(b, n, h, d) -> ()>
// CHECK-LABEL: func.func @f_grad(
// CHECK-SAME: %[[W:.*]]: tensor<1x4x2x8xf32> {lathe.param}, %[[C:.*]]: tensor<1x8x1x8xf32>) -> (tensor<f32>, tensor<1x4x2x8xf32>)
// CHECK: seqshard.scatter_heads %[[W]] on @seqshard grid_axes = [0] layout = bshd : tensor<1x4x2x8xf32> -> tensor<1x8x1x8xf32>
// CHECK: %[[DW:.*]] = seqshard.gather_heads %{{.*}} on @seqshard grid_axes = [0] layout = bshd : tensor<1x8x1x8xf32> -> tensor<1x4x2x8xf32>
// CHECK: return %{{.*}}, %[[DW]]
func.func @f(%w: tensor<1x4x2x8xf32> {lathe.param}, %c: tensor<1x8x1x8xf32>) -> tensor<f32> {
  %y = seqshard.scatter_heads %w on @seqshard grid_axes = [0] layout = bshd : tensor<1x4x2x8xf32> -> tensor<1x8x1x8xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [#id, #id, #s], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%y, %c : tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32>) outs(%i : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// CHECK-LABEL: func.func @g_grad(
// CHECK: %[[DV:.*]] = seqshard.scatter_heads %{{.*}} on @seqshard grid_axes = [0] layout = sbhd : tensor<4x1x2x8xf32> -> tensor<8x1x1x8xf32>
// CHECK: return %{{.*}}, %[[DV]]
#id2 = affine_map<(n, b, h, d) -> (n, b, h, d)>
#s2 = affine_map<(n, b, h, d) -> ()>
func.func @g(%v: tensor<8x1x1x8xf32> {lathe.param}) -> tensor<f32> {
  %y = seqshard.gather_heads %v on @seqshard grid_axes = [0] layout = sbhd : tensor<8x1x1x8xf32> -> tensor<4x1x2x8xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [#id2, #s2], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%y : tensor<4x1x2x8xf32>) outs(%i : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %q = arith.addf %acc, %a : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
