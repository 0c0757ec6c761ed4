// RUN: lathe-opt %s -split-input-file -verify-diagnostics

func.func @cell(%x: tensor<2x1x3xf32>, %w: tensor<12x3xf32>, %r: tensor<12x4xf32>, %b: tensor<12xf32>, %h0: tensor<1x4xf32>) {
  // expected-error @+2 {{unknown cell 'rnn' (expected one of: lstm, gru, lbr_gru)}}
  // expected-error @+1 {{failed to parse Lathe_RnnCellAttr parameter}}
  %0:2 = lathe.rnn rnn ins(%x, %w, %r : tensor<2x1x3xf32>, tensor<12x3xf32>, tensor<12x4xf32>) bias(%b : tensor<12xf32>) initial_h(%h0 : tensor<1x4xf32>) outs(%x, %h0 : tensor<2x1x3xf32>, tensor<1x4xf32>) {gates = array<i64: 0, 1, 2>} -> tensor<2x1x3xf32>, tensor<1x4xf32>
  return
}

// -----

func.func @gates(%x: tensor<2x1x3xf32>, %w: tensor<12x3xf32>, %r: tensor<12x4xf32>, %b: tensor<12xf32>, %h0: tensor<1x4xf32>, %y: tensor<2x1x4xf32>) {
  // expected-error @+1 {{expects gates to be a permutation of 0..2}}
  %0:2 = lathe.rnn gru ins(%x, %w, %r : tensor<2x1x3xf32>, tensor<12x3xf32>, tensor<12x4xf32>) bias(%b : tensor<12xf32>) initial_h(%h0 : tensor<1x4xf32>) outs(%y, %h0 : tensor<2x1x4xf32>, tensor<1x4xf32>) {gates = array<i64: 0, 1, 1>} -> tensor<2x1x4xf32>, tensor<1x4xf32>
  return
}

// -----

func.func @lstm_needs_c(%x: tensor<2x1x3xf32>, %w: tensor<16x3xf32>, %r: tensor<16x4xf32>, %b: tensor<16xf32>, %h0: tensor<1x4xf32>, %y: tensor<2x1x4xf32>) {
  // expected-error @+1 {{expects initial_c for an LSTM}}
  %0:3 = lathe.rnn lstm ins(%x, %w, %r : tensor<2x1x3xf32>, tensor<16x3xf32>, tensor<16x4xf32>) bias(%b : tensor<16xf32>) initial_h(%h0 : tensor<1x4xf32>) outs(%y, %h0, %h0 : tensor<2x1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>) {gates = array<i64: 0, 1, 2, 3>} -> tensor<2x1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>
  return
}

// -----

func.func @weights_shape(%x: tensor<2x1x3xf32>, %w: tensor<12x5xf32>, %r: tensor<12x4xf32>, %b: tensor<12xf32>, %h0: tensor<1x4xf32>, %y: tensor<2x1x4xf32>) {
  // expected-error @+1 {{expects recurrent_weights [3*H, H] and weights [3*H, 3] of static H}}
  %0:2 = lathe.rnn gru ins(%x, %w, %r : tensor<2x1x3xf32>, tensor<12x5xf32>, tensor<12x4xf32>) bias(%b : tensor<12xf32>) initial_h(%h0 : tensor<1x4xf32>) outs(%y, %h0 : tensor<2x1x4xf32>, tensor<1x4xf32>) {gates = array<i64: 0, 1, 2>} -> tensor<2x1x4xf32>, tensor<1x4xf32>
  return
}

// -----

func.func @y_shape(%x: tensor<2x1x3xf32>, %w: tensor<12x3xf32>, %r: tensor<12x4xf32>, %b: tensor<12xf32>, %h0: tensor<1x4xf32>, %y: tensor<3x1x4xf32>) {
  // expected-error @+1 {{expects y of shape [T, N, H] ([N, T, H] with batch_first) / [N, H]}}
  %0:2 = lathe.rnn gru ins(%x, %w, %r : tensor<2x1x3xf32>, tensor<12x3xf32>, tensor<12x4xf32>) bias(%b : tensor<12xf32>) initial_h(%h0 : tensor<1x4xf32>) outs(%y, %h0 : tensor<3x1x4xf32>, tensor<1x4xf32>) {gates = array<i64: 0, 1, 2>} -> tensor<3x1x4xf32>, tensor<1x4xf32>
  return
}
