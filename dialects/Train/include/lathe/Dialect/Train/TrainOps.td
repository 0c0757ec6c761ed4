//===- TrainOps.td - Optimizer ops -------------------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_TRAIN_TRAINOPS
#define LATHE_DIALECT_TRAIN_TRAINOPS

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Train_Dialect : Dialect {
  let name = "train";
  let cppNamespace = "::mlir::lathe::train";
  let summary = "Optimizer updates, gradient clipping and learning-rate schedules";
  let description = [{
    The parts of a training step that are not the gradient: what an
    optimizer does with the gradients (`train.sgd`, `train.adamw`), clipping
    by the global norm (`train.clip_by_global_norm`) and the learning-rate
    schedule (`train.warmup_cosine`), on tensors. `train-lower-to-linalg`
    turns each update into one element-wise `linalg.generic` with several
    outputs, so parameters, optimizer state and gradients are read once
    (PyTorch's "fused" optimizers). The formulas are PyTorch's
    (`torch.optim.SGD`, `torch.optim.AdamW`, `clip_grad_norm_`), so a model
    trained by Lathe follows the same trajectory as one trained by PyTorch.
    See docs/Training.md.
  }];
}

class Train_Op<string mnemonic, list<Trait> traits = []>
    : Op<Train_Dialect, mnemonic, traits>;

def Train_SGDOp : Train_Op<"sgd", [Pure,
    AllTypesMatch<["param", "grad", "momentum_buffer", "new_param",
                   "new_momentum_buffer"]>]> {
  let summary = "SGD with momentum and (coupled) weight decay";
  let description = [{
    With `g = grad + weight_decay * param`:
    `buf' = momentum * buf + g`, `param' = param - lr * buf'`
    (`nesterov`: `param' = param - lr * (g + momentum * buf')`). The buffer
    starts at zero, which gives PyTorch's first step (`buf = g`).
  }];
  let arguments = (ins AnyRankedTensor:$param, AnyRankedTensor:$grad,
                       AnyRankedTensor:$momentum_buffer, F32:$lr,
                       DefaultValuedAttr<F32Attr, "0.0">:$momentum,
                       DefaultValuedAttr<F32Attr, "0.0">:$weight_decay,
                       UnitAttr:$nesterov);
  let results = (outs AnyRankedTensor:$new_param,
                      AnyRankedTensor:$new_momentum_buffer);
  let assemblyFormat = [{
    $param `,` $grad `,` $momentum_buffer `lr` `(` $lr `)` attr-dict `:`
    type($param)
  }];
  let hasVerifier = 1;
}

def Train_AdamWOp : Train_Op<"adamw", [Pure,
    AllTypesMatch<["param", "grad", "m", "v", "new_param", "new_m",
                   "new_v"]>]> {
  let summary = "Adam with decoupled weight decay (AdamW)";
  let description = [{
    For step `t` (1 for the first update):
    `param <- param * (1 - lr * weight_decay)`,
    `m' = beta1 * m + (1 - beta1) * grad`,
    `v' = beta2 * v + (1 - beta2) * grad^2`,
    `param' = param - lr * (m' / (1 - beta1^t)) / (sqrt(v' / (1 - beta2^t)) + eps)`.
  }];
  let arguments = (ins AnyRankedTensor:$param, AnyRankedTensor:$grad,
                       AnyRankedTensor:$m, AnyRankedTensor:$v, F32:$lr,
                       F32:$step,
                       DefaultValuedAttr<F32Attr, "0.9">:$beta1,
                       DefaultValuedAttr<F32Attr, "0.999">:$beta2,
                       DefaultValuedAttr<F32Attr, "1.0e-8">:$eps,
                       DefaultValuedAttr<F32Attr, "0.01">:$weight_decay);
  let results = (outs AnyRankedTensor:$new_param, AnyRankedTensor:$new_m,
                      AnyRankedTensor:$new_v);
  let assemblyFormat = [{
    $param `,` $grad `,` $m `,` $v `lr` `(` $lr `)` `step` `(` $step `)`
    attr-dict `:` type($param)
  }];
  let hasVerifier = 1;
}

def Train_ClipByGlobalNormOp : Train_Op<"clip_by_global_norm", [Pure,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "Scale gradients so that their joint L2 norm is at most max_norm";
  let description = [{
    `norm = sqrt(sum over all tensors of sum(g^2))`; every gradient is
    multiplied by `min(1, max_norm / (norm + 1e-6))`, as
    `torch.nn.utils.clip_grad_norm_`. Also returns the norm (before
    clipping). A non-finite norm propagates into the gradients.
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$grads, F32Attr:$max_norm);
  let results = (outs Variadic<AnyRankedTensor>:$clipped, F32:$norm);
  let assemblyFormat = "$grads attr-dict `:` type($grads)";
  let hasVerifier = 1;
}

def Train_WarmupCosineOp : Train_Op<"warmup_cosine", [Pure]> {
  let summary = "Learning rate: linear warm-up, then cosine decay";
  let description = [{
    For step `s` (0-based, f32): `base_lr * (s + 1) / warmup_steps` while
    `s < warmup_steps`; then, with `p = min(1, (s - warmup_steps) /
    max(1, total_steps - warmup_steps))`,
    `min_lr + 0.5 * (base_lr - min_lr) * (1 + cos(pi * p))`.
  }];
  let arguments = (ins F32:$step, F32Attr:$base_lr,
                       DefaultValuedAttr<F32Attr, "0.0">:$min_lr,
                       I64Attr:$warmup_steps, I64Attr:$total_steps);
  let results = (outs F32:$lr);
  let assemblyFormat = "$step attr-dict";
  let hasVerifier = 1;
}

#endif // LATHE_DIALECT_TRAIN_TRAINOPS
