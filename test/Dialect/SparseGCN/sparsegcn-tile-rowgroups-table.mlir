// The row-group engine's threshold from the target's table.
// RUN: lathe-opt %s --sparsegcn-tile -split-input-file | FileCheck %s

// The runtime receives the threshold in parts per million (0.6666666 becomes
// 666667 ppm): the pass forms its groups at that rounded threshold, so rows
// 0 and 1 (4 stored entries of 2 x 3, density 2/3, above the table's
// 0.6666666 but below 0.666667) form no group, as in the runtime.
module attributes {lathe.target = #lathe.target<name = "ppm", threads = 0, features = [],
    tables = {sparsegcn = {tile_sizes = array<i64: 32>, widths = array<i64: 64>,
                           gemm_gflops = array<f64: 1.0>, spmm_local_gflops = array<f64: 100.0>,
                           spmm_resident_gflops = array<f64: 10.0>,
                           spmm_streamed_gflops = array<f64: 10.0>, cache_bytes = 1048576 : i64,
                           safety_margin = 1.0 : f64, row_group_max = 2 : i64,
                           row_group_gflops = array<f64: 1.0>,
                           row_group_csr_gflops = array<f64: 0.6666666>}}>} {
// CHECK-LABEL: func.func @rounded
// CHECK: lathe.decision = #sparsegcn.decision<
// CHECK-SAME: row_group_threshold = 0.666667,
// CHECK-SAME: row_groups = 0,
func.func @rounded(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %rp = arith.constant dense<[0, 2, 4, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 0, 2, 3, 2]> : tensor<6xi64>
  %v = arith.constant dense<1.0> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x64xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}
}

// -----

// A table measured at larger groups than the op allows (4 rows): the
// threshold is the largest break-even over the groups the engine can form
// (0.5), not over the table's 5- and 6-row groups (0.9).
module attributes {lathe.target = #lathe.target<name = "big", threads = 0, features = [],
    tables = {sparsegcn = {tile_sizes = array<i64: 32>, widths = array<i64: 64>,
                           gemm_gflops = array<f64: 1.0>, spmm_local_gflops = array<f64: 100.0>,
                           spmm_resident_gflops = array<f64: 10.0>,
                           spmm_streamed_gflops = array<f64: 10.0>, cache_bytes = 1048576 : i64,
                           safety_margin = 1.0 : f64, row_group_max = 6 : i64,
                           row_group_gflops = array<f64: 1.0, 1.0, 1.0, 1.0, 1.0>,
                           row_group_csr_gflops = array<f64: 0.5, 0.5, 0.5, 0.9, 0.9>}}>} {
// CHECK-LABEL: func.func @capped
// CHECK: lathe.decision = #sparsegcn.decision<
// CHECK-SAME: row_group_max = 4,
// CHECK-SAME: row_group_threshold = 0.5,
func.func @capped(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %rp = arith.constant dense<[0, 2, 4, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 0, 2, 3, 2]> : tensor<6xi64>
  %v = arith.constant dense<1.0> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x64xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}
}
