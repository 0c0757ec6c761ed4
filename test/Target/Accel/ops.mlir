// RUN: lathe-opt %s | lathe-opt | FileCheck %s
// Every engine op round-trips in its custom form.

// CHECK-LABEL: accel.program "main"
accel.program "main" {
  // CHECK: %[[L:.*]] = accel.dma_load() {bytes = 4096 : i64, group = 0 : i64, source = "x", tiles = 2 : i64}
  %0 = accel.dma_load() {bytes = 4096 : i64, group = 0 : i64, source = "x", tiles = 2 : i64}
  // CHECK: %[[M:.*]] = accel.mme_matmul(%[[L]]) {group = 0 : i64, k = 64 : i64, m = 32 : i64, n = 32 : i64, tiles = 2 : i64}
  %1 = accel.mme_matmul(%0) {group = 0 : i64, k = 64 : i64, m = 32 : i64, n = 32 : i64, tiles = 2 : i64}
  // CHECK: accel.dma_store(%[[M]]) {bytes = 4096 : i64, group = 0 : i64, tiles = 2 : i64}
  %2 = accel.dma_store(%1) {bytes = 4096 : i64, group = 0 : i64, tiles = 2 : i64}
  // CHECK: accel.tpc_matmul(%[[M]]) {element_type = "bf16", k = 8 : i64, m = 1 : i64, n = 4 : i64, tiles = 8 : i64}
  %3 = accel.tpc_matmul(%1) {element_type = "bf16", k = 8 : i64, m = 1 : i64, n = 4 : i64, tiles = 8 : i64}
  // CHECK: accel.tpc_softmax() {cols = 128 : i64, rows = 4 : i64, tiles = 3 : i64}
  %4 = accel.tpc_softmax() {cols = 128 : i64, rows = 4 : i64, tiles = 3 : i64}
  // CHECK: accel.tpc_layernorm(%{{.*}}, %{{.*}}) {cols = 256 : i64, rows = 2 : i64, tiles = 1 : i64}
  %5 = accel.tpc_layernorm(%3, %4) {cols = 256 : i64, rows = 2 : i64, tiles = 1 : i64}
  // CHECK: accel.tpc_elementwise() {elements = 100 : i64, ops_per_element = 2.500000e+00 : f64, tiles = 1 : i64}
  %6 = accel.tpc_elementwise() {elements = 100 : i64, ops_per_element = 2.5 : f64, tiles = 1 : i64}
  // CHECK: accel.tpc_reduce() {elements = 100 : i64, ops_per_element = 1.000000e+00 : f64, tiles = 1 : i64}
  %7 = accel.tpc_reduce() {elements = 100 : i64, ops_per_element = 1.0 : f64, tiles = 1 : i64}
  // CHECK: accel.sparse_spmm(%{{.*}}) {cols = 16 : i64, nnz = 4160 : i64, tiles = 2 : i64}
  %8 = accel.sparse_spmm(%7) {cols = 16 : i64, nnz = 4160 : i64, tiles = 2 : i64}
  // Per-tile sizes: a sparse aggregation's blocks of rows, each with its own
  // non-zeros.
  // CHECK: accel.sparse_spmm() {cols = 16 : i64, nnz = 3 : i64, tile_nnz = array<i64: 5, 0>, tiles = 2 : i64}
  %9 = accel.sparse_spmm() {cols = 16 : i64, nnz = 3 : i64, tile_nnz = array<i64: 5, 0>, tiles = 2 : i64}
  // CHECK: accel.tpc_reduce() {elements = 48 : i64, ops_per_element = 2.000000e+00 : f64, tile_elements = array<i64: 64, 32>, tiles = 2 : i64}
  %10 = accel.tpc_reduce() {elements = 48 : i64, ops_per_element = 2.0 : f64, tile_elements = array<i64: 64, 32>, tiles = 2 : i64}
}

// accel-place's decision: fields in alphabetical order; a split is integral
// (split_extent, tpc_extent), so it prints and re-parses exactly.
// CHECK-LABEL: func.func @placed
func.func @placed(%a: f32) -> f32 {
  // CHECK: arith.addf {{.*}} {lathe.decision = #accel.decision<engine = "tpc", reason = "only the vector cores run it", tpc_cycles = 12>}
  %b = arith.addf %a, %a {lathe.decision = #accel.decision<tpc_cycles = 12, reason = "only the vector cores run it", engine = "tpc">} : f32
  // CHECK: arith.mulf {{.*}} {lathe.decision = #accel.decision<engine = "split", mme_cycles = 4096, reason = "both", split = "rows", split_extent = 64, tpc_cycles = 4160, tpc_extent = 32>}
  %c = arith.mulf %b, %b {lathe.decision = #accel.decision<engine = "split", split = "rows", tpc_extent = 32, split_extent = 64, mme_cycles = 4096, tpc_cycles = 4160, reason = "both">} : f32
  // CHECK: arith.subf {{.*}} {lathe.decision = #accel.decision<engine = "sparse", reason = "finishes first on the sparse engine", sparse_cycles = 65, tpc_cycles = 28>}
  %d = arith.subf %c, %c {lathe.decision = #accel.decision<engine = "sparse", sparse_cycles = 65, tpc_cycles = 28, reason = "finishes first on the sparse engine">} : f32
  return %d : f32
}
