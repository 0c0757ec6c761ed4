// RUN: lathe-opt %s --split-input-file --lowrank-select-ranks="max-error=0.01" 2>/dev/null | FileCheck %s
// RUN: lathe-opt %s --split-input-file --lowrank-select-ranks="max-error=0.01" 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-error=0.1" 2>/dev/null | FileCheck %s --check-prefix=FLAT
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-error=0.1 min-saving=0.9" 2>/dev/null | FileCheck %s --check-prefix=MINSAVE
// The baselines on the same budget: a per-layer threshold (0.1 of each layer's own norm)
// cannot touch %a (dropping 1.0 of its 101 energy is a 10% relative error, over 0.1² of
// its own energy) but keeps rank 2; one uniform rank for both layers must be 3 or more
// for %b's flat spectrum, which then fits no budget, so everything stays dense.
// Measured latencies in a target description take precedence over its roofline: only
// rank 32 is cheap on the "table" target (every other shape pays a 1 ms call overhead).
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/table.json --lowrank-select-ranks="max-error=0.01" 2>/dev/null | FileCheck %s --check-prefix=TABLE
// Measured convolutions price Tucker-2 candidates: only the three convolutions
// of rank 16 of @conv are cheap on "conv-table" (rank 8 would be the cheaper
// choice under its roofline), at batch 1 (priced) and 64 (also recorded).
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/conv-table.json --lowrank-select-ranks="max-error=0.01" 2>/dev/null | FileCheck %s --check-prefix=CONVTABLE
// error-norm=spectral: (σ_{r+1}/σ_1)² per layer; %a at rank 2 costs (0.1/10)² = 1e-4 of the
// 0.05² budget, rank 1 would cost 1e-2.
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-error=0.05 error-norm=spectral" 2>/dev/null | FileCheck %s --check-prefix=SPECTRAL
// error-norm=relative: Σ_l ‖W_l − Ŵ_l‖² / ‖W_l‖² within 0.1²: %a at rank 1 drops 1.0105 of its
// 101.0105 (0.010004, over the budget, where the energy-weighted norm allowed it against the
// total 109.0105), at rank 2 0.0105 (1.04e-4: model error 0.0102); %b drops at least 1/8.
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-error=0.1 error-norm=relative" 2>/dev/null | FileCheck %s --check-prefix=RELATIVE
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-error=0.1 strategy=threshold" 2>/dev/null | FileCheck %s --check-prefix=THRESHOLD
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-error=0.1 strategy=uniform" 2>/dev/null | FileCheck %s --check-prefix=UNIFORM
// max-latency: the least model error whose predicted latency is within the fraction of the
// dense layers'. On "flat" @global's layers cost 4 units dense and r units at rank r (r <= 3).
// Spectral errors: %a rank r costs (σ_{r+1}/σ_1)² = 1e-2, 1e-4, 1e-6, %b (flat) 1 at any rank.
// At 0.5 (4 of 8 units) neither can stay dense; the least is %a rank 3 + %b rank 1
// (1.000001; rank 2 + 2: 1.0001, rank 1 + 3: 1.01). At 0.75 (6 units) %a rank 2 + %b dense
// (1e-4: model error 0.01; %a 3 + %b 3 would cost 1.000001). Frobenius at 0.75 (Σ‖W‖² dropped:
// %a 1.0105, 0.0105, 0.0005 at rank 1, 2, 3; %b 8 − r; total energy 109.0105): the same
// choice, model error sqrt(0.0105 / 109.0105) = 0.0098. At 0.1 nothing fits: a warning, and
// the fastest choice (rank 1 + rank 1, 2 units).
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-latency=0.5 error-norm=spectral" 2>/dev/null | FileCheck %s --check-prefix=LAT50
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-latency=0.75 error-norm=spectral" 2>/dev/null | FileCheck %s --check-prefix=LAT75
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-latency=0.75" 2>&1 >/dev/null | FileCheck %s --check-prefix=LAT75F-REMARK
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-latency=0.75" 2>/dev/null | FileCheck %s --check-prefix=LAT75F
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-latency=0.1" 2>&1 | FileCheck %s --check-prefix=LAT10

