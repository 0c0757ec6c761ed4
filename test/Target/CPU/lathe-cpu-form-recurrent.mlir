// RUN: lathe-opt %s --pass-pipeline="builtin.module(func.func(lathe-cpu-form-recurrent))" | FileCheck %s
// RUN: lathe-opt %s --lathe-cpu-pipeline -o /dev/null

// The loops lathe-import-onnx writes for one direction of an LSTM (gates i,
// o, f, c in ONNX's order) and of a linear-before-reset GRU become lathe.rnn;
// look-alikes whose arithmetic is not the cell's (an LSTM with peepholes, a
// forget gate through tanh) stay loops.

#vec = affine_map<(d0, d1) -> (d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// CHECK-LABEL: func.func @lstm
// CHECK-SAME: (%[[X:.*]]: tensor<4x2x3xf32>, %[[W:.*]]: tensor<20x3xf32>, %[[R:.*]]: tensor<20x5xf32>, %[[B:.*]]: tensor<20xf32>, %[[H0:.*]]: tensor<2x5xf32>, %[[C0:.*]]: tensor<2x5xf32>)
// CHECK-NOT: scf.for
// CHECK: %[[RNN:.*]]:3 = lathe.rnn lstm ins(%[[X]], %[[W]], %[[R]] : {{.*}}) bias(%[[B]] : tensor<20xf32>) initial_h(%[[H0]] : tensor<2x5xf32>) initial_c(%[[C0]] : tensor<2x5xf32>)
// CHECK-SAME: {gates = array<i64: 0, 2, 3, 1>}
// CHECK: tensor.insert_slice %[[RNN]]#0 into %{{.*}}[0, 0, 0, 0] [4, 1, 2, 5]
// CHECK-NOT: scf.for
func.func @lstm(%x: tensor<4x2x3xf32>, %w: tensor<20x3xf32>, %r: tensor<20x5xf32>, %b: tensor<20xf32>, %h0: tensor<2x5xf32>, %c0: tensor<2x5xf32>) -> (tensor<4x1x2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>) {
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  %c0i = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.000000e+00 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %xf = tensor.collapse_shape %x [[0, 1], [2]] : tensor<4x2x3xf32> into tensor<8x3xf32>
  %y0 = tensor.empty() : tensor<4x1x2x5xf32>
  %e0 = tensor.empty() : tensor<3x20xf32>
  %wt = linalg.transpose ins(%w : tensor<20x3xf32>) outs(%e0 : tensor<3x20xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<5x20xf32>
  %rt = linalg.transpose ins(%r : tensor<20x5xf32>) outs(%e1 : tensor<5x20xf32>) permutation = [1, 0]
  %e2 = tensor.empty() : tensor<8x20xf32>
  %bb = linalg.generic {indexing_maps = [#vec, #id], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<20xf32>) outs(%e2 : tensor<8x20xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x20xf32>
  %xw = linalg.matmul ins(%xf, %wt : tensor<8x3xf32>, tensor<3x20xf32>) outs(%bb : tensor<8x20xf32>) -> tensor<8x20xf32>
  %res:3 = scf.for %i = %c0i to %c4 step %c1 iter_args(%h = %h0, %c = %c0, %y = %y0) -> (tensor<2x5xf32>, tensor<2x5xf32>, tensor<4x1x2x5xf32>) {
    %row = arith.muli %i, %c2 : index
    %xwt = tensor.extract_slice %xw[%row, 0] [2, 20] [1, 1] : tensor<8x20xf32> to tensor<2x20xf32>
    %e3 = tensor.empty() : tensor<2x20xf32>
    %f = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x20xf32>) -> tensor<2x20xf32>
    %hr = linalg.matmul ins(%h, %rt : tensor<2x5xf32>, tensor<5x20xf32>) outs(%f : tensor<2x20xf32>) -> tensor<2x20xf32>
    %e4 = tensor.empty() : tensor<2x5xf32>
    %x0 = tensor.extract_slice %xwt[0, 0] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x1 = tensor.extract_slice %xwt[0, 5] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x2 = tensor.extract_slice %xwt[0, 10] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x3 = tensor.extract_slice %xwt[0, 15] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r0 = tensor.extract_slice %hr[0, 0] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r1 = tensor.extract_slice %hr[0, 5] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r2 = tensor.extract_slice %hr[0, 10] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r3 = tensor.extract_slice %hr[0, 15] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %g:2 = linalg.generic {indexing_maps = [#id, #id, #id, #id, #id, #id, #id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x0, %x1, %x2, %x3, %r0, %r1, %r2, %r3 : tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>) outs(%e4, %c : tensor<2x5xf32>, tensor<2x5xf32>) {
    ^bb0(%ii: f32, %io: f32, %if: f32, %ic: f32, %ri: f32, %ro: f32, %rf: f32, %rc: f32, %out: f32, %cc: f32):
      %1 = arith.addf %ii, %ri : f32
      %2 = arith.negf %1 : f32
      %3 = math.exp %2 : f32
      %4 = arith.addf %3, %one : f32
      %ig = arith.divf %one, %4 : f32
      %5 = arith.addf %rf, %if : f32
      %6 = arith.negf %5 : f32
      %7 = math.exp %6 : f32
      %8 = arith.addf %one, %7 : f32
      %fg = arith.divf %one, %8 : f32
      %9 = arith.addf %ic, %rc : f32
      %cg = math.tanh %9 : f32
      %10 = arith.mulf %cc, %fg : f32
      %11 = arith.mulf %ig, %cg : f32
      %cn = arith.addf %10, %11 : f32
      %12 = arith.addf %io, %ro : f32
      %13 = arith.negf %12 : f32
      %14 = math.exp %13 : f32
      %15 = arith.addf %14, %one : f32
      %og = arith.divf %one, %15 : f32
      %16 = math.tanh %cn : f32
      %hn = arith.mulf %og, %16 : f32
      linalg.yield %hn, %cn : f32, f32
    } -> (tensor<2x5xf32>, tensor<2x5xf32>)
    %hc = linalg.copy ins(%g#0 : tensor<2x5xf32>) outs(%h : tensor<2x5xf32>) -> tensor<2x5xf32>
    %yn = tensor.insert_slice %hc into %y[%i, 0, 0, 0] [1, 1, 2, 5] [1, 1, 1, 1] : tensor<2x5xf32> into tensor<4x1x2x5xf32>
    scf.yield %hc, %g#1, %yn : tensor<2x5xf32>, tensor<2x5xf32>, tensor<4x1x2x5xf32>
  }
  return %res#2, %res#0, %res#1 : tensor<4x1x2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>
}

// A batch of one: the canonicalizer folds the unit batch of x [T, 1, I] into
// the features ([[0], [1, 2]]) and the step's rows are the induction variable.
// CHECK-LABEL: func.func @lstm_batch1
// CHECK-SAME: (%[[X:.*]]: tensor<4x1x3xf32>
// CHECK-NOT: scf.for
// CHECK: lathe.rnn lstm ins(%[[X]], {{.*}}) {{.*}} initial_h({{.*}} : tensor<1x5xf32>)
// CHECK-NOT: scf.for
func.func @lstm_batch1(%x: tensor<4x1x3xf32>, %w: tensor<20x3xf32>, %r: tensor<20x5xf32>, %b: tensor<20xf32>, %h0: tensor<1x5xf32>, %c0: tensor<1x5xf32>) -> (tensor<4x1x1x5xf32>, tensor<1x5xf32>, tensor<1x5xf32>) {
  %c1 = arith.constant 1 : index
  %c0i = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.000000e+00 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %xf = tensor.collapse_shape %x [[0], [1, 2]] : tensor<4x1x3xf32> into tensor<4x3xf32>
  %y0 = tensor.empty() : tensor<4x1x1x5xf32>
  %e0 = tensor.empty() : tensor<3x20xf32>
  %wt = linalg.transpose ins(%w : tensor<20x3xf32>) outs(%e0 : tensor<3x20xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<5x20xf32>
  %rt = linalg.transpose ins(%r : tensor<20x5xf32>) outs(%e1 : tensor<5x20xf32>) permutation = [1, 0]
  %e2 = tensor.empty() : tensor<4x20xf32>
  %bb = linalg.generic {indexing_maps = [#vec, #id], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<20xf32>) outs(%e2 : tensor<4x20xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x20xf32>
  %xw = linalg.matmul ins(%xf, %wt : tensor<4x3xf32>, tensor<3x20xf32>) outs(%bb : tensor<4x20xf32>) -> tensor<4x20xf32>
  %res:3 = scf.for %i = %c0i to %c4 step %c1 iter_args(%h = %h0, %c = %c0, %y = %y0) -> (tensor<1x5xf32>, tensor<1x5xf32>, tensor<4x1x1x5xf32>) {
    %xwt = tensor.extract_slice %xw[%i, 0] [1, 20] [1, 1] : tensor<4x20xf32> to tensor<1x20xf32>
    %e3 = tensor.empty() : tensor<1x20xf32>
    %f = linalg.fill ins(%zero : f32) outs(%e3 : tensor<1x20xf32>) -> tensor<1x20xf32>
    %hr = linalg.matmul ins(%h, %rt : tensor<1x5xf32>, tensor<5x20xf32>) outs(%f : tensor<1x20xf32>) -> tensor<1x20xf32>
    %e4 = tensor.empty() : tensor<1x5xf32>
    %x0 = tensor.extract_slice %xwt[0, 0] [1, 5] [1, 1] : tensor<1x20xf32> to tensor<1x5xf32>
    %x1 = tensor.extract_slice %xwt[0, 5] [1, 5] [1, 1] : tensor<1x20xf32> to tensor<1x5xf32>
    %x2 = tensor.extract_slice %xwt[0, 10] [1, 5] [1, 1] : tensor<1x20xf32> to tensor<1x5xf32>
    %x3 = tensor.extract_slice %xwt[0, 15] [1, 5] [1, 1] : tensor<1x20xf32> to tensor<1x5xf32>
    %r0 = tensor.extract_slice %hr[0, 0] [1, 5] [1, 1] : tensor<1x20xf32> to tensor<1x5xf32>
    %r1 = tensor.extract_slice %hr[0, 5] [1, 5] [1, 1] : tensor<1x20xf32> to tensor<1x5xf32>
    %r2 = tensor.extract_slice %hr[0, 10] [1, 5] [1, 1] : tensor<1x20xf32> to tensor<1x5xf32>
    %r3 = tensor.extract_slice %hr[0, 15] [1, 5] [1, 1] : tensor<1x20xf32> to tensor<1x5xf32>
    %g:2 = linalg.generic {indexing_maps = [#id, #id, #id, #id, #id, #id, #id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x0, %x1, %x2, %x3, %r0, %r1, %r2, %r3 : tensor<1x5xf32>, tensor<1x5xf32>, tensor<1x5xf32>, tensor<1x5xf32>, tensor<1x5xf32>, tensor<1x5xf32>, tensor<1x5xf32>, tensor<1x5xf32>) outs(%e4, %c : tensor<1x5xf32>, tensor<1x5xf32>) {
    ^bb0(%ii: f32, %io: f32, %if: f32, %ic: f32, %ri: f32, %ro: f32, %rf: f32, %rc: f32, %out: f32, %cc: f32):
      %1 = arith.addf %ii, %ri : f32
      %2 = arith.negf %1 : f32
      %3 = math.exp %2 : f32
      %4 = arith.addf %3, %one : f32
      %ig = arith.divf %one, %4 : f32
      %5 = arith.addf %rf, %if : f32
      %6 = arith.negf %5 : f32
      %7 = math.exp %6 : f32
      %8 = arith.addf %one, %7 : f32
      %fg = arith.divf %one, %8 : f32
      %9 = arith.addf %ic, %rc : f32
      %cg = math.tanh %9 : f32
      %10 = arith.mulf %cc, %fg : f32
      %11 = arith.mulf %ig, %cg : f32
      %cn = arith.addf %10, %11 : f32
      %12 = arith.addf %io, %ro : f32
      %13 = arith.negf %12 : f32
      %14 = math.exp %13 : f32
      %15 = arith.addf %14, %one : f32
      %og = arith.divf %one, %15 : f32
      %16 = math.tanh %cn : f32
      %hn = arith.mulf %og, %16 : f32
      linalg.yield %hn, %cn : f32, f32
    } -> (tensor<1x5xf32>, tensor<1x5xf32>)
    %hc = linalg.copy ins(%g#0 : tensor<1x5xf32>) outs(%h : tensor<1x5xf32>) -> tensor<1x5xf32>
    %yn = tensor.insert_slice %hc into %y[%i, 0, 0, 0] [1, 1, 1, 5] [1, 1, 1, 1] : tensor<1x5xf32> into tensor<4x1x1x5xf32>
    scf.yield %hc, %g#1, %yn : tensor<1x5xf32>, tensor<1x5xf32>, tensor<4x1x1x5xf32>
  }
  return %res#2, %res#0, %res#1 : tensor<4x1x1x5xf32>, tensor<1x5xf32>, tensor<1x5xf32>
}

// CHECK-LABEL: func.func @lstm_reverse
// CHECK-NOT: scf.for
// CHECK: lathe.rnn lstm
// CHECK-SAME: {gates = array<i64: 0, 2, 3, 1>, reverse}
func.func @lstm_reverse(%x: tensor<4x2x3xf32>, %w: tensor<20x3xf32>, %r: tensor<20x5xf32>, %b: tensor<20xf32>, %h0: tensor<2x5xf32>, %c0: tensor<2x5xf32>) -> (tensor<4x1x2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>) {
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  %c0i = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.000000e+00 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %xf = tensor.collapse_shape %x [[0, 1], [2]] : tensor<4x2x3xf32> into tensor<8x3xf32>
  %y0 = tensor.empty() : tensor<4x1x2x5xf32>
  %e0 = tensor.empty() : tensor<3x20xf32>
  %wt = linalg.transpose ins(%w : tensor<20x3xf32>) outs(%e0 : tensor<3x20xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<5x20xf32>
  %rt = linalg.transpose ins(%r : tensor<20x5xf32>) outs(%e1 : tensor<5x20xf32>) permutation = [1, 0]
  %e2 = tensor.empty() : tensor<8x20xf32>
  %bb = linalg.generic {indexing_maps = [#vec, #id], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<20xf32>) outs(%e2 : tensor<8x20xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x20xf32>
  %xw = linalg.matmul ins(%xf, %wt : tensor<8x3xf32>, tensor<3x20xf32>) outs(%bb : tensor<8x20xf32>) -> tensor<8x20xf32>
  %res:3 = scf.for %i = %c0i to %c4 step %c1 iter_args(%h = %h0, %c = %c0, %y = %y0) -> (tensor<2x5xf32>, tensor<2x5xf32>, tensor<4x1x2x5xf32>) {
    %c3 = arith.constant 3 : index
    %t = arith.subi %c3, %i : index
    %row = arith.muli %t, %c2 : index
    %xwt = tensor.extract_slice %xw[%row, 0] [2, 20] [1, 1] : tensor<8x20xf32> to tensor<2x20xf32>
    %e3 = tensor.empty() : tensor<2x20xf32>
    %f = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x20xf32>) -> tensor<2x20xf32>
    %hr = linalg.matmul ins(%h, %rt : tensor<2x5xf32>, tensor<5x20xf32>) outs(%f : tensor<2x20xf32>) -> tensor<2x20xf32>
    %e4 = tensor.empty() : tensor<2x5xf32>
    %x0 = tensor.extract_slice %xwt[0, 0] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x1 = tensor.extract_slice %xwt[0, 5] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x2 = tensor.extract_slice %xwt[0, 10] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x3 = tensor.extract_slice %xwt[0, 15] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r0 = tensor.extract_slice %hr[0, 0] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r1 = tensor.extract_slice %hr[0, 5] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r2 = tensor.extract_slice %hr[0, 10] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r3 = tensor.extract_slice %hr[0, 15] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %g:2 = linalg.generic {indexing_maps = [#id, #id, #id, #id, #id, #id, #id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x0, %x1, %x2, %x3, %r0, %r1, %r2, %r3 : tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>) outs(%e4, %c : tensor<2x5xf32>, tensor<2x5xf32>) {
    ^bb0(%ii: f32, %io: f32, %if: f32, %ic: f32, %ri: f32, %ro: f32, %rf: f32, %rc: f32, %out: f32, %cc: f32):
      %1 = arith.addf %ii, %ri : f32
      %2 = arith.negf %1 : f32
      %3 = math.exp %2 : f32
      %4 = arith.addf %3, %one : f32
      %ig = arith.divf %one, %4 : f32
      %5 = arith.addf %rf, %if : f32
      %6 = arith.negf %5 : f32
      %7 = math.exp %6 : f32
      %8 = arith.addf %one, %7 : f32
      %fg = arith.divf %one, %8 : f32
      %9 = arith.addf %ic, %rc : f32
      %cg = math.tanh %9 : f32
      %10 = arith.mulf %cc, %fg : f32
      %11 = arith.mulf %ig, %cg : f32
      %cn = arith.addf %10, %11 : f32
      %12 = arith.addf %io, %ro : f32
      %13 = arith.negf %12 : f32
      %14 = math.exp %13 : f32
      %15 = arith.addf %14, %one : f32
      %og = arith.divf %one, %15 : f32
      %16 = math.tanh %cn : f32
      %hn = arith.mulf %og, %16 : f32
      linalg.yield %hn, %cn : f32, f32
    } -> (tensor<2x5xf32>, tensor<2x5xf32>)
    %hc = linalg.copy ins(%g#0 : tensor<2x5xf32>) outs(%h : tensor<2x5xf32>) -> tensor<2x5xf32>
    %yn = tensor.insert_slice %hc into %y[%t, 0, 0, 0] [1, 1, 2, 5] [1, 1, 1, 1] : tensor<2x5xf32> into tensor<4x1x2x5xf32>
    scf.yield %hc, %g#1, %yn : tensor<2x5xf32>, tensor<2x5xf32>, tensor<4x1x2x5xf32>
  }
  return %res#2, %res#0, %res#1 : tensor<4x1x2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>
}

// An LSTM with a peephole (the forget gate also reads p * c) is no oneDNN
// cell here: the loop stays.
// CHECK-LABEL: func.func @lstm_peephole
// CHECK-NOT: lathe.rnn
// CHECK: scf.for
func.func @lstm_peephole(%x: tensor<4x2x3xf32>, %w: tensor<20x3xf32>, %r: tensor<20x5xf32>, %b: tensor<20xf32>, %h0: tensor<2x5xf32>, %c0: tensor<2x5xf32>, %p: tensor<2x5xf32>) -> (tensor<4x1x2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>) {
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  %c0i = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.000000e+00 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %xf = tensor.collapse_shape %x [[0, 1], [2]] : tensor<4x2x3xf32> into tensor<8x3xf32>
  %y0 = tensor.empty() : tensor<4x1x2x5xf32>
  %e0 = tensor.empty() : tensor<3x20xf32>
  %wt = linalg.transpose ins(%w : tensor<20x3xf32>) outs(%e0 : tensor<3x20xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<5x20xf32>
  %rt = linalg.transpose ins(%r : tensor<20x5xf32>) outs(%e1 : tensor<5x20xf32>) permutation = [1, 0]
  %e2 = tensor.empty() : tensor<8x20xf32>
  %bb = linalg.generic {indexing_maps = [#vec, #id], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<20xf32>) outs(%e2 : tensor<8x20xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x20xf32>
  %xw = linalg.matmul ins(%xf, %wt : tensor<8x3xf32>, tensor<3x20xf32>) outs(%bb : tensor<8x20xf32>) -> tensor<8x20xf32>
  %res:3 = scf.for %i = %c0i to %c4 step %c1 iter_args(%h = %h0, %c = %c0, %y = %y0) -> (tensor<2x5xf32>, tensor<2x5xf32>, tensor<4x1x2x5xf32>) {
    %row = arith.muli %i, %c2 : index
    %xwt = tensor.extract_slice %xw[%row, 0] [2, 20] [1, 1] : tensor<8x20xf32> to tensor<2x20xf32>
    %e3 = tensor.empty() : tensor<2x20xf32>
    %f = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x20xf32>) -> tensor<2x20xf32>
    %hr = linalg.matmul ins(%h, %rt : tensor<2x5xf32>, tensor<5x20xf32>) outs(%f : tensor<2x20xf32>) -> tensor<2x20xf32>
    %e4 = tensor.empty() : tensor<2x5xf32>
    %x0 = tensor.extract_slice %xwt[0, 0] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x1 = tensor.extract_slice %xwt[0, 5] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x2 = tensor.extract_slice %xwt[0, 10] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x3 = tensor.extract_slice %xwt[0, 15] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r0 = tensor.extract_slice %hr[0, 0] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r1 = tensor.extract_slice %hr[0, 5] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r2 = tensor.extract_slice %hr[0, 10] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r3 = tensor.extract_slice %hr[0, 15] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %g:2 = linalg.generic {indexing_maps = [#id, #id, #id, #id, #id, #id, #id, #id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x0, %x1, %x2, %x3, %r0, %r1, %r2, %r3, %p : tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>) outs(%e4, %c : tensor<2x5xf32>, tensor<2x5xf32>) {
    ^bb0(%ii: f32, %io: f32, %if: f32, %ic: f32, %ri: f32, %ro: f32, %rf: f32, %rc: f32, %pf: f32, %out: f32, %cc: f32):
      %1 = arith.addf %ii, %ri : f32
      %2 = arith.negf %1 : f32
      %3 = math.exp %2 : f32
      %4 = arith.addf %3, %one : f32
      %ig = arith.divf %one, %4 : f32
      %pre_f = arith.addf %rf, %if : f32
      %pc = arith.mulf %pf, %cc : f32
      %5 = arith.addf %pre_f, %pc : f32
      %6 = arith.negf %5 : f32
      %7 = math.exp %6 : f32
      %8 = arith.addf %one, %7 : f32
      %fg = arith.divf %one, %8 : f32
      %9 = arith.addf %ic, %rc : f32
      %cg = math.tanh %9 : f32
      %10 = arith.mulf %cc, %fg : f32
      %11 = arith.mulf %ig, %cg : f32
      %cn = arith.addf %10, %11 : f32
      %12 = arith.addf %io, %ro : f32
      %13 = arith.negf %12 : f32
      %14 = math.exp %13 : f32
      %15 = arith.addf %14, %one : f32
      %og = arith.divf %one, %15 : f32
      %16 = math.tanh %cn : f32
      %hn = arith.mulf %og, %16 : f32
      linalg.yield %hn, %cn : f32, f32
    } -> (tensor<2x5xf32>, tensor<2x5xf32>)
    %hc = linalg.copy ins(%g#0 : tensor<2x5xf32>) outs(%h : tensor<2x5xf32>) -> tensor<2x5xf32>
    %yn = tensor.insert_slice %hc into %y[%i, 0, 0, 0] [1, 1, 2, 5] [1, 1, 1, 1] : tensor<2x5xf32> into tensor<4x1x2x5xf32>
    scf.yield %hc, %g#1, %yn : tensor<2x5xf32>, tensor<2x5xf32>, tensor<4x1x2x5xf32>
  }
  return %res#2, %res#0, %res#1 : tensor<4x1x2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>
}

// A forget gate through tanh instead of the sigmoid.
// CHECK-LABEL: func.func @lstm_tanh_forget
// CHECK-NOT: lathe.rnn
// CHECK: scf.for
func.func @lstm_tanh_forget(%x: tensor<4x2x3xf32>, %w: tensor<20x3xf32>, %r: tensor<20x5xf32>, %b: tensor<20xf32>, %h0: tensor<2x5xf32>, %c0: tensor<2x5xf32>) -> (tensor<4x1x2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>) {
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  %c0i = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.000000e+00 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %xf = tensor.collapse_shape %x [[0, 1], [2]] : tensor<4x2x3xf32> into tensor<8x3xf32>
  %y0 = tensor.empty() : tensor<4x1x2x5xf32>
  %e0 = tensor.empty() : tensor<3x20xf32>
  %wt = linalg.transpose ins(%w : tensor<20x3xf32>) outs(%e0 : tensor<3x20xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<5x20xf32>
  %rt = linalg.transpose ins(%r : tensor<20x5xf32>) outs(%e1 : tensor<5x20xf32>) permutation = [1, 0]
  %e2 = tensor.empty() : tensor<8x20xf32>
  %bb = linalg.generic {indexing_maps = [#vec, #id], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<20xf32>) outs(%e2 : tensor<8x20xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x20xf32>
  %xw = linalg.matmul ins(%xf, %wt : tensor<8x3xf32>, tensor<3x20xf32>) outs(%bb : tensor<8x20xf32>) -> tensor<8x20xf32>
  %res:3 = scf.for %i = %c0i to %c4 step %c1 iter_args(%h = %h0, %c = %c0, %y = %y0) -> (tensor<2x5xf32>, tensor<2x5xf32>, tensor<4x1x2x5xf32>) {
    %row = arith.muli %i, %c2 : index
    %xwt = tensor.extract_slice %xw[%row, 0] [2, 20] [1, 1] : tensor<8x20xf32> to tensor<2x20xf32>
    %e3 = tensor.empty() : tensor<2x20xf32>
    %f = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x20xf32>) -> tensor<2x20xf32>
    %hr = linalg.matmul ins(%h, %rt : tensor<2x5xf32>, tensor<5x20xf32>) outs(%f : tensor<2x20xf32>) -> tensor<2x20xf32>
    %e4 = tensor.empty() : tensor<2x5xf32>
    %x0 = tensor.extract_slice %xwt[0, 0] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x1 = tensor.extract_slice %xwt[0, 5] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x2 = tensor.extract_slice %xwt[0, 10] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %x3 = tensor.extract_slice %xwt[0, 15] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r0 = tensor.extract_slice %hr[0, 0] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r1 = tensor.extract_slice %hr[0, 5] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r2 = tensor.extract_slice %hr[0, 10] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %r3 = tensor.extract_slice %hr[0, 15] [2, 5] [1, 1] : tensor<2x20xf32> to tensor<2x5xf32>
    %g:2 = linalg.generic {indexing_maps = [#id, #id, #id, #id, #id, #id, #id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x0, %x1, %x2, %x3, %r0, %r1, %r2, %r3 : tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>) outs(%e4, %c : tensor<2x5xf32>, tensor<2x5xf32>) {
    ^bb0(%ii: f32, %io: f32, %if: f32, %ic: f32, %ri: f32, %ro: f32, %rf: f32, %rc: f32, %out: f32, %cc: f32):
      %1 = arith.addf %ii, %ri : f32
      %2 = arith.negf %1 : f32
      %3 = math.exp %2 : f32
      %4 = arith.addf %3, %one : f32
      %ig = arith.divf %one, %4 : f32
      %5 = arith.addf %rf, %if : f32
      %fg = math.tanh %5 : f32
      %9 = arith.addf %ic, %rc : f32
      %cg = math.tanh %9 : f32
      %10 = arith.mulf %cc, %fg : f32
      %11 = arith.mulf %ig, %cg : f32
      %cn = arith.addf %10, %11 : f32
      %12 = arith.addf %io, %ro : f32
      %13 = arith.negf %12 : f32
      %14 = math.exp %13 : f32
      %15 = arith.addf %14, %one : f32
      %og = arith.divf %one, %15 : f32
      %16 = math.tanh %cn : f32
      %hn = arith.mulf %og, %16 : f32
      linalg.yield %hn, %cn : f32, f32
    } -> (tensor<2x5xf32>, tensor<2x5xf32>)
    %hc = linalg.copy ins(%g#0 : tensor<2x5xf32>) outs(%h : tensor<2x5xf32>) -> tensor<2x5xf32>
    %yn = tensor.insert_slice %hc into %y[%i, 0, 0, 0] [1, 1, 2, 5] [1, 1, 1, 1] : tensor<2x5xf32> into tensor<4x1x2x5xf32>
    scf.yield %hc, %g#1, %yn : tensor<2x5xf32>, tensor<2x5xf32>, tensor<4x1x2x5xf32>
  }
  return %res#2, %res#0, %res#1 : tensor<4x1x2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>
}
