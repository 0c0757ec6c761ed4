// RUN: lathe-opt %s -split-input-file --accel-unroll-loops -verify-diagnostics | FileCheck %s
// A recurrence left as an scf.for (a peephole LSTM's steps): one copy of the
// step per iteration, the induction variable folded into static slice
// offsets, the step's two-result kernel split into one kernel per result
// (the second reads the first's initial value as an input) and the copy
// into the carried buffer replaced by its input.

#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @steps
// CHECK-SAME: (%[[XS:.*]]: tensor<6x3xf32>, %[[H0:.*]]: tensor<2x3xf32>, %[[C0:.*]]: tensor<2x3xf32>)
func.func @steps(%xs: tensor<6x3xf32>, %h0: tensor<2x3xf32>, %c0s: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x2x3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %y0 = tensor.empty() : tensor<3x2x3xf32>
  %r:3 = scf.for %i = %c0 to %c3 step %c1 iter_args(%h = %h0, %c = %c0s, %y = %y0) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x2x3xf32>) {
    %o = arith.muli %i, %c2 : index
    %x = tensor.extract_slice %xs[%o, 0] [2, 3] [1, 1] : tensor<6x3xf32> to tensor<2x3xf32>
    %e = tensor.empty() : tensor<2x3xf32>
    %g:2 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x3xf32>) outs(%e, %c : tensor<2x3xf32>, tensor<2x3xf32>) {
    ^bb0(%in: f32, %out: f32, %cin: f32):
      %nc = arith.addf %in, %cin : f32
      %nh = math.tanh %nc : f32
      linalg.yield %nh, %nc : f32, f32
    } -> (tensor<2x3xf32>, tensor<2x3xf32>)
    %hc = linalg.copy ins(%g#0 : tensor<2x3xf32>) outs(%h : tensor<2x3xf32>) -> tensor<2x3xf32>
    %ny = tensor.insert_slice %hc into %y[%i, 0, 0] [1, 2, 3] [1, 1, 1] : tensor<2x3xf32> into tensor<3x2x3xf32>
    scf.yield %hc, %g#1, %ny : tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x2x3xf32>
  }
  return %r#1, %r#2 : tensor<2x3xf32>, tensor<3x2x3xf32>
}
// CHECK-NOT: scf.for
// Step 0.
// CHECK: %[[X0:.*]] = tensor.extract_slice %[[XS]][0, 0] [2, 3] [1, 1]
// CHECK: %[[H1:.*]] = linalg.generic {{.*}} ins(%[[X0]], %[[C0]] : {{.*}}) outs(%{{.*}} : tensor<2x3xf32>)
// CHECK: math.tanh
// CHECK: %[[C1:.*]] = linalg.generic {{.*}} ins(%[[X0]] : {{.*}}) outs(%[[C0]] : tensor<2x3xf32>)
// CHECK-NOT: math.tanh
// CHECK: linalg.yield
// CHECK: %[[Y1:.*]] = tensor.insert_slice %[[H1]] into %{{.*}}[0, 0, 0] [1, 2, 3] [1, 1, 1]
// Step 1.
// CHECK: %[[X1:.*]] = tensor.extract_slice %[[XS]][2, 0] [2, 3] [1, 1]
// CHECK: %[[H2:.*]] = linalg.generic {{.*}} ins(%[[X1]], %[[C1]] : {{.*}})
// CHECK: %[[C2:.*]] = linalg.generic {{.*}} ins(%[[X1]] : {{.*}}) outs(%[[C1]] : tensor<2x3xf32>)
// CHECK: %[[Y2:.*]] = tensor.insert_slice %[[H2]] into %[[Y1]][1, 0, 0] [1, 2, 3] [1, 1, 1]
// Step 2.
// CHECK: %[[X2:.*]] = tensor.extract_slice %[[XS]][4, 0] [2, 3] [1, 1]
// CHECK: %[[C3:.*]] = linalg.generic {{.*}} ins(%[[X2]] : {{.*}}) outs(%[[C2]] : tensor<2x3xf32>)
// CHECK: %[[Y3:.*]] = tensor.insert_slice %{{.*}} into %[[Y2]][2, 0, 0] [1, 2, 3] [1, 1, 1]
// CHECK-NOT: linalg.copy
// CHECK: return %[[C3]], %[[Y3]]

// -----

// A loop of no iterations is its initial values.
// CHECK-LABEL: func.func @empty
// CHECK-SAME: (%[[A:.*]]: tensor<2xf32>)
// CHECK-NOT: scf.for
// CHECK: return %[[A]]
func.func @empty(%a: tensor<2xf32>) -> tensor<2xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c1 to %c0 step %c1 iter_args(%x = %a) -> (tensor<2xf32>) {
    %n = arith.addf %x, %x : tensor<2xf32>
    scf.yield %n : tensor<2xf32>
  }
  return %r : tensor<2xf32>
}

// -----

func.func @dynamic(%a: tensor<2xf32>, %n: index) -> tensor<2xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'scf.for' op has a trip count unknown at compile time: the accelerator's engine program cannot execute a loop}}
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%x = %a) -> (tensor<2xf32>) {
    %s = arith.addf %x, %x : tensor<2xf32>
    scf.yield %s : tensor<2xf32>
  }
  return %r : tensor<2xf32>
}
