// RUN: lathe-opt %s --split-input-file --verify-diagnostics

func.func @beta(%p: tensor<4xf32>, %lr: f32) {
  // expected-error @+1 {{beta1 and beta2 must be in [0, 1)}}
  %a, %b, %c = train.adamw %p, %p, %p, %p lr(%lr) step(%lr) {beta1 = 1.0 : f32} : tensor<4xf32>
  return
}

// -----

func.func @int_param(%p: tensor<4xi32>, %lr: f32) {
  // expected-error @+1 {{expects floating-point tensors, got 'tensor<4xi32>'}}
  %a, %b = train.sgd %p, %p, %p lr(%lr) : tensor<4xi32>
  return
}

// -----

func.func @nesterov(%p: tensor<4xf32>, %lr: f32) {
  // expected-error @+1 {{nesterov needs a positive momentum}}
  %a, %b = train.sgd %p, %p, %p lr(%lr) {nesterov} : tensor<4xf32>
  return
}

// -----

func.func @clip(%g: tensor<4xi32>) {
  // expected-error @+1 {{expects floating-point tensors, got 'tensor<4xi32>'}}
  %a, %n = train.clip_by_global_norm %g {max_norm = 1.0 : f32} : tensor<4xi32>
  return
}

// -----

func.func @schedule(%s: f32) {
  // expected-error @+1 {{needs 0 <= warmup_steps <= total_steps and total_steps >= 1, got 20 and 10}}
  %l = train.warmup_cosine %s {base_lr = 0.1 : f32, warmup_steps = 20, total_steps = 10}
  return
}
