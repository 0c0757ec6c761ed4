// RUN: lathe-opt %s -split-input-file -verify-diagnostics

func.func @f64(%x: tensor<4x64xf64>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{supports f32 operands only}}
  %y = lowrank.linear %x, %u, %v : (tensor<4x64xf64>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @f64_result(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf64> {
  // expected-error @+1 {{supports f32 results only}}
  %y = lowrank.linear %x, %u, %v : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf64>
  return %y : tensor<4x32xf64>
}

// -----

func.func @input_rank(%x: tensor<64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<32xf32> {
  // expected-error @+1 {{expects an input of rank 2 or 3, got rank 1}}
  %y = lowrank.linear %x, %u, %v : (tensor<64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<32xf32>
  return %y : tensor<32xf32>
}

// -----

func.func @factor_rank(%x: tensor<4x64xf32>, %u: tensor<32x8x1xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects rank-2 factors u [N, r] and v [r, K]}}
  %y = lowrank.linear %x, %u, %v : (tensor<4x64xf32>, tensor<32x8x1xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @dynamic_factor(%x: tensor<4x64xf32>, %u: tensor<32x?xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects statically shaped factors}}
  %y = lowrank.linear %x, %u, %v : (tensor<4x64xf32>, tensor<32x?xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @shared_rank(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<16x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects the factors to share the rank: u is [32, 8] (r = 8), v is [16, 64]}}
  %y = lowrank.linear %x, %u, %v : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<16x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @rank_too_big(%x: tensor<4x16xf32>, %u: tensor<32x20xf32>, %v: tensor<20x16xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects 0 < rank <= min(N, K) = 16, got rank 20}}
  %y = lowrank.linear %x, %u, %v : (tensor<4x16xf32>, tensor<32x20xf32>, tensor<20x16xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @rank_zero(%x: tensor<4x16xf32>, %u: tensor<32x0xf32>, %v: tensor<0x16xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects 0 < rank <= min(N, K) = 16, got rank 0}}
  %y = lowrank.linear %x, %u, %v : (tensor<4x16xf32>, tensor<32x0xf32>, tensor<0x16xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @input_k(%x: tensor<4x60xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects the input's last dimension (60) to equal K = 64 (the columns of v)}}
  %y = lowrank.linear %x, %u, %v : (tensor<4x60xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @result_rank(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<1x4x32xf32> {
  // expected-error @+1 {{expects a result of rank 2 (the input rank)}}
  %y = lowrank.linear %x, %u, %v : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<1x4x32xf32>
  return %y : tensor<1x4x32xf32>
}

// -----

func.func @result_shape(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x30xf32> {
  // expected-error @+1 {{expects a result of shape [4, 32] (N = rows of u)}}
  %y = lowrank.linear %x, %u, %v : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x30xf32>
  return %y : tensor<4x30xf32>
}

// -----

func.func @bias_shape(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>, %b: tensor<64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects a bias of shape [32]}}
  %y = lowrank.linear %x, %u, %v bias(%b) : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>, tensor<64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @decision_rank(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{has a decision for rank 16 but factors of rank 8}}
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "factorize", rank = 16, energy = 0.9, latency_before_us = 1.0, latency_after_us = 0.5, latency_before_b1_us = 0.25, latency_after_b1_us = 0.125, latency_before_b64_us = 4.0, latency_after_b64_us = 2.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.04, model_latency = 0.5>} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @decision_energy(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects the energy kept in [0, 1], got 1.5}}
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "factorize", rank = 8, energy = 1.5, latency_before_us = 1.0, latency_after_us = 0.5, latency_before_b1_us = 0.25, latency_after_b1_us = 0.125, latency_before_b64_us = 4.0, latency_after_b64_us = 2.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.04, model_latency = 0.5>} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @decision_rank_positive(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects a positive rank, got 0}}
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "factorize", rank = 0, energy = 0.9, latency_before_us = 1.0, latency_after_us = 0.5, latency_before_b1_us = 0.25, latency_after_b1_us = 0.125, latency_before_b64_us = 4.0, latency_after_b64_us = 2.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.04, model_latency = 0.5>} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @decision_latency(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects non-negative latencies}}
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "factorize", rank = 8, energy = 0.9, latency_before_us = -1.0, latency_after_us = 0.5, latency_before_b1_us = 0.25, latency_after_b1_us = 0.125, latency_before_b64_us = 4.0, latency_after_b64_us = 2.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.04, model_latency = 0.5>} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @decision_target(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects a non-empty target name}}
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "factorize", rank = 8, energy = 0.9, latency_before_us = 1.0, latency_after_us = 0.5, latency_before_b1_us = 0.25, latency_after_b1_us = 0.125, latency_before_b64_us = 4.0, latency_after_b64_us = 2.0, target = "", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.04, model_latency = 0.5>} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @decision_action(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects action "factorize" or "dense", got "prune"}}
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "prune", rank = 8, energy = 0.9, latency_before_us = 1.0, latency_after_us = 0.5, latency_before_b1_us = 0.25, latency_after_b1_us = 0.125, latency_before_b64_us = 4.0, latency_after_b64_us = 2.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.04, model_latency = 0.5>} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @decision_dense_on_factors(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{has a "dense" decision}}
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "dense", rank = 8, energy = 0.9, latency_before_us = 1.0, latency_after_us = 0.5, latency_before_b1_us = 0.25, latency_after_b1_us = 0.125, latency_before_b64_us = 4.0, latency_after_b64_us = 2.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.04, model_latency = 0.5>} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @decision_budget(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects budget "max_error" or "max_latency", got "max_flops"}}
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "factorize", rank = 8, energy = 0.9, latency_before_us = 1.0, latency_after_us = 0.5, latency_before_b1_us = 0.25, latency_after_b1_us = 0.125, latency_before_b64_us = 4.0, latency_after_b64_us = 2.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_flops", budget_limit = 0.05, model_error = 0.04, model_latency = 0.5>} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @decision_unknown_field(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{duplicate or unknown struct parameter name: targte}}
  %y = lowrank.linear %x, %u, %v {lathe.decision = #lowrank.decision<action = "factorize", rank = 8, energy = 0.9, latency_before_us = 1.0, latency_after_us = 0.5, latency_before_b1_us = 0.25, latency_after_b1_us = 0.125, latency_before_b64_us = 4.0, latency_after_b64_us = 2.0, targte = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.04, model_latency = 0.5>} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// The dictionary lathe.decision of earlier releases is no longer a decision.
func.func @decision_dictionary(%x: tensor<4x64xf32>, %u: tensor<32x8xf32>, %v: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{'lathe.decision' must be a decision attribute of the dialect that decided (e.g. #lowrank.decision<...>), got {action = "factorize", rank = 8 : i64}}}
  %y = lowrank.linear %x, %u, %v {lathe.decision = {action = "factorize", rank = 8}} : (tensor<4x64xf32>, tensor<32x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @tucker_f64(%x: tensor<1x16x10x10xf64>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{supports f32 operands only}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x16x10x10xf64>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

func.func @tucker_nchw(%x: tensor<16x10x10xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{expects NCHW input and result of rank 4}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<16x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

func.func @tucker_factor_ranks(%x: tensor<1x16x10x10xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{expects u_in [r, Cin], core [r, r, kh, kw] and u_out [Cout, r]}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x16x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

func.func @tucker_dynamic_factor(%x: tensor<1x16x10x10xf32>, %uin: tensor<?x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{expects statically shaped factors}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x16x10x10xf32>, tensor<?x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

func.func @tucker_strides(%x: tensor<1x16x10x10xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{expects two positive strides and two positive dilations}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout {strides = array<i64: 0, 1>} : (tensor<1x16x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

func.func @tucker_tied(%x: tensor<1x16x10x10xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x4x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{expects one tied rank r = 8 (rows of u_in): core is [8, 4, 3, 3], u_out is [32, 8]}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x16x10x10xf32>, tensor<8x16xf32>, tensor<8x4x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

func.func @tucker_rank(%x: tensor<1x4x10x10xf32>, %uin: tensor<8x4xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{expects 0 < rank <= min(Cin, Cout) = 4, got rank 8}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x4x10x10xf32>, tensor<8x4xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

func.func @tucker_cin(%x: tensor<1x12x10x10xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{expects 16 input channels (the columns of u_in), got 12}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x12x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

func.func @tucker_small(%x: tensor<1x16x2x2xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x1x1xf32> {
  // expected-error @+1 {{has an input of spatial size 2 smaller than the dilated kernel (3)}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x16x2x2xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x1x1xf32>
  return %y : tensor<1x32x1x1xf32>
}

// -----

func.func @tucker_result(%x: tensor<1x16x10x10xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x10x10xf32> {
  // expected-error @+1 {{expects a result of shape [1, 32, 8, 8]}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x16x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x10x10xf32>
  return %y : tensor<1x32x10x10xf32>
}

// -----

func.func @tucker_bias(%x: tensor<1x16x10x10xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>, %b: tensor<16xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{expects a bias of shape [32]}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout bias(%b) : (tensor<1x16x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>, tensor<16xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

func.func @tucker_decision(%x: tensor<1x16x10x10xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{has a decision for rank 4 but factors of rank 8}}
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout {lathe.decision = #lowrank.decision<action = "factorize", rank = 4, energy = 0.9, latency_before_us = 1.0, latency_after_us = 0.5, latency_before_b1_us = 0.25, latency_after_b1_us = 0.125, latency_before_b64_us = 4.0, latency_after_b64_us = 2.0, target = "cpu", strategy = "global", error_norm = "frobenius", budget = "max_error", budget_limit = 0.05, model_error = 0.04, model_latency = 0.5>} : (tensor<1x16x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}
