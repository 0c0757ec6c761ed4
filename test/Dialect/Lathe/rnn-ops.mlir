// RUN: lathe-opt %s | lathe-opt | FileCheck %s

// CHECK-LABEL: func.func @lstm
// CHECK: lathe.rnn lstm ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<32x4x64xf32>, tensor<512x64xf32>, tensor<512x128xf32>) bias(%{{.*}} : tensor<512xf32>) initial_h(%{{.*}} : tensor<4x128xf32>) initial_c(%{{.*}} : tensor<4x128xf32>) outs(
// CHECK-SAME: {gates = array<i64: 0, 2, 3, 1>}
func.func @lstm(%x: tensor<32x4x64xf32>, %w: tensor<512x64xf32>, %r: tensor<512x128xf32>, %b: tensor<512xf32>, %h0: tensor<4x128xf32>, %c0: tensor<4x128xf32>, %y: tensor<32x4x128xf32>, %h: tensor<4x128xf32>, %c: tensor<4x128xf32>) -> tensor<32x4x128xf32> {
  %r0:3 = lathe.rnn lstm ins(%x, %w, %r : tensor<32x4x64xf32>, tensor<512x64xf32>, tensor<512x128xf32>) bias(%b : tensor<512xf32>) initial_h(%h0 : tensor<4x128xf32>) initial_c(%c0 : tensor<4x128xf32>) outs(%y, %h, %c : tensor<32x4x128xf32>, tensor<4x128xf32>, tensor<4x128xf32>) {gates = array<i64: 0, 2, 3, 1>} -> tensor<32x4x128xf32>, tensor<4x128xf32>, tensor<4x128xf32>
  return %r0#0 : tensor<32x4x128xf32>
}

// CHECK-LABEL: func.func @lbr_gru_memref
// CHECK: lathe.rnn lbr_gru ins({{.*}}) bias({{.*}}) recurrent_bias({{.*}}) initial_h({{.*}}) outs({{.*}}) {gates = array<i64: 0, 1, 2>, reverse}
func.func @lbr_gru_memref(%x: memref<?x?x8xf32>, %w: memref<48x8xf32>, %r: memref<48x16xf32>, %b: memref<48xf32>, %rb: memref<48xf32>, %h0: memref<?x16xf32>, %y: memref<?x?x16xf32>, %h: memref<?x16xf32>) {
  lathe.rnn lbr_gru ins(%x, %w, %r : memref<?x?x8xf32>, memref<48x8xf32>, memref<48x16xf32>) bias(%b : memref<48xf32>) recurrent_bias(%rb : memref<48xf32>) initial_h(%h0 : memref<?x16xf32>) outs(%y, %h : memref<?x?x16xf32>, memref<?x16xf32>) {gates = array<i64: 0, 1, 2>, reverse}
  return
}
