// RUN: lathe-opt %s --split-input-file --verify-diagnostics

func.func @mixed(%q: tensor<2x8x4xf32>, %o: memref<2x8x4xf32>) {
  // expected-error @+1 {{expects all operands to be tensors or all to be memrefs}}
  memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%o : memref<2x8x4xf32>) scale(1.0)
  return
}

// -----

func.func @f16(%q: tensor<2x8x4xf16>) -> tensor<2x8x4xf16> {
  // expected-error @+1 {{expects f32 operands}}
  %o = memred.attention ins(%q, %q, %q : tensor<2x8x4xf16>, tensor<2x8x4xf16>, tensor<2x8x4xf16>) outs(%q : tensor<2x8x4xf16>) scale(1.0) -> tensor<2x8x4xf16>
  return %o : tensor<2x8x4xf16>
}

// -----

func.func @rank1(%q: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{expects query of rank 2 to 5}}
  %o = memred.attention ins(%q, %q, %q : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) outs(%q : tensor<8xf32>) scale(1.0) -> tensor<8xf32>
  return %o : tensor<8xf32>
}

// -----

func.func @rank_mismatch(%q: tensor<2x8x4xf32>, %k: tensor<8x4xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{expects key of the query's rank 3}}
  %o = memred.attention ins(%q, %k, %q : tensor<2x8x4xf32>, tensor<8x4xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

func.func @batch(%q: tensor<2x8x4xf32>, %k: tensor<3x8x4xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{expects the same batch dimensions on query, key, value and init}}
  %o = memred.attention ins(%q, %k, %q : tensor<2x8x4xf32>, tensor<3x8x4xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

func.func @width(%q: tensor<2x8x4xf32>, %k: tensor<2x8x5xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{expects query and key of the same head width}}
  %o = memred.attention ins(%q, %k, %q : tensor<2x8x4xf32>, tensor<2x8x5xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

func.func @value_rows(%q: tensor<2x8x4xf32>, %v: tensor<2x6x4xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{expects one value row per key row}}
  %o = memred.attention ins(%q, %q, %v : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x6x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

func.func @init_shape(%q: tensor<2x8x4xf32>, %o: tensor<2x8x3xf32>) -> tensor<2x8x3xf32> {
  // expected-error @+1 {{expects init of shape [..., Lq, Dv] = [..., 8, 4], got 'tensor<2x8x3xf32>'}}
  %r = memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%o : tensor<2x8x3xf32>) scale(1.0) -> tensor<2x8x3xf32>
  return %r : tensor<2x8x3xf32>
}

// -----

func.func @three_biases(%q: tensor<2x8x4xf32>, %b: tensor<2x8x8xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{expects at most two biases, got 3}}
  %o = memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) biases(%b, %b, %b : tensor<2x8x8xf32>, tensor<2x8x8xf32>, tensor<2x8x8xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

func.func @bias_shape(%q: tensor<2x8x4xf32>, %b: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{expects each bias to broadcast to the score shape [2, 8, 8] (same rank, each size equal or 1), got 'tensor<2x8x4xf32>'}}
  %o = memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) biases(%b : tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

func.func @scale(%q: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{expects a finite, non-zero scale, got 0}}
  %o = memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(0.0) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

func.func @result_type(%q: tensor<2x8x4xf32>) -> tensor<2x8x5xf32> {
  // expected-error @+1 {{on tensors returns one result per init, of the inits' types 'tensor<2x8x4xf32>'}}
  %o = memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x5xf32>
  return %o : tensor<2x8x5xf32>
}

// -----

func.func @memref_result(%q: memref<2x8x4xf32>) {
  // expected-error @+1 {{on memrefs has no results}}
  %o = memred.attention ins(%q, %q, %q : memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>) outs(%q : memref<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return
}

// -----

func.func @chunks(%q: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{expects positive chunk sizes, got (0, 4)}}
  %o = memred.chunked_attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) chunks(0, 4) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

func.func @chunked_shapes(%q: tensor<2x8x4xf32>, %k: tensor<2x8x5xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{expects query and key of the same head width}}
  %o = memred.chunked_attention ins(%q, %k, %q : tensor<2x8x4xf32>, tensor<2x8x5xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) scale(1.0) chunks(4, 4) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

func.func @recent(%q: tensor<1x2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10x3xf32>, %o: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{expects the recent fraction in (0, 1], got 0}}
  %r = memred.cross_modal_reduce queries(%q : tensor<1x2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<4x3xf32>) recent(0.0) keep(0.25) scale(1.0) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

func.func @keep(%q: tensor<1x2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10x3xf32>, %o: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{expects the keep fraction in (0, 1], got 1.5}}
  %r = memred.cross_modal_reduce queries(%q : tensor<1x2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<4x3xf32>) recent(0.2) keep(1.5) scale(1.0) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

func.func @reduce_scale(%q: tensor<1x2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10x3xf32>, %o: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{expects a finite, non-zero scale}}
  %r = memred.cross_modal_reduce queries(%q : tensor<1x2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<4x3xf32>) recent(0.2) keep(0.25) scale(0.0) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

func.func @reduce_ranks(%q: tensor<2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10x3xf32>, %o: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{expects queries [H, Lq, D] and keys [H, N, D]}}
  %r = memred.cross_modal_reduce queries(%q : tensor<2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<4x3xf32>) recent(0.2) keep(0.25) scale(1.0) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

func.func @token_ranks(%q: tensor<1x2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10xf32>, %o: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{expects tokens [N, C] and init [M, C]}}
  %r = memred.cross_modal_reduce queries(%q : tensor<1x2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10xf32>) outs(%o : tensor<4x3xf32>) recent(0.2) keep(0.25) scale(1.0) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

func.func @heads(%q: tensor<2x2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10x3xf32>, %o: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{expects queries and keys with the same heads and head width}}
  %r = memred.cross_modal_reduce queries(%q : tensor<2x2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<4x3xf32>) recent(0.2) keep(0.25) scale(1.0) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

func.func @keys_per_token(%q: tensor<1x2x4xf32>, %k: tensor<1x9x4xf32>, %t: tensor<10x3xf32>, %o: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{expects one key per cached token}}
  %r = memred.cross_modal_reduce queries(%q : tensor<1x2x4xf32>) keys(%k : tensor<1x9x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<4x3xf32>) recent(0.2) keep(0.25) scale(1.0) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

func.func @width(%q: tensor<1x2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10x3xf32>, %o: tensor<4x2xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{expects init with the tokens' width}}
  %r = memred.cross_modal_reduce queries(%q : tensor<1x2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<4x2xf32>) recent(0.2) keep(0.25) scale(1.0) -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}

// -----

func.func @kept_rows(%q: tensor<1x2x4xf32>, %k: tensor<1x10x4xf32>, %t: tensor<10x3xf32>, %o: tensor<5x3xf32>) -> tensor<5x3xf32> {
  // expected-error @+1 {{keeps 4 of 10 tokens (recent 2.000000e-01, keep 2.500000e-01), but init has 5 rows}}
  %r = memred.cross_modal_reduce queries(%q : tensor<1x2x4xf32>) keys(%k : tensor<1x10x4xf32>) ins(%t : tensor<10x3xf32>) outs(%o : tensor<5x3xf32>) recent(0.2) keep(0.25) scale(1.0) -> tensor<5x3xf32>
  return %r : tensor<5x3xf32>
}

// -----

func.func @empty_bank(%q: tensor<1x2x4xf32>, %k: tensor<1x0x4xf32>, %t: tensor<0x3xf32>, %o: tensor<0x3xf32>) -> tensor<0x3xf32> {
  // expected-error @+1 {{expects at least one cached token}}
  %r = memred.cross_modal_reduce queries(%q : tensor<1x2x4xf32>) keys(%k : tensor<1x0x4xf32>) ins(%t : tensor<0x3xf32>) outs(%o : tensor<0x3xf32>) recent(0.2) keep(0.25) scale(1.0) -> tensor<0x3xf32>
  return %r : tensor<0x3xf32>
}

// -----

func.func @bank_recent(%f: tensor<4x8xf32>, %q: tensor<2x8xf32>, %b: tensor<16x8xf32>, %n: index) -> (tensor<16x8xf32>, index) {
  // expected-error @+1 {{expects the recent fraction in (0, 1], got 0.000000e+00}}
  %b1, %n1 = memred.bank_append ins(%f : tensor<4x8xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<16x8xf32>) count(%n) recent(0.0) keep(0.5) scale(1.0) -> tensor<16x8xf32>, index
  return %b1, %n1 : tensor<16x8xf32>, index
}

// -----

func.func @bank_keep(%f: tensor<4x8xf32>, %q: tensor<2x8xf32>, %b: tensor<16x8xf32>, %n: index) -> (tensor<16x8xf32>, index) {
  // expected-error @+1 {{expects the keep fraction in (0, 1], got 1.500000e+00}}
  %b1, %n1 = memred.bank_append ins(%f : tensor<4x8xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<16x8xf32>) count(%n) recent(0.1) keep(1.5) scale(1.0) -> tensor<16x8xf32>, index
  return %b1, %n1 : tensor<16x8xf32>, index
}

// -----

func.func @bank_width(%f: tensor<4x6xf32>, %q: tensor<2x8xf32>, %b: tensor<16x8xf32>, %n: index) -> (tensor<16x8xf32>, index) {
  // expected-error @+1 {{expects frame rows as wide as the bank's, got 'tensor<4x6xf32>' for bank 'tensor<16x8xf32>'}}
  %b1, %n1 = memred.bank_append ins(%f : tensor<4x6xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<16x8xf32>) count(%n) recent(0.1) keep(0.1) scale(1.0) -> tensor<16x8xf32>, index
  return %b1, %n1 : tensor<16x8xf32>, index
}

// -----

func.func @bank_heads(%f: tensor<4x8xf32>, %q: tensor<2x3x8xf32>, %b: tensor<16x8xf32>, %n: index) -> (tensor<16x8xf32>, index) {
  // expected-error @+1 {{expects the queries' heads x width (2 x 8) to fit in a bank row of 8 columns}}
  %b1, %n1 = memred.bank_append ins(%f : tensor<4x8xf32>) queries(%q : tensor<2x3x8xf32>) outs(%b : tensor<16x8xf32>) count(%n) recent(0.1) keep(0.1) scale(1.0) -> tensor<16x8xf32>, index
  return %b1, %n1 : tensor<16x8xf32>, index
}

// -----

func.func @bank_dynamic(%f: tensor<4x8xf32>, %q: tensor<2x8xf32>, %b: tensor<?x8xf32>, %n: index) -> (tensor<?x8xf32>, index) {
  // expected-error @+1 {{expects a static bank [capacity, C], got 'tensor<?x8xf32>'}}
  %b1, %n1 = memred.bank_append ins(%f : tensor<4x8xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<?x8xf32>) count(%n) recent(0.1) keep(0.1) scale(1.0) -> tensor<?x8xf32>, index
  return %b1, %n1 : tensor<?x8xf32>, index
}

// -----

func.func @bank_big_frame(%f: tensor<20x8xf32>, %q: tensor<2x8xf32>, %b: tensor<16x8xf32>, %n: index) -> (tensor<16x8xf32>, index) {
  // expected-error @+1 {{cannot append a frame of 20 rows to a bank of capacity 16}}
  %b1, %n1 = memred.bank_append ins(%f : tensor<20x8xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<16x8xf32>) count(%n) recent(0.1) keep(0.1) scale(1.0) -> tensor<16x8xf32>, index
  return %b1, %n1 : tensor<16x8xf32>, index
}

// -----

// A full bank of 8 plus a frame of 8 (16 rows) keeps 8 recent + 4 = 12 > 8.
func.func @bank_overflow(%f: tensor<8x8xf32>, %q: tensor<2x8xf32>, %b: tensor<8x8xf32>, %n: index) -> (tensor<8x8xf32>, index) {
  // expected-error @+1 {{keeps 12 of the 16 rows of a full bank plus a frame (recent 5.000000e-01, keep 5.000000e-01), more than the capacity 8; lower the fractions or raise the capacity}}
  %b1, %n1 = memred.bank_append ins(%f : tensor<8x8xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<8x8xf32>) count(%n) recent(0.5) keep(0.5) scale(1.0) -> tensor<8x8xf32>, index
  return %b1, %n1 : tensor<8x8xf32>, index
}

// -----

func.func @bank_result(%f: tensor<4x8xf32>, %q: tensor<2x8xf32>, %b: tensor<16x8xf32>, %n: index) -> (tensor<8x8xf32>, index) {
  // expected-error @+1 {{on tensors returns the new bank of the bank's type 'tensor<16x8xf32>' and the new count}}
  %b1, %n1 = memred.bank_append ins(%f : tensor<4x8xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<16x8xf32>) count(%n) recent(0.1) keep(0.1) scale(1.0) -> tensor<8x8xf32>, index
  return %b1, %n1 : tensor<8x8xf32>, index
}

// -----

func.func @lse_shape(%q: tensor<2x8x4xf32>, %l: tensor<2x4xf32>) -> (tensor<2x8x4xf32>, tensor<2x4xf32>) {
  // expected-error @+1 {{expects the log-sum-exp of shape [..., Lq] (the query's shape without its last dimension), got 'tensor<2x4xf32>'}}
  %o:2 = memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) lse(%l : tensor<2x4xf32>) scale(1.0) -> tensor<2x8x4xf32>, tensor<2x4xf32>
  return %o#0, %o#1 : tensor<2x8x4xf32>, tensor<2x4xf32>
}

// -----

func.func @lse_results(%q: tensor<2x8x4xf32>, %l: tensor<2x8xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{on tensors returns one result per init, of the inits' types 'tensor<2x8x4xf32>', 'tensor<2x8xf32>'}}
  %o = memred.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) outs(%q : tensor<2x8x4xf32>) lse(%l : tensor<2x8xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

func.func @grad_chunks(%q: tensor<2x8x4xf32>, %l: tensor<2x8xf32>) {
  // expected-error @+1 {{expects chunk sizes >= 0 (0: the runtime's), got (-1, 0)}}
  %g:3 = memred.attention_grad ins(%q, %q, %q, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8xf32>) outs(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) scale(1.0) chunks(-1, 0) -> tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>
  return
}

// -----

func.func @grad_results(%q: tensor<2x8x4xf32>, %l: tensor<2x8xf32>) {
  // expected-error @+1 {{on tensors returns one result per init}}
  %g:2 = memred.attention_grad ins(%q, %q, %q, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8xf32>) outs(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) scale(1.0) chunks(0, 0) -> tensor<2x8x4xf32>, tensor<2x8x4xf32>
  return
}

// -----

func.func @grad_rank(%q: tensor<8xf32>, %l: tensor<f32>) {
  // expected-error @+1 {{expects query of rank 2 to 5}}
  %g:3 = memred.attention_grad ins(%q, %q, %q, %q, %q, %l : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>) outs(%q, %q, %q : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) scale(1.0) chunks(0, 0) -> tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @grad_kv(%q: tensor<2x8x4xf32>, %k: tensor<2x6x5xf32>, %l: tensor<2x8xf32>) {
  // expected-error @+1 {{expects key [..., Lk, D] and value [..., Lk, Dv] with the query's batch dimensions and head width}}
  %g:3 = memred.attention_grad ins(%q, %k, %k, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x6x5xf32>, tensor<2x6x5xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8xf32>) outs(%q, %k, %k : tensor<2x8x4xf32>, tensor<2x6x5xf32>, tensor<2x6x5xf32>) scale(1.0) chunks(0, 0) -> tensor<2x8x4xf32>, tensor<2x6x5xf32>, tensor<2x6x5xf32>
  return
}

// -----

func.func @grad_key_grad(%q: tensor<2x8x4xf32>, %k: tensor<2x6x4xf32>, %l: tensor<2x8xf32>) {
  // expected-error @+1 {{expects key_grad of shape [..., 6, 4] with the query's batch dimensions, got 'tensor<2x8x4xf32>'}}
  %g:3 = memred.attention_grad ins(%q, %k, %k, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x6x4xf32>, tensor<2x6x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8xf32>) outs(%q, %q, %k : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x6x4xf32>) scale(1.0) chunks(0, 0) -> tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x6x4xf32>
  return
}

// -----

func.func @grad_lse(%q: tensor<2x8x4xf32>, %l: tensor<8xf32>) {
  // expected-error @+1 {{expects the log-sum-exp of shape [..., Lq]}}
  %g:3 = memred.attention_grad ins(%q, %q, %q, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<8xf32>) outs(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) scale(1.0) chunks(0, 0) -> tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>
  return
}

// -----

func.func @grad_biases(%q: tensor<2x8x4xf32>, %l: tensor<2x8xf32>, %b: tensor<1x8x8xf32>) {
  // expected-error @+1 {{expects at most two biases, got 3}}
  %g:3 = memred.attention_grad ins(%q, %q, %q, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8xf32>) biases(%b, %b, %b : tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>) outs(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) scale(1.0) chunks(0, 0) -> tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>
  return
}

// -----

func.func @grad_bias_shape(%q: tensor<2x8x4xf32>, %l: tensor<2x8xf32>, %b: tensor<1x8x4xf32>) {
  // expected-error @+1 {{expects each bias to broadcast to the score shape [2, 8, 8] (same rank, each size equal or 1), got 'tensor<1x8x4xf32>'}}
  %g:3 = memred.attention_grad ins(%q, %q, %q, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8xf32>) biases(%b : tensor<1x8x4xf32>) outs(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) scale(1.0) chunks(0, 0) -> tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>
  return
}

// -----

func.func @grad_bias_index(%q: tensor<2x8x4xf32>, %l: tensor<2x8xf32>, %b: tensor<1x8x8xf32>) {
  // expected-error @+1 {{expects increasing bias indices below the number of biases (1), got 1}}
  %g:4 = memred.attention_grad ins(%q, %q, %q, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8xf32>) biases(%b : tensor<1x8x8xf32>) outs(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) bias_grads [1] (%b : tensor<1x8x8xf32>) scale(1.0) chunks(0, 0) -> tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<1x8x8xf32>
  return
}

// -----

func.func @grad_bias_count(%q: tensor<2x8x4xf32>, %l: tensor<2x8xf32>, %b: tensor<1x8x8xf32>) {
  // expected-error @+1 {{lists 1 bias indices for 2 bias gradients}}
  %g:5 = memred.attention_grad ins(%q, %q, %q, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8xf32>) biases(%b, %b : tensor<1x8x8xf32>, tensor<1x8x8xf32>) outs(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) bias_grads [0] (%b, %b : tensor<1x8x8xf32>, tensor<1x8x8xf32>) scale(1.0) chunks(0, 0) -> tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>
  return
}

// -----

func.func @grad_bias_grad_shape(%q: tensor<2x8x4xf32>, %l: tensor<2x8xf32>, %b: tensor<1x8x8xf32>, %db: tensor<2x8x8xf32>) {
  // expected-error @+1 {{expects the gradient of bias 0 to have its shape 'tensor<1x8x8xf32>', got 'tensor<2x8x8xf32>'}}
  %g:4 = memred.attention_grad ins(%q, %q, %q, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8xf32>) biases(%b : tensor<1x8x8xf32>) outs(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) bias_grads [0] (%db : tensor<2x8x8xf32>) scale(1.0) chunks(0, 0) -> tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x8xf32>
  return
}

// -----

func.func @grad_scale(%q: tensor<2x8x4xf32>, %l: tensor<2x8xf32>) {
  // expected-error @+1 {{expects a finite, non-zero scale, got 0}}
  %g:3 = memred.attention_grad ins(%q, %q, %q, %q, %q, %l : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8xf32>) outs(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) scale(0.0) chunks(0, 0) -> tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>
  return
}

// -----

func.func @bank_policy(%f: tensor<4x8xf32>, %q: tensor<2x8xf32>, %b: tensor<16x8xf32>, %n: index) -> (tensor<16x8xf32>, index) {
  // expected-error @+2 {{unknown policy 'lru' (expected one of: adacm2, recent, random, merge)}}
  // expected-error @+1 {{failed to parse MemRed_BankPolicyAttr parameter}}
  %b1, %n1 = memred.bank_append ins(%f : tensor<4x8xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<16x8xf32>) count(%n) recent(0.1) keep(0.1) scale(1.0) policy(lru) -> tensor<16x8xf32>, index
  return %b1, %n1 : tensor<16x8xf32>, index
}

// -----

func.func @bank_random_no_step(%f: tensor<4x8xf32>, %q: tensor<2x8xf32>, %b: tensor<16x8xf32>, %n: index) -> (tensor<16x8xf32>, index) {
  // expected-error @+1 {{with policy random needs a step (the draw's key, e.g. the frame index)}}
  %b1, %n1 = memred.bank_append ins(%f : tensor<4x8xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<16x8xf32>) count(%n) recent(0.1) keep(0.1) scale(1.0) policy(random) -> tensor<16x8xf32>, index
  return %b1, %n1 : tensor<16x8xf32>, index
}

// -----

func.func @bank_step_not_random(%f: tensor<4x8xf32>, %q: tensor<2x8xf32>, %b: tensor<16x8xf32>, %n: index) -> (tensor<16x8xf32>, index) {
  // expected-error @+1 {{takes a step only with policy random}}
  %b1, %n1 = memred.bank_append ins(%f : tensor<4x8xf32>) queries(%q : tensor<2x8xf32>) outs(%b : tensor<16x8xf32>) count(%n) step(%n) recent(0.1) keep(0.1) scale(1.0) policy(merge) -> tensor<16x8xf32>, index
  return %b1, %n1 : tensor<16x8xf32>, index
}

// -----

func.func @decision_chunked(%q: tensor<1x16x8xf32>, %e: tensor<1x16x8xf32>) -> tensor<1x16x8xf32> {
  // expected-error @+1 {{a "chunked" decision needs q_chunk and kv_chunk}}
  %o = memred.attention ins(%q, %q, %q : tensor<1x16x8xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>) outs(%e : tensor<1x16x8xf32>) scale(0.125) {lathe.decision = #memred.decision<action = "chunked", budget_bytes = 4096, score_bytes = 1024>} -> tensor<1x16x8xf32>
  return %o : tensor<1x16x8xf32>
}

// -----

func.func @decision_action(%q: tensor<1x16x8xf32>, %e: tensor<1x16x8xf32>) -> tensor<1x16x8xf32> {
  // expected-error @+1 {{expects action "kept: scores fit", "chunked" or "bounded streaming cache", got "spilled"}}
  %o = memred.attention ins(%q, %q, %q : tensor<1x16x8xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>) outs(%e : tensor<1x16x8xf32>) scale(0.125) {lathe.decision = #memred.decision<action = "spilled", budget_bytes = 4096>} -> tensor<1x16x8xf32>
  return %o : tensor<1x16x8xf32>
}

// -----

// IR written before the enum attributes, in the generic form: the error
// names the attribute, its values and the value given.
func.func @bank_policy_string_generic(%f: tensor<4x8xf32>, %q: tensor<2x8xf32>, %b: tensor<16x8xf32>, %n: index) -> (tensor<16x8xf32>, index) {
  // expected-error @+1 {{'policy' must be an #memred<policy ...> enum attribute, one of: adacm2, recent, random, merge; got "recent"}}
  %b1, %n1 = "memred.bank_append"(%f, %q, %b, %n) <{keep = 1.0e-01 : f64, policy = "recent", recent = 1.0e-01 : f64, scale = 1.0 : f32, seed = 0 : i64}> : (tensor<4x8xf32>, tensor<2x8xf32>, tensor<16x8xf32>, index) -> (tensor<16x8xf32>, index)
  return %b1, %n1 : tensor<16x8xf32>, index
}
