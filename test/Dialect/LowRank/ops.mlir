// RUN: lathe-opt %s | FileCheck %s
// RUN: lathe-opt %s | lathe-opt | FileCheck %s

// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>,
                  %b: tensor<32xf32>) -> tensor<4x32xf32> {
  // CHECK: lowrank.linear %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}) :
  // CHECK-SAME: (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  %y = lowrank.linear %x, %u, %v bias(%b)
         : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// CHECK-LABEL: func.func @linear_dynamic_batched
func.func @linear_dynamic_batched(%x: tensor<2x?x64xf32>, %u: tensor<32x16xf32>,
                                  %v: tensor<16x64xf32>) -> tensor<2x?x32xf32> {
  // Floats print at six significant digits (and always as float literals).
  // CHECK: lowrank.linear %{{.*}}, %{{.*}}, %{{.*}} {lathe.decision = #lowrank.decision<action = "factorize", rank = 16, energy = 0.987654, latency_before_us = 1.23457e+07, latency_after_us = 4.5, latency_before_b1_us = 10.0, latency_after_b1_us = 0.125, latency_before_b64_us = 2.0e+07, latency_after_b64_us = 2.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.001, model_error = 0.000123457, model_latency = 0.25>}
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "factorize", rank = 16, energy = 0.98765432, latency_before_us = 12345678.9, latency_after_us = 4.5, latency_before_b1_us = 10.0, latency_after_b1_us = 0.125, latency_before_b64_us = 20000000.0, latency_after_b64_us = 2.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 1.0e-3, model_error = 0.000123456789, model_latency = 0.25>}
         : (tensor<2x?x64xf32>, tensor<32x16xf32>, tensor<16x64xf32>) -> tensor<2x?x32xf32>
  return %y : tensor<2x?x32xf32>
}

// CHECK-LABEL: func.func @tucker
func.func @tucker(%x: tensor<1x16x10x10xf32>, %uin: tensor<8x16xf32>,
                  %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>,
                  %b: tensor<32xf32>) -> tensor<1x32x8x8xf32> {
  // CHECK: lowrank.conv2d_tucker %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}) :
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout bias(%b)
         : (tensor<1x16x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// CHECK-LABEL: func.func @tucker_strided
func.func @tucker_strided(%x: tensor<2x16x9x9xf32>, %uin: tensor<4x16xf32>,
                          %core: tensor<4x4x3x3xf32>, %uout: tensor<8x4xf32>) -> tensor<2x8x4x4xf32> {
  // CHECK: lowrank.conv2d_tucker
  // CHECK-SAME: strides = array<i64: 2, 2>
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout {strides = array<i64: 2, 2>}
         : (tensor<2x16x9x9xf32>, tensor<4x16xf32>, tensor<4x4x3x3xf32>, tensor<8x4xf32>) -> tensor<2x8x4x4xf32>
  return %y : tensor<2x8x4x4xf32>
}

// A kept-dense decision on the op that stays dense; fields in any order.
// CHECK-LABEL: func.func @dense_decision
func.func @dense_decision(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %init: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: linalg.matmul
  // CHECK-SAME: lathe.decision = #lowrank.decision<action = "dense", rank = 8, energy = 1.0, latency_before_us = 4.0, latency_after_us = 4.0,
  // An infinite estimate prints as its bits (which parse back).
  // CHECK-SAME: latency_before_b64_us = 64.0, latency_after_b64_us = 0x7FF0000000000000, target = "flat",
  // CHECK-SAME: strategy = "uniform", error_norm = "spectral", budget = "max_latency", budget_limit = 0.75,
  %y = linalg.matmul {lathe.decision = #lowrank.decision<model_latency = 1.0, model_error = 0.0, budget_limit = 0.75, budget = "max_latency", error_norm = "spectral", strategy = "uniform", target = "flat", latency_after_b64_us = 0x7FF0000000000000, latency_before_b64_us = 64.0, latency_after_b1_us = 1.0, latency_before_b1_us = 1.0, latency_after_us = 4.0, latency_before_us = 4.0, energy = 1.0, rank = 8, action = "dense">}
         ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32>) outs(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
