// accel-schedule issues groups by their remaining path to the end (list
// scheduling), on the tiny device (Inputs/tiny.json).
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/tiny.json --accel-schedule | FileCheck %s

// Written short chain first: a 1-tile elementwise (ceil(64 * 1 / 16) + 8 =
// 12 cycles) alone, then a chain of a product (16 passes of 64 + 64 = 1088)
// and a softmax (128 * 128 * 10 / 16 + 8 = 10248 cycles on one tile).
// The chain's head has 1088 + 10248 = 11336 cycles ahead of it and goes
// first; the elementwise (12) last. Dependencies stay before their users.
// CHECK-LABEL: accel.program "f"
// CHECK: %[[M:.*]] = accel.mme_matmul() {accel.priority = 11336 : i64
// CHECK: accel.tpc_softmax(%[[M]]) {accel.priority = 10248 : i64
// CHECK: accel.tpc_elementwise() {accel.priority = 12 : i64
accel.program "f" {
  %0 = accel.tpc_elementwise() {elements = 64 : i64, ops_per_element = 1.0 : f64, tiles = 1 : i64}
  %1 = accel.mme_matmul() {k = 64 : i64, m = 128 : i64, n = 128 : i64, tiles = 1 : i64}
  %2 = accel.tpc_softmax(%1) {cols = 128 : i64, rows = 128 : i64, tiles = 1 : i64}
}

// A group (load, compute, store) moves as one unit and keeps its order.
// CHECK-LABEL: accel.program "g"
// CHECK: accel.dma_load() {accel.priority = [[P:[0-9]+]] : i64, bytes = 4096 : i64, group = 0 : i64
// CHECK-NEXT: accel.mme_matmul(%{{.*}}) {accel.priority = [[P]] : i64
// CHECK-NEXT: accel.dma_store(%{{.*}}) {accel.priority = [[P]] : i64
// CHECK-NEXT: accel.tpc_elementwise
accel.program "g" {
  %0 = accel.tpc_elementwise() {elements = 64 : i64, ops_per_element = 1.0 : f64, tiles = 1 : i64}
  %1 = accel.dma_load() {bytes = 4096 : i64, group = 0 : i64, tiles = 2 : i64}
  %2 = accel.mme_matmul(%1) {group = 0 : i64, k = 64 : i64, m = 32 : i64, n = 32 : i64, tiles = 2 : i64}
  %3 = accel.dma_store(%2) {bytes = 4096 : i64, group = 0 : i64, tiles = 2 : i64}
}
