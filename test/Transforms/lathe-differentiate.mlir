// RUN: lathe-opt --lathe-differentiate %s | FileCheck %s

// y = sum(x * w): dw = x, computed by one all-parallel generic over the
// product's loops; the loss comes first, then the gradient.
#id = affine_map<(i) -> (i)>
#s = affine_map<(i) -> ()>
// CHECK-LABEL: func.func @dot(
// CHECK-LABEL: func.func @dot_grad(
// CHECK-SAME: -> (tensor<f32>, tensor<4xf32>)
// CHECK: %[[FWD:.*]] = linalg.generic
// CHECK: %[[G:.*]] = linalg.generic {{.*}}iterator_types = ["parallel"]
// CHECK: arith.mulf
// CHECK: return %[[FWD]], %[[G]] : tensor<f32>, tensor<4xf32>
func.func @dot(%w: tensor<4xf32> {lathe.param}, %x: tensor<4xf32>) -> tensor<f32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [#id, #id, #s], iterator_types = ["reduction"]}
      ins(%x, %w : tensor<4xf32>, tensor<4xf32>) outs(%i : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// A matmul's weight gradient contracts over the rows, with that reduction
// innermost (d2) so that kernel formation raises it to a matmul.
// CHECK-LABEL: func.func @mm_grad(
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
// A parameter the loss does not depend on gets zeros.
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: return {{.*}}, %[[Z]] :
#a = affine_map<(i, j) -> (i, j)>
#r = affine_map<(i, j) -> ()>
func.func @mm(%w: tensor<3x2xf32> {lathe.param}, %unused: tensor<5xf32> {lathe.param},
              %x: tensor<4x3xf32>) -> tensor<f32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x2xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %m = linalg.matmul ins(%x, %w : tensor<4x3xf32>, tensor<3x2xf32>) outs(%f : tensor<4x2xf32>) -> tensor<4x2xf32>
  %e0 = tensor.empty() : tensor<f32>
  %i = linalg.fill ins(%z : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [#a, #r], iterator_types = ["reduction", "reduction"]}
      ins(%m : tensor<4x2xf32>) outs(%i : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %q = arith.addf %acc, %v : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

