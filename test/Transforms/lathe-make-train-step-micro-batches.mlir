// lathe-make-train-step{micro-batches=P}: every batch argument takes P parts
// of the gradient function's batch (dimension 0), the body runs once per part
// on rows [k*b, (k+1)*b), and the parts' losses and gradients are added in
// part order, then multiplied by 1/P (what P ranks of
// lathe-shard-data-parallel compute when their collectives add in rank
// order).
// RUN: lathe-opt %s -allow-unregistered-dialect -split-input-file -verify-diagnostics --lathe-make-train-step="micro-batches=3 optimizer=sgd" | FileCheck %s

// CHECK-LABEL: func.func @s_train_step
// CHECK-SAME: %[[W:[^:]+]]: tensor<3xf32> {lathe.param}
// CHECK-SAME: %[[X:[^:]+]]: tensor<6x3xf32>
// CHECK: %[[X0:.*]] = tensor.extract_slice %[[X]][0, 0] [2, 3] [1, 1] : tensor<6x3xf32> to tensor<2x3xf32>
// CHECK: %[[L0:.*]] = "test.loss"(%[[W]], %[[X0]])
// CHECK: %[[G0:.*]] = "test.grad"(%[[W]], %[[X0]])
// CHECK: %[[X1:.*]] = tensor.extract_slice %[[X]][2, 0] [2, 3] [1, 1]
// CHECK: %[[L1:.*]] = "test.loss"(%[[W]], %[[X1]])
// CHECK: %[[G1:.*]] = "test.grad"(%[[W]], %[[X1]])
// CHECK-DAG: %[[L01:.*]] = arith.addf %[[L0]], %[[L1]] : tensor<f32>
// CHECK-DAG: %[[G01:.*]] = arith.addf %[[G0]], %[[G1]] : tensor<3xf32>
// CHECK: %[[X2:.*]] = tensor.extract_slice %[[X]][4, 0] [2, 3] [1, 1]
// CHECK: %[[L2:.*]] = "test.loss"(%[[W]], %[[X2]])
// CHECK: %[[G2:.*]] = "test.grad"(%[[W]], %[[X2]])
// CHECK-DAG: %[[L012:.*]] = arith.addf %[[L01]], %[[L2]] : tensor<f32>
// CHECK-DAG: %[[G012:.*]] = arith.addf %[[G01]], %[[G2]] : tensor<3xf32>
// CHECK-DAG: %[[THIRD:.*]] = arith.constant dense<0.333333343> : tensor<3xf32>
// CHECK-DAG: %[[G:.*]] = arith.mulf %[[G012]], %[[THIRD]] : tensor<3xf32>
// CHECK-DAG: %[[L:.*]] = arith.mulf %[[L012]], %{{.*}} : tensor<f32>
// CHECK: %[[NEW:.*]], %{{.*}} = train.sgd %[[W]], %[[G]],
// CHECK: return %[[L]], %[[NEW]]
func.func @s_grad(%w: tensor<3xf32> {lathe.param}, %x: tensor<2x3xf32>) -> (tensor<f32>, tensor<3xf32>) {
  %l = "test.loss"(%w, %x) : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<f32>
  %g = "test.grad"(%w, %x) : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<3xf32>
  return %l, %g : tensor<f32>, tensor<3xf32>
}

// -----

// A dynamic batch stays dynamic: each part is a third of its rows, and the
// rows must be a multiple of 3 (checked at run time, not a dropped remainder).
// CHECK-LABEL: func.func @d_train_step
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x3xf32>
// CHECK: %[[N:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK: %[[REM:.*]] = arith.remui %[[N]], %[[P:.*]] : index
// CHECK: %[[EVEN:.*]] = arith.cmpi eq, %[[REM]], %{{.*}} : index
// CHECK: cf.assert %[[EVEN]], "lathe-make-train-step: micro-batches=3 needs the rows (dimension 0) of batch argument 'arg1' to be a multiple of 3"
// CHECK: %[[B:.*]] = arith.divui %[[N]], %{{.*}} : index
// CHECK: %[[AT:.*]] = arith.muli %[[B]], %{{.*}} : index
// CHECK: tensor.extract_slice %[[X]][%[[AT]], 0] [%[[B]], 3] [1, 1] : tensor<?x3xf32> to tensor<?x3xf32>
// CHECK-COUNT-2: tensor.extract_slice %[[X]]
// CHECK-NOT: cf.assert
func.func @d_grad(%w: tensor<3xf32> {lathe.param}, %x: tensor<?x3xf32>) -> (tensor<f32>, tensor<3xf32>) {
  %l = "test.loss"(%w, %x) : (tensor<3xf32>, tensor<?x3xf32>) -> tensor<f32>
  %g = "test.grad"(%w, %x) : (tensor<3xf32>, tensor<?x3xf32>) -> tensor<3xf32>
  return %l, %g : tensor<f32>, tensor<3xf32>
}

// -----

// expected-error @+1 {{lathe-make-train-step: micro-batches=3 splits dimension 0 of every batch argument, but argument #1 is 'tensor<f32>'}}
func.func @z_grad(%w: tensor<3xf32> {lathe.param}, %s: tensor<f32>) -> (tensor<f32>, tensor<3xf32>) {
  %g = "test.grad"(%w, %s) : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
  return %s, %g : tensor<f32>, tensor<3xf32>
}

// -----

// The loss and the gradients must be float tensors.
// expected-error @+1 {{lathe-make-train-step: @f_grad result #0 (the loss) must be a ranked float tensor, got 'f32'}}
func.func @f_grad(%w: tensor<3xf32> {lathe.param}, %x: tensor<2x3xf32>) -> (f32, tensor<3xf32>) {
  %l = "test.loss"(%w, %x) : (tensor<3xf32>, tensor<2x3xf32>) -> f32
  %g = "test.grad"(%w, %x) : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<3xf32>
  return %l, %g : f32, tensor<3xf32>
}

// -----

// expected-error @+1 {{lathe-make-train-step: @i_grad result #1 (a gradient) must be a ranked float tensor, got 'tensor<3xi32>'}}
func.func @i_grad(%w: tensor<3xi32> {lathe.param}, %x: tensor<2x3xf32>) -> (tensor<f32>, tensor<3xi32>) {
  %l = "test.loss"(%w, %x) : (tensor<3xi32>, tensor<2x3xf32>) -> tensor<f32>
  %g = "test.grad"(%w, %x) : (tensor<3xi32>, tensor<2x3xf32>) -> tensor<3xi32>
  return %l, %g : tensor<f32>, tensor<3xi32>
}
