// memred-bound-memory's workers come from the module's target (the memred
// table's `workers`; 2 on the shipped CPU target) unless the option gives
// them: at 1 MiB, 2 workers fit 128x512 blocks (591872 B), 4 workers only
// 64x512 (4 x (64x512 + 64x64 + 128) x 4 B = 591872 B).
// The last split's table is bad (without an explicit workers option), so
// lathe-opt exits non-zero on the whole file there.
// RUN: not lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1MiB}))' 2>/dev/null | FileCheck %s
// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1MiB workers=2}))' | FileCheck %s --check-prefix=OPTION
// RUN: not lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1MiB}))' 2>&1 >/dev/null | FileCheck %s --check-prefix=ERR

// CHECK-LABEL: func.func @default
// CHECK: chunks(128, 512)
// CHECK-SAME: workers = 2,
func.func @default(%q: tensor<1x8192x64xf32>) -> tensor<1x8192x64xf32> {
  %e = tensor.empty() : tensor<1x8192x64xf32>
  %o = memred.attention ins(%q, %q, %q : tensor<1x8192x64xf32>, tensor<1x8192x64xf32>, tensor<1x8192x64xf32>)
         outs(%e : tensor<1x8192x64xf32>) scale(0.125) -> tensor<1x8192x64xf32>
  return %o : tensor<1x8192x64xf32>
}

// -----

// CHECK-LABEL: func.func @four_workers
// CHECK: chunks(64, 512)
// CHECK-SAME: workers = 4,
// OPTION-LABEL: func.func @four_workers
// OPTION: chunks(128, 512)
// OPTION-SAME: workers = 2,
module attributes {lathe.target = #lathe.target<name = "four", threads = 4, features = [],
    tables = {memred = {workers = 4}}>} {
func.func @four_workers(%q: tensor<1x8192x64xf32>) -> tensor<1x8192x64xf32> {
  %e = tensor.empty() : tensor<1x8192x64xf32>
  %o = memred.attention ins(%q, %q, %q : tensor<1x8192x64xf32>, tensor<1x8192x64xf32>, tensor<1x8192x64xf32>)
         outs(%e : tensor<1x8192x64xf32>) scale(0.125) -> tensor<1x8192x64xf32>
  return %o : tensor<1x8192x64xf32>
}
}

// -----

// memred's keys are independent: one the target's table leaves out is the
// shipped default's (2 workers).
// CHECK-LABEL: func.func @partial_table
// CHECK: chunks(128, 512)
// CHECK-SAME: workers = 2,
module attributes {lathe.target = #lathe.target<name = "partial", threads = 4, features = [],
    tables = {memred = {attention_min_scores = 0}}>} {
func.func @partial_table(%q: tensor<1x8192x64xf32>) -> tensor<1x8192x64xf32> {
  %e = tensor.empty() : tensor<1x8192x64xf32>
  %o = memred.attention ins(%q, %q, %q : tensor<1x8192x64xf32>, tensor<1x8192x64xf32>, tensor<1x8192x64xf32>)
         outs(%e : tensor<1x8192x64xf32>) scale(0.125) -> tensor<1x8192x64xf32>
  return %o : tensor<1x8192x64xf32>
}
}

// -----

// ERR: error: target 'bad': table 'memred': key 'workers': expected an integer >= 1, got 0 : i64
module attributes {lathe.target = #lathe.target<name = "bad", threads = 4, features = [],
    tables = {memred = {workers = 0}}>} {
func.func @bad(%q: tensor<1x8192x64xf32>) -> tensor<1x8192x64xf32> {
  %e = tensor.empty() : tensor<1x8192x64xf32>
  %o = memred.attention ins(%q, %q, %q : tensor<1x8192x64xf32>, tensor<1x8192x64xf32>, tensor<1x8192x64xf32>)
         outs(%e : tensor<1x8192x64xf32>) scale(0.125) -> tensor<1x8192x64xf32>
  return %o : tensor<1x8192x64xf32>
}
}