// Bad options and bad inputs: a diagnostic and a pass failure, each.
// RUN: not lathe-opt %s --lowrank-select-ranks="max-latency=0" 2>&1 | FileCheck %s --check-prefix=ERR-LAT
// RUN: not lathe-opt %s --lowrank-select-ranks="max-latency=1.5" 2>&1 | FileCheck %s --check-prefix=ERR-LAT
// RUN: not lathe-opt %s --lowrank-select-ranks="max-latency=-0.2" 2>&1 | FileCheck %s --check-prefix=ERR-LAT
// RUN: not lathe-opt %s --lowrank-select-ranks="max-latency=nan" 2>&1 | FileCheck %s --check-prefix=ERR-LAT
// RUN: not lathe-opt %s --lowrank-select-ranks="max-latency=0.5 max-error=0.1" 2>&1 | FileCheck %s --check-prefix=ERR-BOTH
// RUN: not lathe-opt %s --lowrank-select-ranks="max-latency=0.5 strategy=uniform" 2>&1 | FileCheck %s --check-prefix=ERR-LAT-STRATEGY
// RUN: not lathe-opt %s --lowrank-select-ranks="max-error=1.0" 2>&1 | FileCheck %s --check-prefix=ERR-MAX
// RUN: not lathe-opt %s --lowrank-select-ranks="max-error=-0.1" 2>&1 | FileCheck %s --check-prefix=ERR-MAX
// RUN: not lathe-opt %s --lowrank-select-ranks="min-saving=1.5" 2>&1 | FileCheck %s --check-prefix=ERR-SAVE
// RUN: not lathe-opt %s --lowrank-select-ranks="granularity=0" 2>&1 | FileCheck %s --check-prefix=ERR-GRAN
// RUN: not lathe-opt %s --lowrank-select-ranks="batch=-2" 2>&1 | FileCheck %s --check-prefix=ERR-BATCH
// RUN: not lathe-opt %s --lowrank-select-ranks="strategy=random" 2>&1 | FileCheck %s --check-prefix=ERR-STRATEGY
// RUN: not lathe-opt %s --lowrank-select-ranks="error-norm=nuclear" 2>&1 | FileCheck %s --check-prefix=ERR-NORM
// RUN: not lathe-opt %s --lathe-attach-target=%S/Inputs/missing.json --lowrank-select-ranks 2>&1 | FileCheck %s --check-prefix=ERR-MISSING
// RUN: not lathe-opt %s --lathe-attach-target=%S/Inputs/malformed.json --lowrank-select-ranks 2>&1 | FileCheck %s --check-prefix=ERR-MALFORMED
// RUN: not lathe-opt %s --lathe-attach-target=%S/Inputs/incomplete.json --lowrank-select-ranks 2>&1 | FileCheck %s --check-prefix=ERR-INCOMPLETE
// RUN: not lathe-opt %s --lathe-attach-target=%S/Inputs/bad-table.json --lowrank-select-ranks 2>&1 | FileCheck %s --check-prefix=ERR-TABLE
// RUN: not lathe-opt %s --lathe-attach-target=%S/Inputs/bad-conv-table.json --lowrank-select-ranks 2>&1 | FileCheck %s --check-prefix=ERR-CONV
// RUN: not lathe-opt %s --lathe-attach-target=%S/Inputs/conv-not-array.json --lowrank-select-ranks 2>&1 | FileCheck %s --check-prefix=ERR-CONV-ARRAY
// RUN: not lathe-opt %S/Inputs/nan-weight.mlir --lowrank-select-ranks 2>&1 | FileCheck %s --check-prefix=ERR-NAN
// RUN: not lathe-opt %S/Inputs/inf-weight.mlir --lowrank-select-ranks 2>&1 | FileCheck %s --check-prefix=ERR-NAN
// ERR-MAX: error: lowrank-select-ranks: max-error must be in [0, 1), got
// ERR-LAT: error: lowrank-select-ranks: max-latency must be in (0, 1] (a fraction of the dense layers' predicted latency), got
// ERR-BOTH: error: lowrank-select-ranks: give max-error or max-latency, not both
// ERR-LAT-STRATEGY: error: lowrank-select-ranks: max-latency needs strategy=global
// ERR-SAVE: error: lowrank-select-ranks: min-saving must be in [0, 1), got 1.5
// ERR-GRAN: error: lowrank-select-ranks: granularity must be a positive rank multiple, got 0
// ERR-BATCH: error: lowrank-select-ranks: batch must be >= 0, got -2
// ERR-NORM: for the --error-norm option: unknown value 'nuclear' (expected one of: frobenius, relative, spectral)
// ERR-STRATEGY: for the --strategy option: unknown value 'random' (expected one of: global, uniform, threshold)
// ERR-MISSING: error: lathe-attach-target: cannot read target description '{{.*}}missing.json'
// ERR-MALFORMED: error: lathe-attach-target: target description '{{.*}}malformed.json': malformed JSON
// ERR-INCOMPLETE: error: target 'incomplete': table 'lowrank': key 'peak_gflops': missing (expected a positive number)
// ERR-TABLE: error: target 'bad-table': table 'lowrank': key 'matmul': entry 0: expected {m, n, k, us} with positive sizes and a non-negative latency, got {k = 256 : i64, m = 64 : i64, n = 256 : i64}
// ERR-CONV: error: target '{{.*}}': table 'lowrank': key 'conv': entry 1: expected {n, c, h, w, f, kh, kw, us} (optional sh, sw, dh, dw) with positive sizes, a window that fits the input and a non-negative latency
// ERR-CONV-ARRAY: error: target '{{.*}}': table 'lowrank': key 'conv': expected an array of dictionaries
// ERR-NAN: error: has a constant weight with NaN or Inf values; lowrank-select-ranks cannot factorize it

