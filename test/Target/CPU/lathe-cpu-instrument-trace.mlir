// RUN: lathe-opt %s --lathe-cpu-instrument-trace | FileCheck %s

// A region whose operands have dynamic sizes ends with
// lathe_rt_trace_region_end_sized and the values of its text's '?'s, in order
// ("linalg.copy at ...|f32[?x3] -> f32[?x3], ? bytes"): the two sizes, then
// the bytes (12 per row of each operand). lathe-run/trace.test checks the
// texts and the events.

// CHECK-LABEL: func.func @dyn
// CHECK-SAME: %[[A:[a-z0-9]+]]: memref<?x3xf32>, %[[B:[a-z0-9]+]]: memref<?x3xf32>
// CHECK: %[[VALUES:.*]] = memref.alloca() : memref<3xi64>
// CHECK: memref.get_global @__lathe_trace_region
// CHECK: call @lathe_rt_trace_region_begin
// CHECK-NEXT: linalg.copy
// CHECK: %[[DA:.*]] = memref.dim %[[A]]
// CHECK: %[[NA:.*]] = arith.index_cast %[[DA]] : index to i64
// CHECK: %[[BA:.*]] = arith.muli %[[NA]], %{{.*}} : i64
// CHECK: %[[DB:.*]] = memref.dim %[[B]]
// CHECK: %[[NB:.*]] = arith.index_cast %[[DB]] : index to i64
// CHECK: %[[BB:.*]] = arith.muli %[[NB]], %{{.*}} : i64
// CHECK: %[[BYTES:.*]] = arith.addi %[[BA]], %[[BB]] : i64
// CHECK: memref.store %[[NA]], %[[VALUES]]
// CHECK: memref.store %[[NB]], %[[VALUES]]
// CHECK: memref.store %[[BYTES]], %[[VALUES]]
// CHECK: %[[CAST:.*]] = memref.cast %[[VALUES]] : memref<3xi64> to memref<*xi64>
// CHECK: call @lathe_rt_trace_region_end_sized(%{{.*}}, %[[CAST]])
func.func @dyn(%a: memref<?x3xf32>, %b: memref<?x3xf32>) {
  linalg.copy ins(%a : memref<?x3xf32>) outs(%b : memref<?x3xf32>)
  return
}

// A static one ends with lathe_rt_trace_region_end.
// CHECK-LABEL: func.func @static
// CHECK: memref.get_global @__lathe_trace_region
// CHECK: call @lathe_rt_trace_region_begin
// CHECK-NEXT: memref.copy
// CHECK-NEXT: call @lathe_rt_trace_region_end(
func.func @static(%a: memref<4x3xf32>, %b: memref<4x3xf32>) {
  memref.copy %a, %b : memref<4x3xf32> to memref<4x3xf32>
  return
}
