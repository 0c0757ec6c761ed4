// Three AdamW and three SGD (momentum, weight decay, and Nesterov) steps from
// zero state, gradient clipping by the global norm and the warm-up + cosine
// schedule, lowered by train-lower-to-linalg and run: compared with
// torch.optim.AdamW / SGD, clip_grad_norm_ and the formula (float64).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/optimizers_ref.py %t
// RUN: lathe-opt --train-lower-to-linalg %s | FileCheck %s --check-prefix=LOWERED
// RUN: lathe-run %s --entry=adamw --input=%t/p.npy --input=%t/g1.npy --input=%t/g2.npy --input=%t/g3.npy --output=%t/adamw.npy
// RUN: lathe-run %s --entry=sgd --input=%t/p.npy --input=%t/g1.npy --input=%t/g2.npy --input=%t/g3.npy --output=%t/sgd.npy --output=%t/nesterov.npy
// RUN: lathe-run %s --entry=clip --input=%t/g1.npy --input=%t/g2.npy --output=%t/c1.npy --output=%t/c2.npy --output=%t/norm.npy
// RUN: lathe-run %s --entry=schedule --output=%t/lr.npy
// RUN: %python %S/optimizers_ref.py %t --check

// One generic per update, one output per updated tensor.
// LOWERED-LABEL: func.func @adamw
// LOWERED: linalg.generic
// LOWERED: } -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>)
// LOWERED-NOT: train.

func.func @adamw(%p: tensor<3x4xf32>, %g1: tensor<3x4xf32>, %g2: tensor<3x4xf32>,
                 %g3: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x4xf32>
  %zero = linalg.fill ins(%z : f32) outs(%e : tensor<3x4xf32>) -> tensor<3x4xf32>
  %lr = arith.constant 0.05 : f32
  %t1 = arith.constant 1.0 : f32
  %t2 = arith.constant 2.0 : f32
  %t3 = arith.constant 3.0 : f32
  %p1, %m1, %v1 = train.adamw %p, %g1, %zero, %zero lr(%lr) step(%t1) {beta1 = 0.8 : f32, weight_decay = 0.1 : f32} : tensor<3x4xf32>
  %p2, %m2, %v2 = train.adamw %p1, %g2, %m1, %v1 lr(%lr) step(%t2) {beta1 = 0.8 : f32, weight_decay = 0.1 : f32} : tensor<3x4xf32>
  %p3, %m3, %v3 = train.adamw %p2, %g3, %m2, %v2 lr(%lr) step(%t3) {beta1 = 0.8 : f32, weight_decay = 0.1 : f32} : tensor<3x4xf32>
  return %p3 : tensor<3x4xf32>
}

func.func @sgd(%p: tensor<3x4xf32>, %g1: tensor<3x4xf32>, %g2: tensor<3x4xf32>,
               %g3: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x4xf32>
  %zero = linalg.fill ins(%z : f32) outs(%e : tensor<3x4xf32>) -> tensor<3x4xf32>
  %lr = arith.constant 0.1 : f32
  %p1, %b1 = train.sgd %p, %g1, %zero lr(%lr) {momentum = 0.9 : f32, weight_decay = 0.01 : f32} : tensor<3x4xf32>
  %p2, %b2 = train.sgd %p1, %g2, %b1 lr(%lr) {momentum = 0.9 : f32, weight_decay = 0.01 : f32} : tensor<3x4xf32>
  %p3, %b3 = train.sgd %p2, %g3, %b2 lr(%lr) {momentum = 0.9 : f32, weight_decay = 0.01 : f32} : tensor<3x4xf32>
  %q1, %c1 = train.sgd %p, %g1, %zero lr(%lr) {momentum = 0.9 : f32, nesterov} : tensor<3x4xf32>
  %q2, %c2 = train.sgd %q1, %g2, %c1 lr(%lr) {momentum = 0.9 : f32, nesterov} : tensor<3x4xf32>
  %q3, %c3 = train.sgd %q2, %g3, %c2 lr(%lr) {momentum = 0.9 : f32, nesterov} : tensor<3x4xf32>
  return %p3, %q3 : tensor<3x4xf32>, tensor<3x4xf32>
}

func.func @clip(%g1: tensor<3x4xf32>, %g2: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<f32>) {
  %c1, %c2, %n = train.clip_by_global_norm %g1, %g2 {max_norm = 1.5 : f32} : tensor<3x4xf32>, tensor<3x4xf32>
  %nt = tensor.from_elements %n : tensor<f32>
  return %c1, %c2, %nt : tensor<3x4xf32>, tensor<3x4xf32>, tensor<f32>
}

func.func @schedule() -> tensor<5xf32> {
  %s0 = arith.constant 0.0 : f32
  %s1 = arith.constant 9.0 : f32
  %s2 = arith.constant 10.0 : f32
  %s3 = arith.constant 55.0 : f32
  %s4 = arith.constant 200.0 : f32
  %l0 = train.warmup_cosine %s0 {base_lr = 0.1 : f32, min_lr = 0.001 : f32, warmup_steps = 10, total_steps = 100}
  %l1 = train.warmup_cosine %s1 {base_lr = 0.1 : f32, min_lr = 0.001 : f32, warmup_steps = 10, total_steps = 100}
  %l2 = train.warmup_cosine %s2 {base_lr = 0.1 : f32, min_lr = 0.001 : f32, warmup_steps = 10, total_steps = 100}
  %l3 = train.warmup_cosine %s3 {base_lr = 0.1 : f32, min_lr = 0.001 : f32, warmup_steps = 10, total_steps = 100}
  %l4 = train.warmup_cosine %s4 {base_lr = 0.1 : f32, min_lr = 0.001 : f32, warmup_steps = 10, total_steps = 100}
  %r = tensor.from_elements %l0, %l1, %l2, %l3, %l4 : tensor<5xf32>
  return %r : tensor<5xf32>
}
