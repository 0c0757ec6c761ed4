// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=32KiB}))' | FileCheck %s
// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=32KiB keep=0.2 depth-decay=0.5}))' | FileCheck %s --check-prefix=DECAY
// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=32KiB policy=random seed=9}))' | FileCheck %s --check-prefix=RANDOM
// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=32KiB policy=merge}))' | FileCheck %s --check-prefix=MERGE
// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=32KiB policy=recent}))' | FileCheck %s --check-prefix=RECENT

// Two layers whose caches grow by a 16-row frame per iteration. Budget
// 32 KiB = banks (C = 32: 128 bytes a row) + the larger reduction's scratch
// (21 bytes a row of bank + frame): layer 1 gets 0.75 of layer 0's rows and
// keeps 0.075 instead of 0.1. 132 * 128 + 99 * 128 + 21 * (132 + 16) = 32676.
// CHECK-LABEL: func.func @two_layers
// CHECK: %[[B0:[0-9]+]] = bufferization.alloc_tensor() : tensor<132x32xf32>
// CHECK: %[[B1:[0-9]+]] = bufferization.alloc_tensor() : tensor<99x32xf32>
// CHECK: %[[R:[0-9]+]]:6 = scf.for %[[T:[a-z0-9_]+]] = {{.*}} iter_args(%[[S0:[a-z0-9_]+]] = %{{[a-z0-9_]+}}, %[[S1:[a-z0-9_]+]] = %{{[a-z0-9_]+}}, %[[BANK0:[a-z0-9_]+]] = %[[B0]], %[[N0:[a-z0-9_]+]] = %[[ZERO:[a-z0-9_]+]], %[[BANK1:[a-z0-9_]+]] = %[[B1]], %[[N1:[a-z0-9_]+]] = %[[ZERO]]) -> (tensor<4x32xf32>, tensor<4x32xf32>, tensor<132x32xf32>, index, tensor<99x32xf32>, index)
// CHECK:   %[[F:[a-z0-9_]+]] = tensor.extract_slice %{{.*}}[%[[T]], 0, 0] [1, 16, 32]
// CHECK-NOT: tensor.concat
// CHECK:   %[[NB0:[a-z0-9_]+]], %[[NN0:[a-z0-9_]+]] = memred.bank_append ins(%[[F]] : tensor<16x32xf32>) queries(%[[Q:[a-z0-9_]+]] : tensor<4x32xf32>) outs(%[[BANK0]] : tensor<132x32xf32>) count(%[[N0]]) recent(1.000000e-01) keep(1.000000e-01) scale(0.176776692)
// CHECK-SAME: lathe.decision = #memred.decision<action = "bounded streaming cache", bank_bytes = 16896, budget_bytes = 32768, capacity = 132, frame_rows = 16, keep = 0.1, layer = 0, policy = "adacm2", recent = 0.1, scratch_bytes = 3108, total_bytes = 32676, unbounded_bytes = 131072>
// CHECK:   %[[K0:[a-z0-9_]+]] = tensor.extract_slice %[[NB0]][0, 0] [%[[NN0]], 32] [1, 1] : tensor<132x32xf32> to tensor<?x32xf32>
// CHECK:   %[[A0:[0-9]+]] = memred.attention ins(%[[Q]], %[[K0]], %[[K0]] : {{.*}}) outs(%[[S0]] : tensor<4x32xf32>)
// CHECK-SAME: action = "kept: scores fit", budget_bytes = 32768, key_rows_bound = 132
// CHECK:   %[[NB1:[a-z0-9_]+]], %[[NN1:[a-z0-9_]+]] = memred.bank_append ins(%[[F]] : tensor<16x32xf32>) queries(%[[A0]] : tensor<4x32xf32>) outs(%[[BANK1]] : tensor<99x32xf32>) count(%[[N1]])
// CHECK-SAME: capacity = 99
// CHECK-SAME: keep = {{0\.0749[0-9]*|0\.075}}, layer = 1
// CHECK:   %[[K1:[a-z0-9_]+]] = tensor.extract_slice %[[NB1]][0, 0] [%[[NN1]], 32]
// CHECK:   %[[A1:[0-9]+]] = memred.attention ins(%[[A0]], %[[K1]], %[[K1]] : {{.*}}) outs(%[[S1]] : tensor<4x32xf32>)
// CHECK:   scf.yield %[[A0]], %[[A1]], %[[NB0]], %[[NN0]], %[[NB1]], %[[NN1]]
// The cache read after the loop is the final bank's valid rows.
// CHECK: %[[LAST:[a-z0-9_]+]] = tensor.extract_slice %[[R]]#2[0, 0] [%[[R]]#3, 32] [1, 1]
// CHECK: return %[[R]]#0, %[[R]]#1, %[[LAST]]
// The other policies: the same fractions, each policy's scratch paid from
// the budget. random draws per frame (step = the loop's iteration); merge
// copies a frame and keeps a similarity and two links per row
// (24 * 138 + 4 * 16 * 32 = 5360 bytes: fewer rows); recent needs none.
// RANDOM-LABEL: func.func @two_layers
// RANDOM: scf.for %[[T:[a-z0-9_]+]] =
// RANDOM: memred.bank_append {{.*}} count(%{{.*}}) step(%[[T]]) {{.*}} policy(random) seed(9)
// RANDOM-SAME: capacity = 132
// RANDOM: memred.bank_append {{.*}} step(%[[T]]) {{.*}} policy(random) seed(9)
// MERGE-LABEL: func.func @two_layers
// MERGE: memred.bank_append {{.*}} policy(merge)
// MERGE-SAME: capacity = 122
// MERGE-SAME: scratch_bytes = 5360
// RECENT-LABEL: func.func @two_layers
// RECENT: memred.bank_append {{.*}} policy(recent)
// RECENT-SAME: capacity = 146
// RECENT-SAME: scratch_bytes = 0
// DECAY-LABEL: func.func @two_layers
// DECAY: memred.bank_append {{.*}}keep(2.000000e-01)
// DECAY: memred.bank_append {{.*}}keep(1.000000e-01)
func.func @two_layers(%frames: tensor<64x16x32xf32>, %q: tensor<4x32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>, tensor<?x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %none = tensor.empty() : tensor<0x32xf32>
  %empty = tensor.cast %none : tensor<0x32xf32> to tensor<?x32xf32>
  %s = tensor.empty() : tensor<4x32xf32>
  %r:4 = scf.for %t = %c0 to %c64 step %c1 iter_args(%cache0 = %empty, %cache1 = %empty, %s0 = %s, %s1 = %s) -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>) {
    %f = tensor.extract_slice %frames[%t, 0, 0] [1, 16, 32] [1, 1, 1] : tensor<64x16x32xf32> to tensor<16x32xf32>
    %g0 = tensor.concat dim(0) %cache0, %f : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
    %g1 = tensor.concat dim(0) %cache1, %f : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
    %a0 = memred.attention ins(%q, %g0, %g0 : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s0 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    %a1 = memred.attention ins(%a0, %g1, %g1 : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s1 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    scf.yield %g0, %g1, %a0, %a1 : tensor<?x32xf32>, tensor<?x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>
  }
  return %r#2, %r#3, %r#0 : tensor<4x32xf32>, tensor<4x32xf32>, tensor<?x32xf32>
}

// -----

// Four frames of 16 rows fit in 64: the bank holds the whole stream (it
// never reduces). A dynamic trip count gets the budget's capacity and no
// unbounded size.
// CHECK-LABEL: func.func @short_and_open
// CHECK: memred.bank_append {{.*}} outs(%{{.*}} : tensor<64x32xf32>)
// CHECK-SAME: capacity = 64
// CHECK-SAME: unbounded_bytes = 8192
// CHECK: memred.bank_append {{.*}} outs(%{{.*}} : tensor<{{[0-9]+}}x32xf32>)
// CHECK-NOT: unbounded_bytes
// CHECK-SAME: layer = 1
func.func @short_and_open(%frames: tensor<4x16x32xf32>, %q: tensor<4x32xf32>, %n: index) -> (tensor<4x32xf32>, tensor<4x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %empty = tensor.empty(%c0) : tensor<?x32xf32>
  %s = tensor.empty() : tensor<4x32xf32>
  %r:2 = scf.for %t = %c0 to %c4 step %c1 iter_args(%cache = %empty, %s0 = %s) -> (tensor<?x32xf32>, tensor<4x32xf32>) {
    %f = tensor.extract_slice %frames[%t, 0, 0] [1, 16, 32] [1, 1, 1] : tensor<4x16x32xf32> to tensor<16x32xf32>
    %g = tensor.concat dim(0) %cache, %f : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
    %a = memred.attention ins(%q, %g, %g : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s0 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    scf.yield %g, %a : tensor<?x32xf32>, tensor<4x32xf32>
  }
  %r2:2 = scf.for %t = %c0 to %n step %c1 iter_args(%cache = %empty, %s0 = %s) -> (tensor<?x32xf32>, tensor<4x32xf32>) {
    %f = tensor.extract_slice %frames[0, 0, 0] [1, 16, 32] [1, 1, 1] : tensor<4x16x32xf32> to tensor<16x32xf32>
    %g = tensor.concat dim(0) %cache, %f : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
    %a = memred.attention ins(%q, %g, %g : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s0 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    scf.yield %g, %a : tensor<?x32xf32>, tensor<4x32xf32>
  }
  return %r#1, %r2#1 : tensor<4x32xf32>, tensor<4x32xf32>
}
