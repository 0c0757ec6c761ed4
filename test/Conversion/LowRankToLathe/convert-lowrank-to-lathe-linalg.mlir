// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(convert-lowrank-to-lathe{linalg-only=true}))' | FileCheck %s
// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(convert-lowrank-to-lathe{linalg-only=true}))' | FileCheck %s --check-prefix=NOLATHE
// RUN: not lathe-opt %S/Inputs/linear-3d.mlir --pass-pipeline='builtin.module(func.func(convert-lowrank-to-lathe{linalg-only=true}))' 2>&1 | FileCheck %s --check-prefix=ERR-3D

// For the upstream-only reference pipeline: x·Vᵀ then ·Uᵀ as linalg.matmul with
// a transposed right operand, then the bias as a linalg.generic; no lathe op.
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[U:.*]]: tensor<32x8xf32>, %[[V:.*]]: tensor<8x64xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK: %[[T:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[X]], %[[V]] : tensor<?x64xf32>, tensor<8x64xf32>) outs(%{{.*}} : tensor<?x8xf32>)
// CHECK: %[[M:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[T]], %[[U]] : tensor<?x8xf32>, tensor<32x8xf32>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[B]] : tensor<?x32xf32>, tensor<32xf32>)
// CHECK: return %[[Y]]
// NOLATHE-NOT: lathe.
// NOLATHE-NOT: lowrank.
func.func @linear(%x: tensor<?x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>,
                  %b: tensor<32xf32>) -> tensor<?x32xf32> {
  %y = lowrank.linear %x, %u, %v bias(%b)
         : (tensor<?x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Tucker-2 lowers to the same three linalg convolutions in both modes.
// CHECK-LABEL: func.func @tucker
// CHECK-COUNT-3: linalg.conv_2d_nchw_fchw
func.func @tucker(%x: tensor<1x4x9x9xf32>, %uin: tensor<2x4xf32>, %core: tensor<2x2x3x3xf32>,
                  %uout: tensor<6x2xf32>) -> tensor<1x6x7x7xf32> {
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout
         : (tensor<1x4x9x9xf32>, tensor<2x4xf32>, tensor<2x2x3x3xf32>, tensor<6x2xf32>) -> tensor<1x6x7x7xf32>
  return %y : tensor<1x6x7x7xf32>
}

// ERR-3D: error: 'lowrank.linear' op could not be lowered ({{.*}}with linalg-only a linear layer needs a 2-D input)