// A rank-1 weight (a splat) used transposed, [N, K] = [256, 256], with a
// bias-add consumer: the smallest candidate rank (16, the cpu granularity)
// loses nothing and the bias is fused.
// CHECK-LABEL: func.func @linear_transposed
// CHECK-SAME: (%[[X:.*]]: tensor<64x256xf32>)
// CHECK-DAG: %[[B:.*]] = arith.constant dense<5.000000e-01> : tensor<256xf32>
// CHECK-DAG: %[[U:.*]] = arith.constant dense<{{.*}}> : tensor<256x16xf32>
// CHECK-DAG: %[[V:.*]] = arith.constant dense<{{.*}}> : tensor<16x256xf32>
// CHECK: %[[Y:.*]] = lowrank.linear %[[X]], %[[U]], %[[V]] bias(%[[B]])
// CHECK-SAME: {lathe.decision = #lowrank.decision<action = "factorize", rank = 16, energy = {{1\.0|1\.0000[0-9]*|0\.9999[0-9]*}},
// CHECK-SAME: target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.01,
// CHECK-NOT: linalg.matmul
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
// REMARK: remark: lowrank-select-ranks: rank 16 of 256, energy kept 1.0000 (0.00 % of the weight's energy dropped), predicted latency
// TABLE-LABEL: func.func @linear_transposed
// TABLE: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 32, energy = {{1\.0|1\.0000[0-9]*|0\.9999[0-9]*}}, latency_before_us = {{[^,]*}}, latency_after_us = 2.0, {{.*}}target = "table"
// TABLE-LABEL: func.func @linear_plain_dynamic
// TABLE: linalg.matmul {{.*}}lathe.decision = #lowrank.decision<action = "dense"
func.func @linear_transposed(%x: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %w = arith.constant dense<1.0> : tensor<256x256xf32>
  %b = arith.constant dense<0.5> : tensor<256xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x256xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<64x256xf32>) -> tensor<64x256xf32>
  %mm = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
          ins(%x, %w : tensor<64x256xf32>, tensor<256x256xf32>) outs(%fill : tensor<64x256xf32>) -> tensor<64x256xf32>
  %e2 = tensor.empty() : tensor<64x256xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
         ins(%mm, %b : tensor<64x256xf32>, tensor<256xf32>) outs(%e2 : tensor<64x256xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    linalg.yield %s : f32
  } -> tensor<64x256xf32>
  return %y : tensor<64x256xf32>
}

