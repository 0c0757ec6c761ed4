// RUN: lathe-opt --lathe-differentiate %s -split-input-file -verify-diagnostics | FileCheck %s

// After an all-gather every rank computes the same loss: the all-gather's
// adjoint is the rank's block of its gradient; %w is read by the rank's
// positions (its gradient is a partial sum, all-reduced), %c after the
// all-gather (whole on every rank, not summed).
shard.grid @seqshard(shape = 2)
// CHECK-LABEL: func.func @f_grad(
func.func @f(%w: tensor<4x8xf32> {lathe.param}, %c: tensor<8x8xf32> {lathe.param}, %x: tensor<8x8xf32>) -> tensor<f32> {
  %r = shard.process_linear_index on @seqshard : index
  %c4 = arith.constant 4 : index
  %o = arith.muli %r, %c4 : index
  %xs = tensor.extract_slice %x[%o, 0] [4, 8] [1, 1] : tensor<8x8xf32> to tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.mul ins(%xs, %w : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %g = shard.all_gather %y on @seqshard grid_axes = [0] gather_axis = 0 : tensor<4x8xf32> -> tensor<8x8xf32>
  %e2 = tensor.empty() : tensor<8x8xf32>
  %z = linalg.mul ins(%g, %c : tensor<8x8xf32>, tensor<8x8xf32>) outs(%e2 : tensor<8x8xf32>) -> tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e3 = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e3 : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]} ins(%z : tensor<8x8xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %a, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  // CHECK: %[[RANK:.*]] = shard.process_linear_index on @seqshard
  // CHECK: %[[OFF:.*]] = arith.muli %[[RANK]]
  // CHECK: tensor.extract_slice %{{.*}}[%[[OFF]], 0] [4, 8] [1, 1] : tensor<8x8xf32> to tensor<4x8xf32>
  // CHECK: %[[DW:.*]] = shard.all_reduce %{{.*}} on @seqshard grid_axes = [0] : tensor<4x8xf32>
  // CHECK-NOT: shard.all_reduce
  // CHECK: return %{{.*}}, %[[DW]], %{{.*}} : tensor<f32>, tensor<4x8xf32>, tensor<8x8xf32>
  return %s : tensor<f32>
}

// -----

shard.grid @seqshard(shape = 2)
// expected-error @+1 {{lathe-differentiate: parameter #0 is read both by sequence-sharded and by replicated computation; its gradient cannot be summed over the ranks}}
func.func @g(%w: tensor<4x8xf32> {lathe.param}, %x: tensor<8x8xf32>) -> tensor<f32> {
  %r = shard.process_linear_index on @seqshard : index
  %c4 = arith.constant 4 : index
  %o = arith.muli %r, %c4 : index
  %xs = tensor.extract_slice %x[%o, 0] [4, 8] [1, 1] : tensor<8x8xf32> to tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.mul ins(%xs, %w : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %g = shard.all_gather %y on @seqshard grid_axes = [0] gather_axis = 0 : tensor<4x8xf32> -> tensor<8x8xf32>
  %ws = tensor.concat dim(0) %w, %w : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  %e2 = tensor.empty() : tensor<8x8xf32>
  %z = linalg.mul ins(%g, %ws : tensor<8x8xf32>, tensor<8x8xf32>) outs(%e2 : tensor<8x8xf32>) -> tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e3 = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e3 : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]} ins(%z : tensor<8x8xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %a, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %s : tensor<f32>
}

// -----

shard.grid @seqshard(shape = 2x2)
// expected-error @+1 {{lathe-differentiate: summing gradients over the ranks needs a one-dimensional grid, got @seqshard}}
func.func @h(%w: tensor<4x8xf32> {lathe.param}, %x: tensor<8x8xf32>) -> tensor<f32> {
  %r = shard.process_linear_index on @seqshard : index
  %c4 = arith.constant 4 : index
  %o = arith.muli %r, %c4 : index
  %xs = tensor.extract_slice %x[%o, 0] [4, 8] [1, 1] : tensor<8x8xf32> to tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.mul ins(%xs, %w : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e3 = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e3 : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]} ins(%y : tensor<4x8xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %a, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %s : tensor<f32>
}
