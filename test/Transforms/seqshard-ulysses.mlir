// RUN: lathe-opt %s --seqshard-ulysses=degree=2 | FileCheck %s
// RUN: lathe-opt %s --seqshard-ulysses=degree=2 --seqshard-expand-all-to-all | FileCheck %s --check-prefix=EXPAND
// RUN: lathe-opt %s "--seqshard-ulysses=degree=2 quantize=8 quant-group-size=32 hadamard=true" | FileCheck %s --check-prefix=QUANT
// RUN: not lathe-opt %s "--seqshard-ulysses=degree=2 quantize=8" 2>&1 | FileCheck %s --check-prefix=QGROUP
// RUN: not lathe-opt %s "--seqshard-ulysses=degree=2 quantize=3" 2>&1 | FileCheck %s --check-prefix=QBITS
// RUN: not lathe-opt %s "--seqshard-ulysses=degree=2 hadamard=true" 2>&1 | FileCheck %s --check-prefix=QHAD

// quantize=8: every all-to-all (the distinct q/k operands' scatters and the
// output's gather) is marked quantized.
// QUANT-COUNT-2: seqshard.scatter_heads {{.*}} layout = bshd quant_bits = 8 quant_group_size = 32 hadamard : tensor<2x4x2x8xf32> -> tensor<2x8x1x8xf32>
// QUANT: seqshard.gather_heads {{.*}} layout = bshd quant_bits = 8 quant_group_size = 32 hadamard : tensor<2x8x1x8xf32> -> tensor<2x4x2x8xf32>
// The default group of 128 straddles the 64-value blocks of this tiny model.
// QGROUP: error: 'seqshard.scatter_heads' op quantizes the all-to-all in groups of 128 values, but each of the 2 blocks a process sends holds 64 values (numel(input) / 2), not a multiple of the group size, so a group would straddle two blocks: use a quant_group_size dividing 64
// QBITS: error: seqshard-ulysses: quantize must be 0 (f32), 4 or 8 bits, got 3
// QHAD: error: seqshard-ulysses: hadamard needs quantize=4 or 8