// -----

// The plain [K, N] layout, no bias, a dynamic batch (priced at 64 rows).
// CHECK-LABEL: func.func @linear_plain_dynamic
// CHECK: lowrank.linear %{{.*}}, %{{.*}}, %{{.*}} {lathe.decision = #lowrank.decision<action = "factorize", rank = 16,
// CHECK-SAME: (tensor<?x512xf32>, tensor<128x16xf32>, tensor<16x512xf32>) -> tensor<?x128xf32>
func.func @linear_plain_dynamic(%x: tensor<?x512xf32>) -> tensor<?x128xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x512xf32>
  %w = arith.constant dense<2.0> : tensor<512x128xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<?x128xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<?x128xf32>) -> tensor<?x128xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<?x512xf32>, tensor<512x128xf32>) outs(%fill : tensor<?x128xf32>) -> tensor<?x128xf32>
  return %mm : tensor<?x128xf32>
}

// -----

// A weight that is not a constant is left alone, with a remark.
// CHECK-LABEL: func.func @not_constant
// CHECK: linalg.matmul
// CHECK-NOT: lowrank.linear
// REMARK: remark: lowrank-select-ranks: weight is not a constant; left dense
func.func @not_constant(%x: tensor<64x256xf32>, %w: tensor<256x256xf32>) -> tensor<64x256xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x256xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<64x256xf32>) -> tensor<64x256xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<64x256xf32>, tensor<256x256xf32>) outs(%fill : tensor<64x256xf32>) -> tensor<64x256xf32>
  return %mm : tensor<64x256xf32>
}

// -----

// An accumulating matmul (its init is not a zero fill) is left alone.
// CHECK-LABEL: func.func @accumulating
// CHECK: linalg.matmul
// REMARK: remark: lowrank-select-ranks: accumulating matmul left dense
func.func @accumulating(%x: tensor<64x256xf32>, %acc: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %w = arith.constant dense<1.0> : tensor<256x256xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<64x256xf32>, tensor<256x256xf32>) outs(%acc : tensor<64x256xf32>) -> tensor<64x256xf32>
  return %mm : tensor<64x256xf32>
}

// -----

