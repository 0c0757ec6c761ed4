// RUN: lathe-opt %s --lathe-cpu-guard-indices | FileCheck %s
// The pass recognises its own guards: a second run changes nothing.
// RUN: lathe-opt %s --lathe-cpu-guard-indices --lathe-cpu-guard-indices | FileCheck %s

// CHECK-DAG: func.func private @lathe_rt_index_check_failed(memref<*xi8>, i64, i64, i64)
// The message ("linalg.generic at FILE:LINE:COL") is a private constant.
// CHECK-DAG: memref.global "private" constant @__lathe_check_msg{{[_0-9]*}} : memref<{{[0-9]+}}xi8> = dense<[108, 105, 110, 97, 108, 103, 46, 103, 101, 110, 101, 114, 105, 99, 32, 97, 116, 32

#ids = affine_map<(d0, d1) -> (d0)>
#out = affine_map<(d0, d1) -> (d0, d1)>
#id1 = affine_map<(d0) -> (d0)>

// A token id read from the input indexes the table: checked against the
// static size 100, the read happens only when in range.
// CHECK-LABEL: func.func @embedding
// CHECK-SAME: (%[[IDS:.*]]: tensor<4xi64>, %[[TABLE:.*]]: tensor<100x8xf32>)
// CHECK: ^bb0(%[[ID:.*]]: i64, %{{.*}}: f32):
// CHECK: %[[I:.*]] = arith.index_cast %[[ID]] : i64 to index
// CHECK: %[[J:.*]] = linalg.index 1
// CHECK: %[[N:.*]] = arith.constant 100 : index
// CHECK: %[[OK:.*]] = arith.cmpi ult, %[[I]], %[[N]] : index
// CHECK: %[[BAD:.*]] = arith.xori %[[OK]], %true
// CHECK: scf.if %[[BAD]] {
// CHECK:   memref.get_global @__lathe_check_msg
// CHECK:   %[[I64:.*]] = arith.index_cast %[[I]] : index to i64
// CHECK:   func.call @lathe_rt_index_check_failed(%{{.*}}, %[[I64]], %c0_i64, %{{.*}})
// CHECK: }
// CHECK: %[[V:.*]] = scf.if %[[OK]] -> (f32) {
// CHECK:   %[[E:.*]] = tensor.extract %[[TABLE]][%[[I]], %[[J]]]
// CHECK:   scf.yield %[[E]] : f32
// CHECK: } else {
// CHECK:   %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:   scf.yield %[[Z]] : f32
// CHECK: }
// CHECK: linalg.yield %[[V]] : f32
func.func @embedding(%ids: tensor<4xi64>, %table: tensor<100x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#ids, #out], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<4xi64>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%id: i64, %o: f32):
    %i = arith.index_cast %id : i64 to index
    %j = linalg.index 1 : index
    %v = tensor.extract %table[%i, %j] : tensor<100x8xf32>
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// A dynamic table: the size is its tensor.dim.
// CHECK-LABEL: func.func @dynamic_table
// CHECK-SAME: (%{{.*}}: tensor<4xi32>, %[[TABLE:.*]]: tensor<?xi32>)
// CHECK: %[[I:.*]] = arith.index_cast
// CHECK: %[[N:.*]] = tensor.dim %[[TABLE]], %c0
// CHECK: %[[OK:.*]] = arith.cmpi ult, %[[I]], %[[N]] : index
// CHECK: scf.if %[[OK]] -> (i32) {
// CHECK:   tensor.extract %[[TABLE]][%[[I]]]
// CHECK: } else {
// CHECK:   arith.constant 0 : i32
func.func @dynamic_table(%ids: tensor<4xi32>, %table: tensor<?xi32>) -> tensor<4xi32> {
  %e = tensor.empty() : tensor<4xi32>
  %r = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%ids : tensor<4xi32>) outs(%e : tensor<4xi32>) {
  ^bb0(%id: i32, %o: i32):
    %i = arith.index_cast %id : i32 to index
    %v = tensor.extract %table[%i] : tensor<?xi32>
    linalg.yield %v : i32
  } -> tensor<4xi32>
  return %r : tensor<4xi32>
}

// Indices computed from loop indices, sizes and constants only (ONNX Tile
// and edge Pad write these) are not data: no check.
// CHECK-LABEL: func.func @structural
// CHECK-NOT: lathe_rt_index_check_failed
// CHECK-NOT: scf.if
// CHECK: return
func.func @structural(%x: tensor<?xf32>) -> tensor<8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %last = arith.subi %n, %c1 : index
  %e = tensor.empty() : tensor<8xf32>
  %r = linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]}
      outs(%e : tensor<8xf32>) {
  ^bb0(%o: f32):
    %k = linalg.index 0 : index
    %wrap = arith.remui %k, %n : index
    %a = tensor.extract %x[%wrap] : tensor<?xf32>
    %clamp = arith.minsi %k, %last : index
    %b = tensor.extract %x[%clamp] : tensor<?xf32>
    %c = tensor.extract %x[%c0] : tensor<?xf32>
    %s = arith.addf %a, %b : f32
    %t = arith.addf %s, %c : f32
    linalg.yield %t : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// An access already inside an scf.if bounding its index (the ONNX importer's
// Gather, whose own message names the node) is left alone.
// CHECK-LABEL: func.func @already_checked
// CHECK-NOT: lathe_rt_index_check_failed
// CHECK: scf.if
// CHECK-NOT: scf.if
// CHECK: return
func.func @already_checked(%ids: tensor<4xi64>, %table: tensor<100xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%ids : tensor<4xi64>) outs(%e : tensor<4xf32>) {
  ^bb0(%id: i64, %o: f32):
    %i = arith.index_cast %id : i64 to index
    %n = arith.constant 100 : index
    %ok = arith.cmpi ult, %i, %n : index
    %v = scf.if %ok -> (f32) {
      %x = tensor.extract %table[%i] : tensor<100xf32>
      scf.yield %x : f32
    } else {
      %z = arith.constant 0.0 : f32
      scf.yield %z : f32
    }
    linalg.yield %v : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// A write at a data index (a scatter loop): skipped when out of range.
// CHECK-LABEL: func.func @scatter
// CHECK-SAME: (%[[DST:.*]]: tensor<10xf32>, %[[IDX:.*]]: tensor<3xindex>
// CHECK: scf.for %{{.*}} iter_args(%[[ACC:.*]] = %[[DST]])
// CHECK:   %[[I:.*]] = tensor.extract %[[IDX]]
// CHECK:   %[[OK:.*]] = arith.cmpi ult, %[[I]], %c10
// CHECK:   func.call @lathe_rt_index_check_failed
// CHECK:   %[[R:.*]] = scf.if %[[OK]] -> (tensor<10xf32>) {
// CHECK:     %[[INS:.*]] = tensor.insert %{{.*}} into %[[ACC]][%[[I]]]
// CHECK:     scf.yield %[[INS]]
// CHECK:   } else {
// CHECK:     scf.yield %[[ACC]]
// CHECK:   scf.yield %[[R]]
func.func @scatter(%dst: tensor<10xf32>, %idx: tensor<3xindex>, %upd: tensor<3xf32>) -> tensor<10xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r = scf.for %k = %c0 to %c3 step %c1 iter_args(%acc = %dst) -> (tensor<10xf32>) {
    %i = tensor.extract %idx[%k] : tensor<3xindex>
    %u = tensor.extract %upd[%k] : tensor<3xf32>
    %w = tensor.insert %u into %acc[%i] : tensor<10xf32>
    scf.yield %w : tensor<10xf32>
  }
  return %r : tensor<10xf32>
}
