// RUN: lathe-opt %s -split-input-file -verify-diagnostics

accel.program "f" {
  // expected-error @+1 {{'accel.dma_load' op expects 'tiles' to be at least 1, got 0}}
  %0 = accel.dma_load() {bytes = 4 : i64, tiles = 0 : i64}
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.dma_load' op expects 'buffers' to be at least 1, got 0}}
  %0 = accel.dma_load() {bytes = 4 : i64, buffers = 0 : i64, tiles = 1 : i64}
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.dma_store' op expects 'bytes' to be at least 1, got -4}}
  %0 = accel.dma_store() {bytes = -4 : i64, tiles = 1 : i64}
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.mme_matmul' op expects element_type f32 or bf16, got 'f16'}}
  %0 = accel.mme_matmul() {element_type = "f16", k = 1 : i64, m = 1 : i64, n = 1 : i64, tiles = 1 : i64}
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.tpc_matmul' op expects 'k' to be at least 1, got 0}}
  %0 = accel.tpc_matmul() {k = 0 : i64, m = 1 : i64, n = 1 : i64, tiles = 1 : i64}
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.tpc_elementwise' op expects a positive ops_per_element}}
  %0 = accel.tpc_elementwise() {elements = 4 : i64, ops_per_element = 0.0 : f64, tiles = 1 : i64}
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.tpc_reduce' op expects a positive ops_per_element}}
  %0 = accel.tpc_reduce() {elements = 4 : i64, ops_per_element = -1.0 : f64, tiles = 1 : i64}
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.tpc_softmax' op expects 'rows' to be at least 1, got 0}}
  %0 = accel.tpc_softmax() {cols = 4 : i64, rows = 0 : i64, tiles = 1 : i64}
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.tpc_layernorm' op expects 'cols' to be at least 1, got 0}}
  %0 = accel.tpc_layernorm() {cols = 0 : i64, rows = 4 : i64, tiles = 1 : i64}
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.sparse_spmm' op expects 'nnz' to be at least 1, got 0}}
  %0 = accel.sparse_spmm() {cols = 16 : i64, nnz = 0 : i64, tiles = 1 : i64}
}
