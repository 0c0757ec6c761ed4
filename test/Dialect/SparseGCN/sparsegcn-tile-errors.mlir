// RUN: lathe-opt %s --split-input-file --sparsegcn-tile --verify-diagnostics
// RUN: not lathe-opt %s --split-input-file --sparsegcn-tile="tile-size=0" 2>&1 | FileCheck %s --check-prefix=TILE0
// RUN: not lathe-opt %s --split-input-file --sparsegcn-tile="tile-size=-2" 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: not lathe-opt %s --split-input-file --sparsegcn-tile="reorder=random" 2>&1 | FileCheck %s --check-prefix=REORDER
// RUN: not lathe-opt %s --split-input-file --sparsegcn-tile="dense-threshold=2.0" 2>&1 | FileCheck %s --check-prefix=THRESHOLD

// TILE0: sparsegcn-tile: tile-size must be positive (or -1 to let the cost model choose), got 0
// TILE: sparsegcn-tile: tile-size must be positive (or -1 to let the cost model choose), got -2
// REORDER: for the --reorder option: unknown value 'random' (expected one of: none, degree, rcm, cluster, auto)
// THRESHOLD: sparsegcn-tile: dense-threshold is a density in [0, 1] (or < 0 for the cost model), got 2

func.func @out_of_range(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 2, 4, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 0, 4, 0, 3]> : tensor<6xi64>
  %v = arith.constant dense<1.0> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  // expected-error @+1 {{has column index 4 at position 3, out of range [0, 4)}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @decreasing_row_ptr(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 4, 2, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 0, 1, 0, 3]> : tensor<6xi64>
  %v = arith.constant dense<1.0> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  // expected-error @+1 {{has a decreasing row_ptr: row_ptr[1] = 4 > row_ptr[2] = 2}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @row_ptr_start(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[1, 2, 4, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 0, 1, 0, 3]> : tensor<6xi64>
  %v = arith.constant dense<1.0> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  // expected-error @+1 {{has row_ptr[0] = 1; CSR row pointers must start at 0}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// The cost tables come from the module's target: a bad table is an error
// naming the key.
module attributes {lathe.target = #lathe.target<name = "bad", threads = 0, features = [],
    tables = {sparsegcn = {tile_sizes = array<i64: 64, 32>}}>} {
// expected-error @+1 {{target 'bad': table 'sparsegcn': key 'tile_sizes': expected strictly increasing positive integers, got array<i64: 64, 32>}}
func.func @bad_table(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 2, 4, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 0, 3, 0, 3]> : tensor<6xi64>
  %v = arith.constant dense<1.0> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
}

// -----

module attributes {lathe.target = #lathe.target<name = "short", threads = 0, features = [],
    tables = {sparsegcn = {tile_sizes = array<i64: 32, 64>, widths = array<i64: 16>,
                           gemm_gflops = array<f64: 1.0, 2.0, 3.0>}}>} {
// expected-error @+1 {{target 'short': table 'sparsegcn': key 'gemm_gflops': expected 2 numbers, got 3}}
func.func @short_table(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 2, 4, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 0, 3, 0, 3]> : tensor<6xi64>
  %v = arith.constant dense<1.0> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
}
