// RUN: lathe-opt %s -split-input-file --accel-expand-recurrences | FileCheck %s
// RUN: lathe-opt %s -split-input-file --accel-expand-recurrences --accel-attach-device=config=%accel_configs/gaudi2.json --accel-place=policy=all-mme --accel-tile | FileCheck %s --check-prefix=TILE
// lathe.rnn unrolled for the accelerator: the input projection of all steps
// as one product, then per step (reverse: t = 1, then 0) the recurrent
// product of the previous step's h and the gates on column blocks of the
// two projections (gates = [0, 2, 3, 1]: i in block 0, f in 2, c in 3, o
// in 1); each step's h inserted into y.

// CHECK-LABEL: func.func @lstm
// CHECK-SAME: (%[[X:.*]]: tensor<2x1x2xf32>, %[[W:.*]]: tensor<8x2xf32>, %[[R:.*]]: tensor<8x2xf32>, %[[B:.*]]: tensor<8xf32>, %[[H0:.*]]: tensor<1x2xf32>, %[[C0:.*]]: tensor<1x2xf32>)
// CHECK: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]]
// CHECK: %[[XP:.*]] = lathe.matmul ins(%[[X2]], %[[W]] : {{.*}}) bias(%[[B]] : {{.*}}) {{.*}}transpose_rhs
// CHECK: %[[XP3:.*]] = tensor.expand_shape %[[XP]]
// Step 1 (t = 1): from h0 and c0.
// CHECK: %[[XS1:.*]] = tensor.extract_slice %[[XP3]][1, 0, 0] [1, 1, 8] [1, 1, 1]
// CHECK: %[[HP1:.*]] = lathe.matmul ins(%[[H0]], %[[R]] : {{.*}}) {{.*}}transpose_rhs
// CHECK-DAG: tensor.extract_slice %[[XS1]][0, 0] [1, 2] [1, 1]
// CHECK-DAG: tensor.extract_slice %[[XS1]][0, 4] [1, 2] [1, 1]
// CHECK-DAG: tensor.extract_slice %[[XS1]][0, 6] [1, 2] [1, 1]
// CHECK: %[[C1:.*]] = linalg.generic {{.*}}, %[[C0]] : {{.*}})
// CHECK: math.tanh
// CHECK: tensor.extract_slice %[[XS1]][0, 2] [1, 2] [1, 1]
// CHECK: %[[H1:.*]] = linalg.generic {{.*}}, %[[C1]] : {{.*}})
// CHECK: %[[Y1:.*]] = tensor.insert_slice %[[H1]] into %{{.*}}[1, 0, 0] [1, 1, 2] [1, 1, 1]
// Step 2 (t = 0): from step 1's state.
// CHECK: tensor.extract_slice %[[XP3]][0, 0, 0] [1, 1, 8] [1, 1, 1]
// CHECK: lathe.matmul ins(%[[H1]], %[[R]] : {{.*}})
// CHECK: %[[C2:.*]] = linalg.generic {{.*}}, %[[C1]] : {{.*}})
// CHECK: %[[H2:.*]] = linalg.generic {{.*}}, %[[C2]] : {{.*}})
// CHECK: %[[Y2:.*]] = tensor.insert_slice %[[H2]] into %[[Y1]][0, 0, 0] [1, 1, 2] [1, 1, 1]
// CHECK: return %[[Y2]], %[[H2]], %[[C2]]
// The engine program: the products on the matrix engines, the gates and
// the inserts on the vector cores, executable.
// TILE-LABEL: accel.program "lstm" attributes {buffers =
// TILE-COUNT-3: accel.mme_matmul
// TILE: accel.tpc_elementwise
func.func @lstm(%x: tensor<2x1x2xf32>, %w: tensor<8x2xf32>, %r: tensor<8x2xf32>, %b: tensor<8xf32>, %h0: tensor<1x2xf32>, %c0: tensor<1x2xf32>) -> (tensor<2x1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) {
  %ye = tensor.empty() : tensor<2x1x2xf32>
  %he = tensor.empty() : tensor<1x2xf32>
  %y, %h, %c = lathe.rnn lstm ins(%x, %w, %r : tensor<2x1x2xf32>, tensor<8x2xf32>, tensor<8x2xf32>) bias(%b : tensor<8xf32>)
      initial_h(%h0 : tensor<1x2xf32>) initial_c(%c0 : tensor<1x2xf32>)
      outs(%ye, %he, %he : tensor<2x1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) {gates = array<i64: 0, 2, 3, 1>, reverse}
      -> tensor<2x1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>
  return %y, %h, %c : tensor<2x1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>
}

