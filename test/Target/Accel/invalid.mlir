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

func.func @decision_engine(%a: f32) -> f32 {
  // expected-error @+1 {{expects engine "mme", "tpc", "sparse" or "split", got "gpu"}}
  %b = arith.addf %a, %a {lathe.decision = #accel.decision<engine = "gpu", reason = "r", tpc_cycles = 1>} : f32
  return %b : f32
}

// -----

func.func @decision_mme_cycles(%a: f32) -> f32 {
  // expected-error @+1 {{places the op on the matrix engines (engine = "mme") but has no mme_cycles}}
  %b = arith.addf %a, %a {lathe.decision = #accel.decision<engine = "mme", reason = "r", tpc_cycles = 1>} : f32
  return %b : f32
}

// -----

func.func @decision_extent(%a: f32) -> f32 {
  // expected-error @+1 {{expects 1 <= tpc_extent < split_extent for engine = "split", got tpc_extent = 64 of split_extent = 64}}
  %b = arith.addf %a, %a {lathe.decision = #accel.decision<engine = "split", mme_cycles = 2, reason = "r", split = "rows", split_extent = 64, tpc_cycles = 1, tpc_extent = 64>} : f32
  return %b : f32
}

// -----

func.func @decision_extent_zero(%a: f32) -> f32 {
  // expected-error @+1 {{expects 1 <= tpc_extent < split_extent for engine = "split", got tpc_extent = 0 of split_extent = 64}}
  %b = arith.addf %a, %a {lathe.decision = #accel.decision<engine = "split", mme_cycles = 2, reason = "r", split = "rows", split_extent = 64, tpc_cycles = 1, tpc_extent = 0>} : f32
  return %b : f32
}

// -----

func.func @decision_extent_missing(%a: f32) -> f32 {
  // expected-error @+1 {{expects split_extent and tpc_extent for engine = "split"}}
  %b = arith.addf %a, %a {lathe.decision = #accel.decision<engine = "split", mme_cycles = 2, reason = "r", split = "rows", tpc_cycles = 1, tpc_extent = 3>} : f32
  return %b : f32
}

// -----

func.func @decision_split_dim(%a: f32) -> f32 {
  // expected-error @+1 {{expects split "rows", "columns" or "batch" for engine = "split", got ""}}
  %b = arith.addf %a, %a {lathe.decision = #accel.decision<engine = "split", mme_cycles = 2, reason = "r", split_extent = 2, tpc_cycles = 1, tpc_extent = 1>} : f32
  return %b : f32
}

// -----

func.func @decision_not_split(%a: f32) -> f32 {
  // expected-error @+1 {{has split, split_extent or tpc_extent but engine = "tpc" (only a split has them)}}
  %b = arith.addf %a, %a {lathe.decision = #accel.decision<engine = "tpc", reason = "r", tpc_cycles = 1, tpc_extent = 1>} : f32
  return %b : f32
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.sparse_spmm' op expects 'nnz' to be at least 1, got 0}}
  %0 = accel.sparse_spmm() {cols = 16 : i64, nnz = 0 : i64, tiles = 1 : i64}
}

// -----

func.func @decision_sparse_cycles(%a: f32) -> f32 {
  // expected-error @+1 {{places the op on the sparse engine but has no sparse_cycles}}
  %b = arith.addf %a, %a {lathe.decision = #accel.decision<engine = "sparse", reason = "r", tpc_cycles = 1>} : f32
  return %b : f32
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.sparse_spmm' op expects one 'tile_nnz' entry per tile (2), got 1}}
  %0 = accel.sparse_spmm() {cols = 16 : i64, nnz = 4 : i64, tile_nnz = array<i64: 4>, tiles = 2 : i64}
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.sparse_spmm' op expects non-negative 'tile_nnz' entries, got -1}}
  %0 = accel.sparse_spmm() {cols = 16 : i64, nnz = 4 : i64, tile_nnz = array<i64: 9, -1>, tiles = 2 : i64}
}

// -----

accel.program "f" {
  // expected-error @+1 {{'accel.tpc_reduce' op expects one 'tile_elements' entry per tile (1), got 2}}
  %0 = accel.tpc_reduce() {elements = 4 : i64, ops_per_element = 1.0 : f64, tile_elements = array<i64: 4, 4>, tiles = 1 : i64}
}
