// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=4MiB}))' | FileCheck %s
// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1GiB}))' | FileCheck %s --check-prefix=FITS
// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=20000 workers=1}))' | FileCheck %s --check-prefix=SMALL

// 1 x 8192 x 8192 f32 scores = 256 MiB > 4 MiB: chunked with the largest
// blocks that fit (2 workers x (128x512 + 128x64 + 256) x 4 B = 591872 B).
// CHECK-LABEL: func.func @long
// CHECK: memred.chunked_attention
// CHECK-SAME: biases(%{{.*}} : tensor<1x1x8192xf32>)
// CHECK-SAME: scale(1.250000e-01) chunks(128, 512)
// CHECK-SAME: lathe.decision = #memred.decision<action = "chunked", budget_bytes = 4194304, kv_chunk = 512, q_chunk = 128, score_bytes = 268435456, workers = 2, working_set_bytes = 591872>
// FITS-LABEL: func.func @long
// FITS: memred.attention
// FITS-SAME: lathe.decision = #memred.decision<action = "kept: scores fit", budget_bytes = 1073741824, score_bytes = 268435456>
// SMALL-LABEL: func.func @long
// SMALL: chunks(8, 512)
func.func @long(%q: tensor<1x8192x64xf32>, %mask: tensor<1x1x8192xf32>) -> tensor<1x8192x64xf32> {
  %e = tensor.empty() : tensor<1x8192x64xf32>
  %o = memred.attention ins(%q, %q, %q : tensor<1x8192x64xf32>, tensor<1x8192x64xf32>, tensor<1x8192x64xf32>)
         biases(%mask : tensor<1x1x8192xf32>) outs(%e : tensor<1x8192x64xf32>) scale(0.125) -> tensor<1x8192x64xf32>
  return %o : tensor<1x8192x64xf32>
}

// -----

// Short sequences: the chunks are clamped to them.
// CHECK-LABEL: func.func @short_keys
// CHECK: memred.chunked_attention {{.*}} chunks(128, 100)
func.func @short_keys(%q: tensor<64x4096x16xf32>, %k: tensor<64x100x16xf32>) -> tensor<64x4096x16xf32> {
  %e = tensor.empty() : tensor<64x4096x16xf32>
  %o = memred.attention ins(%q, %k, %k : tensor<64x4096x16xf32>, tensor<64x100x16xf32>, tensor<64x100x16xf32>)
         outs(%e : tensor<64x4096x16xf32>) scale(0.25) -> tensor<64x4096x16xf32>
  return %o : tensor<64x4096x16xf32>
}
