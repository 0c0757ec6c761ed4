// RUN: lathe-opt %s --split-input-file --seqshard-expand-all-to-all | FileCheck %s

// [B, N/P, H, D]: heads split into [P, H/P], P to the front, all-to-all,
// P back in front of the sequence, [P, N/P] merged.
shard.grid @seqshard(shape = 2)
// CHECK-LABEL: func.func @scatter_bshd
// CHECK-SAME: (%[[X:.*]]: tensor<1x128x4x16xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3], [4]] {{.*}} into tensor<1x128x2x2x16xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[E]] : {{.*}}) outs(%{{.*}} : tensor<2x1x128x2x16xf32>) permutation = [2, 0, 1, 3, 4]
// CHECK: %[[A:.*]] = shard.all_to_all %[[T]] on @seqshard grid_axes = [0] split_axis = 0 concat_axis = 0 : tensor<2x1x128x2x16xf32> -> tensor<2x1x128x2x16xf32>
// CHECK: %[[B:.*]] = linalg.transpose ins(%[[A]] : {{.*}}) outs(%{{.*}} : tensor<1x2x128x2x16xf32>) permutation = [1, 0, 2, 3, 4]
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[B]] {{\[}}[0], [1, 2], [3], [4]] : tensor<1x2x128x2x16xf32> into tensor<1x256x2x16xf32>
// CHECK: return %[[C]]
func.func @scatter_bshd(%x: tensor<1x128x4x16xf32>) -> tensor<1x256x2x16xf32> {
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd : tensor<1x128x4x16xf32> -> tensor<1x256x2x16xf32>
  return %y : tensor<1x256x2x16xf32>
}

// The inverse: sequence split into [P, N/P], P to the front, all-to-all, P
// back in front of the heads, [P, H/P] merged.
// CHECK-LABEL: func.func @gather_bshd
// CHECK-SAME: (%[[Y:.*]]: tensor<3x256x2x16xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[Y]] {{\[}}[0], [1, 2], [3], [4]] {{.*}} into tensor<3x2x128x2x16xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[E]] : {{.*}}) outs(%{{.*}} : tensor<2x3x128x2x16xf32>) permutation = [1, 0, 2, 3, 4]
// CHECK: %[[A:.*]] = shard.all_to_all %[[T]] on @seqshard grid_axes = [0] split_axis = 0 concat_axis = 0
// CHECK: %[[B:.*]] = linalg.transpose ins(%[[A]] : {{.*}}) outs(%{{.*}} : tensor<3x128x2x2x16xf32>) permutation = [1, 2, 0, 3, 4]
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[B]] {{\[}}[0], [1], [2, 3], [4]] : tensor<3x128x2x2x16xf32> into tensor<3x128x4x16xf32>
// CHECK: return %[[C]]
func.func @gather_bshd(%y: tensor<3x256x2x16xf32>) -> tensor<3x128x4x16xf32> {
  %x = seqshard.gather_heads %y on @seqshard grid_axes = [0] layout = bshd : tensor<3x256x2x16xf32> -> tensor<3x128x4x16xf32>
  return %x : tensor<3x128x4x16xf32>
}

// -----

// [N/P, B, H, D] on a 2x2 grid over both axes (P = 4): after the all-to-all
// P already precedes the sequence, so no transpose is needed there.
shard.grid @grid(shape = 2x2)
// CHECK-LABEL: func.func @scatter_sbhd
// CHECK-SAME: (%[[X:.*]]: tensor<32x3x8x16xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3], [4]] {{.*}} into tensor<32x3x4x2x16xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[E]] : {{.*}}) outs(%{{.*}} : tensor<4x32x3x2x16xf32>) permutation = [2, 0, 1, 3, 4]
// CHECK: %[[A:.*]] = shard.all_to_all %[[T]] on @grid grid_axes = [1, 0] split_axis = 0 concat_axis = 0
// CHECK-NOT: linalg.transpose
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[A]] {{\[}}[0, 1], [2], [3], [4]] : tensor<4x32x3x2x16xf32> into tensor<128x3x2x16xf32>
// CHECK: return %[[C]]
func.func @scatter_sbhd(%x: tensor<32x3x8x16xf32>) -> tensor<128x3x2x16xf32> {
  %y = seqshard.scatter_heads %x on @grid grid_axes = [1, 0] layout = sbhd : tensor<32x3x8x16xf32> -> tensor<128x3x2x16xf32>
  return %y : tensor<128x3x2x16xf32>
}

// CHECK-LABEL: func.func @gather_sbhd
// CHECK-SAME: (%[[Y:.*]]: tensor<128x3x2x16xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2], [3], [4]] {{.*}} into tensor<4x32x3x2x16xf32>
// CHECK-NOT: linalg.transpose
// CHECK: %[[A:.*]] = shard.all_to_all %[[E]] on @grid grid_axes = [1, 0] split_axis = 0 concat_axis = 0
// CHECK: %[[B:.*]] = linalg.transpose ins(%[[A]] : {{.*}}) outs(%{{.*}} : tensor<32x3x4x2x16xf32>) permutation = [1, 2, 0, 3, 4]
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[B]] {{\[}}[0], [1], [2, 3], [4]] : tensor<32x3x4x2x16xf32> into tensor<32x3x8x16xf32>
// CHECK: return %[[C]]
func.func @gather_sbhd(%y: tensor<128x3x2x16xf32>) -> tensor<32x3x8x16xf32> {
  %x = seqshard.gather_heads %y on @grid grid_axes = [1, 0] layout = sbhd : tensor<128x3x2x16xf32> -> tensor<32x3x8x16xf32>
  return %x : tensor<32x3x8x16xf32>
}

