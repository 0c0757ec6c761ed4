// RUN: lathe-opt %s --split-input-file --sparsegcn-tile --verify-diagnostics
// RUN: not lathe-opt %s --split-input-file --sparsegcn-tile="tile-size=0" 2>&1 | FileCheck %s --check-prefix=TILE0
// RUN: not lathe-opt %s --split-input-file --sparsegcn-tile="tile-size=-2" 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: not lathe-opt %s --split-input-file --sparsegcn-tile="target=tpu" 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not lathe-opt %s --split-input-file --sparsegcn-tile="reorder=random" 2>&1 | FileCheck %s --check-prefix=REORDER
// RUN: not lathe-opt %s --split-input-file --sparsegcn-tile="dense-threshold=2.0" 2>&1 | FileCheck %s --check-prefix=THRESHOLD

// TILE0: sparsegcn-tile: tile-size must be positive (or -1 to let the cost model choose), got 0
// TILE: sparsegcn-tile: tile-size must be positive (or -1 to let the cost model choose), got -2
// TARGET: for the --target option: unknown value 'tpu' (expected one of: cpu)
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
