// RUN: lathe-opt %s --lathe-differentiate | FileCheck %s

// linalg.conv_2d_nchw_fchw's gradients are convolutions (no scatter loops):
// dx convolves dy spread by the stride (2) and padded by (K-1)*dilation
// with the flipped, channel-swapped filter (stride 1, the forward
// dilations); dw convolves x (its unreached last column sliced off) and dy
// with batch and channels swapped (strides = the forward dilations,
// dilations = the forward strides), then swaps back. A dynamic batch stays
// dynamic.

// CHECK-DAG: #[[FLIP:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d0, -d2 + 2, -d3 + 1)>
// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x2x9x8xf32> {lathe.param}, %[[W:[^:]*]]: tensor<3x2x3x2xf32> {lathe.param}
// CHECK-NOT: scf.for
// CHECK: %[[SPREAD:.*]] = tensor.insert_slice %[[DY:[^ ]*]] into %{{.*}}[0, 0, 2, 2] [%{{.*}}, 3, 4, 3] [1, 1, 2, 2] : tensor<?x3x4x3xf32> into tensor<?x3x11x10xf32>
// CHECK: %[[FLIPPED:.*]] = linalg.generic {indexing_maps = [#[[FLIP]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[W]] : tensor<3x2x3x2xf32>) outs(%{{.*}} : tensor<2x3x3x2xf32>)
// CHECK: %[[DX:.*]] = linalg.conv_2d_nchw_fchw {dilations = dense<[1, 2]> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%[[SPREAD]], %[[FLIPPED]] : {{.*}}) outs({{.*}}) -> tensor<?x2x9x8xf32>
// CHECK: %[[USED:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [%{{.*}}, 2, 9, 7] [1, 1, 1, 1]
// CHECK: %[[XT:.*]] = linalg.transpose ins(%[[USED]] : tensor<?x2x9x7xf32>) outs(%{{.*}} : tensor<2x?x9x7xf32>) permutation = [1, 0, 2, 3]
// CHECK: %[[DYT:.*]] = linalg.transpose ins(%[[DY]] : tensor<?x3x4x3xf32>) outs(%{{.*}} : tensor<3x?x4x3xf32>) permutation = [1, 0, 2, 3]
// CHECK: %[[DWT:.*]] = linalg.conv_2d_nchw_fchw {dilations = dense<2> : tensor<2xi64>, strides = dense<[1, 2]> : tensor<2xi64>} ins(%[[XT]], %[[DYT]] : {{.*}}) outs({{.*}}) -> tensor<2x3x3x2xf32>
// CHECK: %[[DW:.*]] = linalg.transpose ins(%[[DWT]] : tensor<2x3x3x2xf32>) outs(%{{.*}} : tensor<3x2x3x2xf32>) permutation = [1, 0, 2, 3]
// CHECK-NOT: scf.for
// CHECK: return %{{.*}}, %[[DX]], %[[DW]]
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
#none = affine_map<(n, c, h, w) -> ()>
func.func @loss(%x: tensor<?x2x9x8xf32> {lathe.param}, %w: tensor<3x2x3x2xf32> {lathe.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x2x9x8xf32>
  %e = tensor.empty(%n) : tensor<?x3x4x3xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x3x4x3xf32>) -> tensor<?x3x4x3xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<[1, 2]> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<?x2x9x8xf32>, tensor<3x2x3x2xf32>) outs(%z : tensor<?x3x4x3xf32>) -> tensor<?x3x4x3xf32>
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [#id, #none], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%y : tensor<?x3x4x3xf32>) outs(%z0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}