// -----

// Quantized: after P is brought to the front, the 2 x 8192 values are
// flattened (block j = values [j * 8192, (j + 1) * 8192)), quantized in
// groups of 128, the bytes and the scales exchanged, dequantized and put
// back in shape before the inverse permutation.
shard.grid @seqshard(shape = 2)
// CHECK-LABEL: func.func @scatter_quantized
// CHECK-SAME: (%[[X:.*]]: tensor<1x128x4x32xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3], [4]] {{.*}} into tensor<1x128x2x2x32xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[E]] : {{.*}}) outs(%{{.*}} : tensor<2x1x128x2x32xf32>) permutation = [2, 0, 1, 3, 4]
// CHECK: %[[F:.*]] = tensor.collapse_shape %[[T]] {{\[}}[0, 1, 2, 3, 4]] : tensor<2x1x128x2x32xf32> into tensor<16384xf32>
// CHECK-NOT: qcomm.hadamard
// CHECK: %[[Q:.*]]:2 = qcomm.quantize ins(%[[F]] : tensor<16384xf32>) outs(%{{.*}}, %{{.*}} : tensor<16384xi8>, tensor<128xf32>) bits = 8 group_size = 128
// CHECK: %[[QA:.*]] = shard.all_to_all %[[Q]]#0 on @seqshard grid_axes = [0] split_axis = 0 concat_axis = 0 : tensor<16384xi8> -> tensor<16384xi8>
// CHECK: %[[SA:.*]] = shard.all_to_all %[[Q]]#1 on @seqshard grid_axes = [0] split_axis = 0 concat_axis = 0 : tensor<128xf32> -> tensor<128xf32>
// CHECK: %[[D:.*]] = qcomm.dequantize ins(%[[QA]], %[[SA]] : tensor<16384xi8>, tensor<128xf32>) outs(%{{.*}} : tensor<16384xf32>) bits = 8 group_size = 128
// CHECK-NOT: qcomm.hadamard
// CHECK: %[[U:.*]] = tensor.expand_shape %[[D]] {{\[}}[0, 1, 2, 3, 4]] {{.*}} into tensor<2x1x128x2x32xf32>
// CHECK: %[[B:.*]] = linalg.transpose ins(%[[U]] : {{.*}}) outs(%{{.*}} : tensor<1x2x128x2x32xf32>) permutation = [1, 0, 2, 3, 4]
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[B]] {{\[}}[0], [1, 2], [3], [4]] : tensor<1x2x128x2x32xf32> into tensor<1x256x2x32xf32>
// CHECK: return %[[C]]
func.func @scatter_quantized(%x: tensor<1x128x4x32xf32>) -> tensor<1x256x2x32xf32> {
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd quant_bits = 8 quant_group_size = 128 : tensor<1x128x4x32xf32> -> tensor<1x256x2x32xf32>
  return %y : tensor<1x256x2x32xf32>
}

// With hadamard and 4 bits: the transform before quantizing and after
// dequantizing; two values per byte.
// CHECK-LABEL: func.func @gather_quantized_hadamard
// CHECK: %[[T:.*]] = linalg.transpose
// CHECK-SAME: permutation = [1, 0, 2, 3, 4]
// CHECK: %[[F:.*]] = tensor.collapse_shape %[[T]] {{\[}}[0, 1, 2, 3, 4]] : tensor<2x1x128x2x32xf32> into tensor<16384xf32>
// CHECK: %[[H:.*]] = qcomm.hadamard ins(%[[F]] : tensor<16384xf32>)
// CHECK: %[[Q:.*]]:2 = qcomm.quantize ins(%[[H]] : tensor<16384xf32>) outs(%{{.*}}, %{{.*}} : tensor<8192xi8>, tensor<256xf32>) bits = 4 group_size = 64
// CHECK: %[[QA:.*]] = shard.all_to_all %[[Q]]#0 {{.*}} : tensor<8192xi8> -> tensor<8192xi8>
// CHECK: %[[SA:.*]] = shard.all_to_all %[[Q]]#1 {{.*}} : tensor<256xf32> -> tensor<256xf32>
// CHECK: %[[D:.*]] = qcomm.dequantize ins(%[[QA]], %[[SA]] : {{.*}}) {{.*}} bits = 4 group_size = 64
// CHECK: %[[H2:.*]] = qcomm.hadamard ins(%[[D]] : tensor<16384xf32>)
// CHECK: tensor.expand_shape %[[H2]] {{\[}}[0, 1, 2, 3, 4]] {{.*}} into tensor<2x1x128x2x32xf32>
func.func @gather_quantized_hadamard(%y: tensor<1x256x2x32xf32>) -> tensor<1x128x4x32xf32> {
  %x = seqshard.gather_heads %y on @seqshard grid_axes = [0] layout = bshd quant_bits = 4 quant_group_size = 64 hadamard : tensor<1x256x2x32xf32> -> tensor<1x128x4x32xf32>
  return %x : tensor<1x128x4x32xf32>
}