// Batch-first [B, N, h]: the input sliced by the process index, position
// terms sliced and linalg.index offset, projections and heads on N/P,
// scatter_heads of q, k, v around the attention (one for a value that is
// both the query and the value) (the causal mask stays
// whole), gather_heads after it, the output all-gathered along the sequence
// (moved to the front: the batch dimension is outermost).
#x = affine_map<(b, n, c) -> (b, n, c)>
#pos = affine_map<(b, n, c) -> (n, c)>
#in = affine_map<(b, n, k, c) -> (b, n, k)>
#w = affine_map<(b, n, k, c) -> (k, c)>
#out = affine_map<(b, n, k, c) -> (b, n, c)>
// CHECK: shard.grid @seqshard(shape = 2)
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
// CHECK: %[[K:.*]] = shard.process_linear_index on @seqshard : index
// CHECK: %[[OFF:.*]] = arith.muli %[[K]], %{{.*}} : index
// CHECK: %[[XS:.*]] = tensor.extract_slice %[[X]][0, %[[OFF]], 0] [2, 4, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<2x4x16xf32>
// CHECK: %[[POS:.*]] = tensor.extract_slice %{{.*}}[%{{.*}}, 0] [4, 16] [1, 1] : tensor<8x16xf32> to tensor<4x16xf32>
// CHECK: %[[START:.*]] = arith.muli %[[K]]
// CHECK: linalg.generic {{.*}} ins(%[[XS]], %[[POS]] : tensor<2x4x16xf32>, tensor<4x16xf32>)
// CHECK: %[[I:.*]] = linalg.index 1 : index
// CHECK: arith.addi %[[I]], %[[START]] : index
// CHECK: } -> tensor<2x4x16xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x4x16xf32>, tensor<16x16xf32>) outs(%{{.*}} : tensor<2x4x16xf32>)
// CHECK: %[[Q:.*]] = seqshard.scatter_heads %{{.*}} on @seqshard grid_axes = [0] layout = bshd : tensor<2x4x2x8xf32> -> tensor<2x8x1x8xf32>
// CHECK: %[[QT:.*]] = linalg.transpose ins(%[[Q]] : tensor<2x8x1x8xf32>) outs(%{{.*}} : tensor<2x1x8x8xf32>) permutation = [0, 2, 1, 3]
// CHECK: seqshard.scatter_heads
// CHECK: %[[KT:.*]] = linalg.transpose
// CHECK: %[[A:.*]] = memred.attention ins(%[[QT]], %[[KT]], %[[QT]] : tensor<2x1x8x8xf32>, tensor<2x1x8x8xf32>, tensor<2x1x8x8xf32>) biases(%{{.*}} : tensor<1x1x8x8xf32>) outs(%{{.*}} : tensor<2x1x8x8xf32>)
// CHECK: %[[AT:.*]] = linalg.transpose ins(%[[A]] : tensor<2x1x8x8xf32>) outs(%{{.*}} : tensor<2x8x1x8xf32>) permutation = [0, 2, 1, 3]
// CHECK: seqshard.gather_heads %[[AT]] on @seqshard grid_axes = [0] layout = bshd : tensor<2x8x1x8xf32> -> tensor<2x4x2x8xf32>
// CHECK: %[[R:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3]] : tensor<2x4x2x8xf32> into tensor<2x4x16xf32>
// CHECK: %[[RT:.*]] = linalg.transpose ins(%[[R]] : tensor<2x4x16xf32>) outs(%{{.*}} : tensor<4x2x16xf32>) permutation = [1, 0, 2]
// CHECK: %[[G:.*]] = shard.all_gather %[[RT]] on @seqshard grid_axes = [0] gather_axis = 0 : tensor<4x2x16xf32> -> tensor<8x2x16xf32>
// CHECK: %[[O:.*]] = linalg.transpose ins(%[[G]] : tensor<8x2x16xf32>) outs(%{{.*}} : tensor<2x8x16xf32>) permutation = [1, 0, 2]
// CHECK: return %[[O]]
// EXPAND-LABEL: func.func @main
// EXPAND-COUNT-3: shard.all_to_all {{.*}} split_axis = 0 concat_axis = 0
// EXPAND-NOT: seqshard.
func.func @main(%x: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %pos = arith.constant dense<0.5> : tensor<8x16xf32>
  %mask = arith.constant dense<0.0> : tensor<1x1x8x8xf32>
  %w = arith.constant dense<0.25> : tensor<16x16xf32>
  %e0 = tensor.empty() : tensor<2x8x16xf32>
  %x0 = linalg.generic {indexing_maps = [#x, #pos, #x], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %pos : tensor<2x8x16xf32>, tensor<8x16xf32>) outs(%e0 : tensor<2x8x16xf32>) {
  ^bb0(%a: f32, %p: f32, %o: f32):
    %n = linalg.index 1 : index
    %ni = arith.index_cast %n : index to i32
    %nf = arith.sitofp %ni : i32 to f32
    %s = arith.addf %a, %p : f32
    %t = arith.addf %s, %nf : f32
    linalg.yield %t : f32
  } -> tensor<2x8x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  %h = linalg.generic {indexing_maps = [#in, #w, #out], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%x0, %w : tensor<2x8x16xf32>, tensor<16x16xf32>) outs(%f : tensor<2x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x8x16xf32>
  %h4 = tensor.expand_shape %h [[0], [1], [2, 3]] output_shape [2, 8, 2, 8] : tensor<2x8x16xf32> into tensor<2x8x2x8xf32>
  %et = tensor.empty() : tensor<2x2x8x8xf32>
  %q = linalg.transpose ins(%h4 : tensor<2x8x2x8xf32>) outs(%et : tensor<2x2x8x8xf32>) permutation = [0, 2, 1, 3]
  %ea = tensor.empty() : tensor<2x2x8x8xf32>
  %x4 = tensor.expand_shape %x0 [[0], [1], [2, 3]] output_shape [2, 8, 2, 8] : tensor<2x8x16xf32> into tensor<2x8x2x8xf32>
  %ek = tensor.empty() : tensor<2x2x8x8xf32>
  %k = linalg.transpose ins(%x4 : tensor<2x8x2x8xf32>) outs(%ek : tensor<2x2x8x8xf32>) permutation = [0, 2, 1, 3]
  %a = memred.attention ins(%q, %k, %q : tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>) biases(%mask : tensor<1x1x8x8xf32>) outs(%ea : tensor<2x2x8x8xf32>) scale(0.35) -> tensor<2x2x8x8xf32>
  %eb = tensor.empty() : tensor<2x8x2x8xf32>
  %at = linalg.transpose ins(%a : tensor<2x2x8x8xf32>) outs(%eb : tensor<2x8x2x8xf32>) permutation = [0, 2, 1, 3]
  %r = tensor.collapse_shape %at [[0], [1], [2, 3]] : tensor<2x8x2x8xf32> into tensor<2x8x16xf32>
  return %r : tensor<2x8x16xf32>
}
