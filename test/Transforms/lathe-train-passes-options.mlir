// lathe-append-loss's `kind` and lathe-make-train-step's `optimizer` are enum
// options: a misspelled value is an error that lists the allowed ones.
// RUN: not lathe-opt %s --lathe-append-loss=kind=hinge 2>&1 | FileCheck %s --check-prefix=LOSS
// RUN: not lathe-opt %s --lathe-make-train-step=optimizer=lion 2>&1 | FileCheck %s --check-prefix=OPTIMIZER
// RUN: lathe-opt %s --lathe-append-loss=kind=mse | FileCheck %s --check-prefix=MSE

// LOSS: for the --kind option: unknown value 'hinge' (expected one of: cross-entropy, mse)
// OPTIMIZER: for the --optimizer option: unknown value 'lion' (expected one of: sgd, adamw)
// MSE: func.func @loss(%{{.*}}: tensor<4x3xf32>, %{{.*}}: tensor<4x3xf32> {lathe.name = "labels"}) -> tensor<f32>
func.func @main(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  return %x : tensor<4x3xf32>
}