// -----

// A GRU that is not linear before reset (batch_first): r * h goes through
// its own product with R's candidate block (rows 4-5, gates = [0, 1, 2]) and
// the recurrent bias's.
// CHECK-LABEL: func.func @gru
// CHECK-SAME: %[[R:[^:]*]]: tensor<6x2xf32>, %[[B:[^:]*]]: tensor<6xf32>, %[[RB:[^:]*]]: tensor<6xf32>
// CHECK: %[[HP:.*]] = lathe.matmul ins(%{{.*}}, %[[R]] : {{.*}}) bias(%[[RB]]
// CHECK: %[[RH:.*]] = linalg.generic
// CHECK: %[[RBLK:.*]] = tensor.extract_slice %[[R]][4, 0] [2, 2] [1, 1]
// CHECK: %[[RBB:.*]] = tensor.extract_slice %[[RB]][4] [2] [1]
// CHECK: lathe.matmul ins(%[[RH]], %[[RBLK]] : {{.*}}) bias(%[[RBB]]
// CHECK: tensor.insert_slice {{.*}}[0, 0, 0] [1, 1, 2] [1, 1, 1] : tensor<1x2xf32> into tensor<1x2x2xf32>
// CHECK: tensor.insert_slice {{.*}}[0, 1, 0] [1, 1, 2] [1, 1, 1] : tensor<1x2xf32> into tensor<1x2x2xf32>
// TILE-LABEL: accel.program "gru" attributes {buffers =
func.func @gru(%x: tensor<1x2x2xf32>, %w: tensor<6x2xf32>, %r: tensor<6x2xf32>, %b: tensor<6xf32>, %rb: tensor<6xf32>, %h0: tensor<1x2xf32>) -> (tensor<1x2x2xf32>, tensor<1x2xf32>) {
  %ye = tensor.empty() : tensor<1x2x2xf32>
  %he = tensor.empty() : tensor<1x2xf32>
  %y, %h = lathe.rnn gru ins(%x, %w, %r : tensor<1x2x2xf32>, tensor<6x2xf32>, tensor<6x2xf32>) bias(%b : tensor<6xf32>)
      recurrent_bias(%rb : tensor<6xf32>) initial_h(%h0 : tensor<1x2xf32>)
      outs(%ye, %he : tensor<1x2x2xf32>, tensor<1x2xf32>) {gates = array<i64: 0, 1, 2>, batch_first}
      -> tensor<1x2x2xf32>, tensor<1x2xf32>
  return %y, %h : tensor<1x2x2xf32>, tensor<1x2xf32>
}

// -----

// The importer's Concat along dimension 0 (two [2, 3] sources into [4, 3])
// becomes two inserts; its Slice of a state input (rows 1 of [2, 3], index
// 0 folded to a constant) an extract_slice.
// CHECK-LABEL: func.func @concat_slice
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<2x3xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x3xf32>
// CHECK: %[[I0:.*]] = tensor.insert_slice %[[A]] into %[[E]][0, 0] [2, 3] [1, 1]
// CHECK: %[[I1:.*]] = tensor.insert_slice %[[B]] into %[[I0]][2, 0] [2, 3] [1, 1]
// CHECK: %[[S:.*]] = tensor.extract_slice %[[A]][1, 0] [1, 3] [1, 1] : tensor<2x3xf32> to tensor<1x3xf32>
// CHECK: return %[[I1]], %[[S]]
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @concat_slice(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> (tensor<4x3xf32>, tensor<1x3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %e = tensor.empty() : tensor<4x3xf32>
  %cat = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel"]} outs(%e : tensor<4x3xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %0 = arith.maxsi %i, %c0 : index
    %1 = arith.minsi %0, %c1 : index
    %ea = tensor.extract %a[%1, %j] : tensor<2x3xf32>
    %2 = arith.subi %i, %c2 : index
    %3 = arith.maxsi %2, %c0 : index
    %4 = arith.minsi %3, %c1 : index
    %5 = arith.cmpi sge, %2, %c0 : index
    %eb = tensor.extract %b[%4, %j] : tensor<2x3xf32>
    %6 = arith.select %5, %eb, %ea : f32
    linalg.yield %6 : f32
  } -> tensor<4x3xf32>
  %e1 = tensor.empty() : tensor<1x3xf32>
  %sl = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel"]} outs(%e1 : tensor<1x3xf32>) {
  ^bb0(%out: f32):
    %j = linalg.index 1 : index
    %v = tensor.extract %a[%c1, %j] : tensor<2x3xf32>
    linalg.yield %v : f32
  } -> tensor<1x3xf32>
  return %cat, %sl : tensor<4x3xf32>, tensor<1x3xf32>
}

