// RUN: lathe-opt %s | FileCheck %s
// RUN: lathe-opt %s | lathe-opt | FileCheck %s
// The module's target round-trips: name, threads, ISA features and one
// dictionary per consumer's cost table.

// CHECK: module attributes {lathe.target = #lathe.target<name = "fast", threads = 2, features = ["avx512f", "amx-bf16"],
// CHECK-SAME: tables = {lowrank = {bandwidth_gbps = 1000 : i64, granularity = 1 : i64,
// CHECK-SAME: matmul = [{k = 4 : i64, m = 2 : i64, n = 3 : i64, us = 7.500000e+00 : f64}], peak_gflops = 1.000000e+02 : f64},
// CHECK-SAME: memred = {workers = 4 : i64},
// CHECK-SAME: sparsegcn = {tile_sizes = array<i64: 32, 64>, widths = array<f64: 1.600000e+01>}}>}
module attributes {lathe.target = #lathe.target<name = "fast", threads = 2,
    features = ["avx512f", "amx-bf16"],
    tables = {lowrank = {peak_gflops = 100.0 : f64, bandwidth_gbps = 1000 : i64,
                         granularity = 1 : i64,
                         matmul = [{m = 2 : i64, n = 3 : i64, k = 4 : i64, us = 7.5 : f64}]},
              memred = {workers = 4 : i64},
              sparsegcn = {tile_sizes = array<i64: 32, 64>, widths = array<f64: 16.0>}}>} {
}
