// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=64}))' --verify-diagnostics
// RUN: not lathe-opt %s --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=12XB}))' 2>&1 | FileCheck %s --check-prefix=PARSE
// RUN: not lathe-opt %s --pass-pipeline='builtin.module(func.func(memred-bound-memory))' 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not lathe-opt %s --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1MiB workers=0}))' 2>&1 | FileCheck %s --check-prefix=WORKERS

// PARSE: cannot parse budget '12XB' (expected bytes, or a number with a KiB, MiB or GiB suffix, e.g. budget=64MiB)
// EMPTY: cannot parse budget ''
// WORKERS: expects workers >= 1, got 0

// A 64-byte budget cannot hold one 1 x 1 block with a 64-wide accumulator.
func.func @too_small(%q: tensor<1x1024x64xf32>) -> tensor<1x1024x64xf32> {
  %e = tensor.empty() : tensor<1x1024x64xf32>
  // expected-error @+1 {{'memred.attention' op cannot be bounded to 64 bytes: even a 1 x 1 chunk needs 536 bytes with 2 workers (score block, 64-wide accumulator, row statistics); raise the budget}}
  %o = memred.attention ins(%q, %q, %q : tensor<1x1024x64xf32>, tensor<1x1024x64xf32>, tensor<1x1024x64xf32>)
         outs(%e : tensor<1x1024x64xf32>) scale(0.125) -> tensor<1x1024x64xf32>
  return %o : tensor<1x1024x64xf32>
}

// -----

func.func @dynamic(%q: tensor<1x?x64xf32>, %e: tensor<1x?x64xf32>) -> tensor<1x?x64xf32> {
  // expected-error @+1 {{has dynamic sizes: memred-bound-memory cannot tell whether its scores fit the budget of 64 bytes (make the sequence lengths static)}}
  %o = memred.attention ins(%q, %q, %q : tensor<1x?x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>)
         outs(%e : tensor<1x?x64xf32>) scale(0.125) -> tensor<1x?x64xf32>
  return %o : tensor<1x?x64xf32>
}