// -----

// A body that only looks like a Concat (the select picks the wrong piece)
// stays a generic.
// CHECK-LABEL: func.func @not_concat
// CHECK: linalg.generic
// CHECK-NOT: tensor.insert_slice
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @not_concat(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<4x3xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %e = tensor.empty() : tensor<4x3xf32>
  %cat = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel"]} outs(%e : tensor<4x3xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %0 = arith.maxsi %i, %c0 : index
    %1 = arith.minsi %0, %c1 : index
    %ea = tensor.extract %a[%1, %j] : tensor<2x3xf32>
    %2 = arith.subi %i, %c2 : index
    %3 = arith.maxsi %2, %c0 : index
    %4 = arith.minsi %3, %c1 : index
    %5 = arith.cmpi sge, %2, %c0 : index
    %eb = tensor.extract %b[%4, %j] : tensor<2x3xf32>
    %6 = arith.select %5, %ea, %eb : f32
    linalg.yield %6 : f32
  } -> tensor<4x3xf32>
  return %cat : tensor<4x3xf32>
}

// -----

// Without the expansion (accel-place alone), lathe.rnn is an error naming
// the pass to run.
// RUN: not lathe-opt %s -split-input-file --accel-attach-device=config=%accel_configs/gaudi2.json --accel-place 2>&1 | FileCheck %s --check-prefix=NOEXPAND
// CHECK-LABEL: func.func @unexpanded
// NOEXPAND: error: 'lathe.rnn' op has no engine op on the accelerator target (an LSTM/GRU recurrence over the sequence): run accel-expand-recurrences first
func.func @unexpanded(%x: tensor<2x1x2xf32>, %w: tensor<8x2xf32>, %r: tensor<8x2xf32>, %b: tensor<8xf32>, %h0: tensor<1x2xf32>) -> tensor<2x1x2xf32> {
  %ye = tensor.empty() : tensor<2x1x2xf32>
  %he = tensor.empty() : tensor<1x2xf32>
  %y, %h, %c = lathe.rnn lstm ins(%x, %w, %r : tensor<2x1x2xf32>, tensor<8x2xf32>, tensor<8x2xf32>) bias(%b : tensor<8xf32>)
      initial_h(%h0 : tensor<1x2xf32>) initial_c(%h0 : tensor<1x2xf32>)
      outs(%ye, %he, %he : tensor<2x1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) {gates = array<i64: 0, 2, 3, 1>}
      -> tensor<2x1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>
  return %y : tensor<2x1x2xf32>
}

// -----

// An insert into a computed value works in place: that value is stored
// (not kept on chip), so its other regions are in HBM with the inserted one.
// RUN: lathe-opt %s -split-input-file --accel-expand-recurrences --accel-attach-device=config=%accel_configs/gaudi2.json --accel-place --accel-tile | FileCheck %s --check-prefix=INPLACE
// CHECK-LABEL: func.func @in_place
// INPLACE-LABEL: accel.program "in_place" attributes {buffers =
// INPLACE: accel.tpc_elementwise{{.*}}source = "linalg.generic#0"
// INPLACE-NEXT: accel.dma_store{{.*}}source = "linalg.generic#0"
// INPLACE: accel.tpc_elementwise{{.*}}source = "tensor.insert_slice#1"
// INPLACE-NEXT: accel.dma_store{{.*}}source = "tensor.insert_slice#1"
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @in_place(%x: tensor<4x4xf32>, %s: tensor<1x4xf32>) -> tensor<4x4xf32> {
  %e = tensor.empty() : tensor<4x4xf32>
  %a = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %in : f32
    linalg.yield %0 : f32
  } -> tensor<4x4xf32>
  %b = tensor.insert_slice %s into %a[2, 0] [1, 4] [1, 1] : tensor<1x4xf32> into tensor<4x4xf32>
  return %b : tensor<4x4xf32>
}
