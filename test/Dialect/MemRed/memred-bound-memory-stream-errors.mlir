// RUN: lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1GiB}))' --verify-diagnostics
// RUN: not lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1KiB}))' --mlir-print-op-on-diagnostic=false 2>&1 | FileCheck %s --check-prefix=SMALL
// RUN: not lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1MiB keep=0}))' 2>&1 | FileCheck %s --check-prefix=KEEP
// RUN: not lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1MiB policy=lru}))' 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: not lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1MiB recent=1.5}))' 2>&1 | FileCheck %s --check-prefix=RECENT
// RUN: not lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1MiB depth-decay=-1}))' 2>&1 | FileCheck %s --check-prefix=DECAY
// RUN: not lathe-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=1MiB recent=1 keep=1}))' --mlir-print-op-on-diagnostic=false 2>&1 | FileCheck %s --check-prefix=NEVER

// The smallest bank for 16-row frames holds 16 rows of 32 floats (2048
// bytes); its reduction of 32 rows needs 21 * 32 = 672 bytes of scratch.
// SMALL: error: memred-bound-memory: the streaming caches cannot be bounded to 1024 bytes: the smallest banks (16 rows of 32 floats, one 16-row frame each plus the reduction's room) and the reduction's scratch need 2720 bytes; raise the budget
// KEEP: error: memred-bound-memory: expects keep in (0, 1], got 0
// POLICY: for the --policy option: unknown value 'lru' (expected one of: adacm2, recent, random, merge)
// RECENT: error: memred-bound-memory: expects recent in (0, 1], got 1.5
// DECAY: error: memred-bound-memory: expects depth-decay in (0, 1], got -1
// NEVER: error: memred-bound-memory: with recent 1.000000e+00 and keep 1.000000e+00 a full bank never shrinks below its capacity (lower recent or keep)
func.func @ok(%frames: tensor<8x16x32xf32>, %q: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %empty = tensor.empty(%c0) : tensor<?x32xf32>
  %s = tensor.empty() : tensor<4x32xf32>
  %r:2 = scf.for %t = %c0 to %c8 step %c1 iter_args(%cache = %empty, %s0 = %s) -> (tensor<?x32xf32>, tensor<4x32xf32>) {
    %f = tensor.extract_slice %frames[%t, 0, 0] [1, 16, 32] [1, 1, 1] : tensor<8x16x32xf32> to tensor<16x32xf32>
    %g = tensor.concat dim(0) %cache, %f : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
    %a = memred.attention ins(%q, %g, %g : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s0 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    scf.yield %g, %a : tensor<?x32xf32>, tensor<4x32xf32>
  }
  return %r#1 : tensor<4x32xf32>
}

// -----

// Caches the pass leaves alone get a warning naming why; the attention on
// the still-unbounded cache then cannot be bounded.
func.func @read_elsewhere(%frames: tensor<8x16x32xf32>, %q: tensor<4x32xf32>) -> (tensor<4x32xf32>, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %empty = tensor.empty(%c0) : tensor<?x32xf32>
  %s = tensor.empty() : tensor<4x32xf32>
  // expected-warning @+1 {{memred-bound-memory: loop-carried 'tensor<?x32xf32>' #0 is not bounded: the grown cache is used by 'tensor.dim' (expected one memred.attention and the loop's yield)}}
  %r:3 = scf.for %t = %c0 to %c8 step %c1 iter_args(%cache = %empty, %s0 = %s, %n = %c0) -> (tensor<?x32xf32>, tensor<4x32xf32>, index) {
    %f = tensor.extract_slice %frames[%t, 0, 0] [1, 16, 32] [1, 1, 1] : tensor<8x16x32xf32> to tensor<16x32xf32>
    %g = tensor.concat dim(0) %cache, %f : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
    %rows = tensor.dim %g, %c0 : tensor<?x32xf32>
    // expected-error @+1 {{has dynamic sizes: memred-bound-memory cannot tell whether its scores fit}}
    %a = memred.attention ins(%q, %g, %g : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s0 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    scf.yield %g, %a, %rows : tensor<?x32xf32>, tensor<4x32xf32>, index
  }
  return %r#1, %r#2 : tensor<4x32xf32>, index
}

// -----

func.func @not_empty(%frames: tensor<8x16x32xf32>, %q: tensor<4x32xf32>, %start: tensor<?x32xf32>) -> tensor<4x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %s = tensor.empty() : tensor<4x32xf32>
  // expected-warning @+1 {{is not bounded: it does not start empty (expected a tensor with 0 rows)}}
  %r:2 = scf.for %t = %c0 to %c8 step %c1 iter_args(%cache = %start, %s0 = %s) -> (tensor<?x32xf32>, tensor<4x32xf32>) {
    %f = tensor.extract_slice %frames[%t, 0, 0] [1, 16, 32] [1, 1, 1] : tensor<8x16x32xf32> to tensor<16x32xf32>
    %g = tensor.concat dim(0) %cache, %f : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
    // expected-error @+1 {{has dynamic sizes}}
    %a = memred.attention ins(%q, %g, %g : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s0 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    scf.yield %g, %a : tensor<?x32xf32>, tensor<4x32xf32>
  }
  return %r#1 : tensor<4x32xf32>
}

// -----

// The cache is [?, 2, 16] (mismatched with the rank-2 attention's [?, C]).
func.func @rank3(%frames: tensor<8x16x2x16xf32>) -> tensor<?x2x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %empty = tensor.empty(%c0) : tensor<?x2x16xf32>
  // expected-warning @+1 {{is not bounded: its type tensor<?x2x16xf32> is not an f32 cache [?, C] with static C}}
  %r = scf.for %t = %c0 to %c8 step %c1 iter_args(%cache = %empty) -> (tensor<?x2x16xf32>) {
    %f = tensor.extract_slice %frames[%t, 0, 0, 0] [1, 16, 2, 16] [1, 1, 1, 1] : tensor<8x16x2x16xf32> to tensor<16x2x16xf32>
    %g = tensor.concat dim(0) %cache, %f : (tensor<?x2x16xf32>, tensor<16x2x16xf32>) -> tensor<?x2x16xf32>
    scf.yield %g : tensor<?x2x16xf32>
  }
  return %r : tensor<?x2x16xf32>
}

// -----

// Growing by insert_slice into a larger tensor.empty is not recognised.
func.func @insert_slice(%frames: tensor<8x16x32xf32>, %q: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %empty = tensor.empty(%c0) : tensor<?x32xf32>
  %s = tensor.empty() : tensor<4x32xf32>
  // expected-warning @+1 {{is not bounded: it grows by tensor.insert_slice; only a cache that grows by tensor.concat of itself and the frame is supported}}
  %r:2 = scf.for %t = %c0 to %c8 step %c1 iter_args(%cache = %empty, %s0 = %s) -> (tensor<?x32xf32>, tensor<4x32xf32>) {
    %f = tensor.extract_slice %frames[%t, 0, 0] [1, 16, 32] [1, 1, 1] : tensor<8x16x32xf32> to tensor<16x32xf32>
    %n = tensor.dim %cache, %c0 : tensor<?x32xf32>
    %m = arith.addi %n, %c16 : index
    %big = tensor.empty(%m) : tensor<?x32xf32>
    %a1 = tensor.insert_slice %cache into %big[0, 0] [%n, 32] [1, 1] : tensor<?x32xf32> into tensor<?x32xf32>
    %g = tensor.insert_slice %f into %a1[%n, 0] [16, 32] [1, 1] : tensor<16x32xf32> into tensor<?x32xf32>
    // expected-error @+1 {{has dynamic sizes}}
    %a = memred.attention ins(%q, %g, %g : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s0 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
    scf.yield %g, %a : tensor<?x32xf32>, tensor<4x32xf32>
  }
  return %r#1 : tensor<4x32xf32>
}

// -----

// The attention sits in a nested region: the bank could not be yielded.
func.func @nested(%frames: tensor<8x16x32xf32>, %q: tensor<4x32xf32>, %c: i1) -> tensor<4x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %empty = tensor.empty(%c0) : tensor<?x32xf32>
  %s = tensor.empty() : tensor<4x32xf32>
  // expected-warning @+1 {{is not bounded: its memred.attention is not directly in the loop body}}
  %r:2 = scf.for %t = %c0 to %c8 step %c1 iter_args(%cache = %empty, %s0 = %s) -> (tensor<?x32xf32>, tensor<4x32xf32>) {
    %f = tensor.extract_slice %frames[%t, 0, 0] [1, 16, 32] [1, 1, 1] : tensor<8x16x32xf32> to tensor<16x32xf32>
    %g = tensor.concat dim(0) %cache, %f : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
    %a = scf.if %c -> tensor<4x32xf32> {
      // expected-error @+1 {{has dynamic sizes}}
      %x = memred.attention ins(%q, %g, %g : tensor<4x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) outs(%s0 : tensor<4x32xf32>) scale(0.176776695) -> tensor<4x32xf32>
      scf.yield %x : tensor<4x32xf32>
    } else {
      scf.yield %s0 : tensor<4x32xf32>
    }
    scf.yield %g, %a : tensor<?x32xf32>, tensor<4x32xf32>
  }
  return %r#1 : tensor<4x32xf32>
}

// -----

// A dynamic loop-carried tensor that does not grow is not a cache: no
// warning, nothing changes.
func.func @not_a_cache(%x: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %r = scf.for %t = %c0 to %c8 step %c1 iter_args(%a = %x) -> (tensor<?x32xf32>) {
    %b = tensor.cast %a : tensor<?x32xf32> to tensor<?x32xf32>
    scf.yield %b : tensor<?x32xf32>
  }
  return %r : tensor<?x32xf32>
}
