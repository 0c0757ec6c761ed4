// RUN: lathe-opt %s --split-input-file --seqshard-ulysses=degree=2 --verify-diagnostics

// Three heads cannot be split over two ranks.
func.func @main(%x: tensor<1x8x3x4xf32>) -> tensor<1x3x8x4xf32> {
  %e = tensor.empty() : tensor<1x3x8x4xf32>
  %q = linalg.transpose ins(%x : tensor<1x8x3x4xf32>) outs(%e : tensor<1x3x8x4xf32>) permutation = [0, 2, 1, 3]
  %ea = tensor.empty() : tensor<1x3x8x4xf32>
  // expected-error @+1 {{seqshard-ulysses: the 3 attention heads are not divisible by the degree 2 (each rank computes heads / degree heads): use a degree among 1}}
  %a = memred.attention ins(%q, %q, %q : tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>) outs(%ea : tensor<1x3x8x4xf32>) scale(0.5) -> tensor<1x3x8x4xf32>
  return %a : tensor<1x3x8x4xf32>
}

// -----

// expected-error @+1 {{seqshard-ulysses: the sequence of 9 positions (argument #0, dimension 1) is not divisible by the degree 2: pad it to a multiple of 2 or pick a degree that divides 9}}
func.func @main(%x: tensor<1x9x16xf32>) -> tensor<1x9x16xf32> {
  return %x : tensor<1x9x16xf32>
}

// -----

func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %e = tensor.empty() : tensor<1x8x16xf32>
  // expected-error @+1 {{seqshard-ulysses: normalizes over the sequence dimension}}
  %s = linalg.softmax dimension(1) ins(%x : tensor<1x8x16xf32>) outs(%e : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %s : tensor<1x8x16xf32>
}

// -----

func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x32xf32> {
  // expected-error @+1 {{seqshard-ulysses: does not know how the sequence dimension flows through this op}}
  %c = tensor.concat dim(2) %x, %x : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x32xf32>
  return %c : tensor<1x8x32xf32>
}

// -----

// The scores of linalg attention that was not raised mix two sequences.
func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x8xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x8xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  // expected-error @+1 {{seqshard-ulysses: mixes the sequences of two operands in different loops (an attention pattern that was not raised?)}}
  %s = linalg.batch_matmul indexing_maps = [affine_map<(b, i, j, k) -> (b, i, k)>, affine_map<(b, i, j, k) -> (b, j, k)>, affine_map<(b, i, j, k) -> (b, i, j)>] ins(%x, %x : tensor<1x8x16xf32>, tensor<1x8x16xf32>) outs(%f : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  return %s : tensor<1x8x8xf32>
}

// -----

// expected-error @+1 {{seqshard-ulysses: no function @main to shard (option function=...)}}
module {
  func.func @other(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
    return %x : tensor<1x8x16xf32>
  }
}

// -----

func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %e = tensor.empty() : tensor<1x8x16xf32>
  // expected-error @+1 {{seqshard-ulysses: reads a sequence-sharded value inside its region}}
  %r = linalg.generic {indexing_maps = [affine_map<(b, n, c) -> (b, n, c)>], iterator_types = ["parallel", "parallel", "parallel"]} outs(%e : tensor<1x8x16xf32>) {
  ^bb0(%o: f32):
    %c0 = arith.constant 0 : index
    %v = tensor.extract %x[%c0, %c0, %c0] : tensor<1x8x16xf32>
    linalg.yield %v : f32
  } -> tensor<1x8x16xf32>
  return %r : tensor<1x8x16xf32>
}

// -----

// Positions of a sequence merged with the batch ([B·N] rows) are not the
// loop index plus an offset.
func.func @main(%x: tensor<2x8x16xf32>) -> tensor<16x16xf32> {
  %rows = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>
  %e = tensor.empty() : tensor<16x16xf32>
  // expected-error @+1 {{seqshard-ulysses: reads the positions (linalg.index) of a sequence merged with other dimensions}}
  %r = linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r, c)>], iterator_types = ["parallel", "parallel"]} ins(%rows : tensor<16x16xf32>) outs(%e : tensor<16x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i64
    %f = arith.sitofp %ii : i64 to f32
    %s = arith.addf %a, %f : f32
    linalg.yield %s : f32
  } -> tensor<16x16xf32>
  return %r : tensor<16x16xf32>
}

// -----

// A slice that cuts the sequence.
func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x4x16xf32> {
  // expected-error @+1 {{seqshard-ulysses: takes part of the sequence dimension (a slice must keep all of it, rank and unit strides)}}
  %s = tensor.extract_slice %x[0, 2, 0] [1, 4, 16] [1, 1, 1] : tensor<1x8x16xf32> to tensor<1x4x16xf32>
  return %s : tensor<1x4x16xf32>
}

// -----

// Rank-3 attention without a [B, H, ...] source: its 3 batch x heads
// problems count as the heads.
func.func @main(%q: tensor<3x8x4xf32>) -> tensor<3x8x4xf32> {
  %i = tensor.empty() : tensor<3x8x4xf32>
  // expected-error @+1 {{seqshard-ulysses: (rank-3 attention whose batch x heads = 3 count as the heads) the 3 attention heads are not divisible by the degree 2}}
  %a = memred.attention ins(%q, %q, %q : tensor<3x8x4xf32>, tensor<3x8x4xf32>, tensor<3x8x4xf32>) outs(%i : tensor<3x8x4xf32>) scale(0.5) -> tensor<3x8x4xf32>
  return %a : tensor<3x8x4xf32>
}