// Small layers: on the cpu target two library calls cost more than one, so
// the hardware-aware choice keeps them dense (and says so). On the "flat"
// test target (no call overhead) the global allocation spends the budget
// where the spectrum decays: %a (diag 10, 1, 0.1, 0.01...) drops to rank 1,
// the flat identity %b keeps its full rank.
// CHECK-LABEL: func.func @global
// CHECK-NOT: lowrank.linear
// CHECK: linalg.matmul {{.*}}lathe.decision = #lowrank.decision<action = "dense"
// CHECK: linalg.matmul {{.*}}lathe.decision = #lowrank.decision<action = "dense"
// REMARK: remark: lowrank-select-ranks: kept dense
// FLAT-LABEL: func.func @global
// FLAT: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 1, {{.*}}target = "flat",
// FLAT-SAME: -> tensor<4x8xf32>
// FLAT: linalg.matmul {{.*}}lathe.decision = #lowrank.decision<action = "dense"
// SPECTRAL-LABEL: func.func @global
// SPECTRAL: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 2,
// SPECTRAL: linalg.matmul {{.*}}lathe.decision = #lowrank.decision<action = "dense"
// RELATIVE-LABEL: func.func @global
// RELATIVE: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 2,
// RELATIVE-SAME: error_norm = "relative"{{.*}}model_error = {{0\.0101[0-9]*|0\.01009[0-9]*}},
// RELATIVE: linalg.matmul {{.*}}lathe.decision = #lowrank.decision<action = "dense"
// THRESHOLD-LABEL: func.func @global
// THRESHOLD: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 2,
// THRESHOLD: linalg.matmul {{.*}}lathe.decision = #lowrank.decision<action = "dense"
// UNIFORM-LABEL: func.func @global
// UNIFORM-NOT: lowrank.linear
// UNIFORM: return
// MINSAVE-LABEL: func.func @global
// LAT50-LABEL: func.func @global
// LAT50: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 3,
// LAT50-SAME: budget = "max_latency", budget_limit = 0.5, model_error = {{1\.0|1\.0000[0-9]*|0\.9999[0-9]*}}, model_latency = {{0\.5|0\.49999[0-9]*}}>
// LAT50: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 1,
// LAT75-LABEL: func.func @global
// LAT75: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 2,
// LAT75-SAME: model_error = {{0\.01|0\.0100[0-9]*|0\.00999[0-9]*}}, model_latency = {{0\.75|0\.74999[0-9]*}}>
// LAT75: linalg.matmul {{.*}}lathe.decision = #lowrank.decision<action = "dense"
// LAT75F-LABEL: func.func @global
// LAT75F: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 2,
// LAT75F: linalg.matmul {{.*}}lathe.decision = #lowrank.decision<action = "dense"
// LAT75F-REMARK: remark: lowrank-select-ranks: global allocation under max-latency=0.75 (frobenius): model error 0.0098, predicted latency 0.7500 of dense
// LAT10: warning: lowrank-select-ranks: max-latency=0.1 cannot be met: the fastest choice of candidate ranks reaches 0.2500 of the dense latency; using it
// LAT10: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 1,
// LAT10: lowrank.linear {{.*}}lathe.decision = #lowrank.decision<action = "factorize", rank = 1,
// MINSAVE-NOT: lowrank.linear
func.func @global(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %a = arith.constant dense<[[10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.01, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.01, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.01, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.01, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.01]]> : tensor<8x8xf32>
  %b = arith.constant dense<[[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %ya = linalg.matmul ins(%x, %a : tensor<4x8xf32>, tensor<8x8xf32>) outs(%fill : tensor<4x8xf32>) -> tensor<4x8xf32>
  %yb = linalg.matmul ins(%x, %b : tensor<4x8xf32>, tensor<8x8xf32>) outs(%fill : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %ya, %yb : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Tucker-2: a rank-1 (splat) 3x3 filter [32, 16, 3, 3]. On the flat target
// (granularity 1) rank 1 is exact and cheapest.
// FLAT-LABEL: func.func @conv
// FLAT: %[[T:.*]] = lowrank.conv2d_tucker %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^ ]*}} bias(%{{[^)]*}})
// FLAT-SAME: lathe.decision = #lowrank.decision<action = "factorize", rank = 1, energy = {{1\.0|1\.0000[0-9]*|0\.9999[0-9]*}}
// FLAT-SAME: (tensor<1x16x10x10xf32>, tensor<1x16xf32>, tensor<1x1x3x3xf32>, tensor<32x1xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf32>
// FLAT: return %[[T]]
// CONVTABLE-LABEL: func.func @conv
// CONVTABLE: lowrank.conv2d_tucker
// CONVTABLE-SAME: lathe.decision = #lowrank.decision<action = "factorize", rank = 16, energy = {{1\.0|1\.0000[0-9]*|0\.9999[0-9]*}}, latency_before_us = {{[^,]*}}, latency_after_us = 3.0,
// CONVTABLE-SAME: latency_after_b1_us = 3.0, {{.*}}latency_after_b64_us = 6.0, target = "conv-table", strategy = "global"
func.func @conv(%x: tensor<1x16x10x10xf32>) -> tensor<1x32x8x8xf32> {
  %w = arith.constant dense<0.25> : tensor<32x16x3x3xf32>
  %b = arith.constant dense<1.0> : tensor<32xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x32x8x8xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x16x10x10xf32>, tensor<32x16x3x3xf32>) outs(%fill : tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  %e2 = tensor.empty() : tensor<1x32x8x8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%c, %b : tensor<1x32x8x8xf32>, tensor<32xf32>) outs(%e2 : tensor<1x32x8x8xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    linalg.yield %s : f32
  } -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}
