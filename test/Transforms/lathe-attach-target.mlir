// lathe-attach-target reads a JSON target description once and attaches it as
// the module's #lathe.target: objects become dictionaries, arrays of integers
// array<i64>, other arrays of numbers array<f64>.
// RUN: lathe-opt %s --lathe-attach-target=%S/Inputs/target.json | FileCheck %s
// RUN: lathe-opt %s --lathe-attach-target="file=%S/Inputs/target.json" | FileCheck %s
// A file written for lowrank-select-ranks alone (its keys at the top level) is
// read as the target's lowrank table.
// RUN: lathe-opt %s --lathe-attach-target=%S/../Dialect/LowRank/Inputs/flat.json | FileCheck %s --check-prefix=FLAT
// An attached target replaces the one the module had.
// RUN: lathe-opt %s --lathe-attach-target=%S/Inputs/target.json --lathe-attach-target=%S/../Dialect/LowRank/Inputs/flat.json | FileCheck %s --check-prefix=FLAT
// Bad descriptions: an error naming the file and the key.
// RUN: not lathe-opt %s --lathe-attach-target=%S/Inputs/missing.json 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not lathe-opt %s --lathe-attach-target=%S/Inputs/target-bad-threads.json 2>&1 | FileCheck %s --check-prefix=THREADS
// RUN: not lathe-opt %s --lathe-attach-target=%S/Inputs/target-bad-key.json 2>&1 | FileCheck %s --check-prefix=KEY
// RUN: not lathe-opt %s --lathe-attach-target=%S/Inputs/target-null.json 2>&1 | FileCheck %s --check-prefix=NULL
// RUN: not lathe-opt %s --lathe-attach-target=%S/Inputs/target-bad-features.json 2>&1 | FileCheck %s --check-prefix=FEATURES
// RUN: not lathe-opt %s --lathe-attach-target 2>&1 | FileCheck %s --check-prefix=NOFILE

// CHECK: module attributes {lathe.target = #lathe.target<name = "test-cpu", threads = 4, features = ["avx512f", "avx512_vnni"],
// CHECK-SAME: tables = {lowrank = {bandwidth_gbps = 2.050000e+01 : f64, matmul = [{k = 32 : i64, m = 1 : i64, n = 16 : i64, us = 4.250000e+00 : f64}], peak_gflops = 100 : i64, provenance = "test"},
// CHECK-SAME: memred = {workers = 8 : i64},
// CHECK-SAME: sparsegcn = {gemm_gflops = array<f64: 1.000000e+00, 2.500000e+00>, safety_margin = 1.500000e+00 : f64, tile_sizes = array<i64: 32, 64>}}>}

// FLAT: module attributes {lathe.target = #lathe.target<name = "flat", threads = 0, features = [],
// FLAT-SAME: tables = {lowrank = {bandwidth_gbps = 1000 : i64, call_overhead_us = 0 : i64, granularity = 1 : i64, min_efficient_dim = 1 : i64, peak_gflops = 100 : i64, provenance = "test target: no call overhead, no small-size penalty"}}>}

// MISSING: error: lathe-attach-target: cannot read target description '{{.*}}missing.json'
// THREADS: error: lathe-attach-target: target description '{{.*}}target-bad-threads.json': key 'threads': expected an integer >= 0 (0: not fixed)
// KEY: error: lathe-attach-target: target description '{{.*}}target-bad-key.json': key 'workers': expected an object (a cost table)
// NULL: error: lathe-attach-target: target description '{{.*}}target-null.json': key 'memred.workers': null is not a value
// FEATURES: error: lathe-attach-target: target description '{{.*}}target-bad-features.json': key 'features': expected an array of strings
// NOFILE: error: lathe-attach-target: no target description given (--lathe-attach-target=FILE)
module {
}
