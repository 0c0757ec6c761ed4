// RUN: lathe-opt %s | lathe-opt | FileCheck %s

shard.grid @seqshard(shape = 2)
shard.grid @grid2d(shape = 2x2)

// CHECK-LABEL: func.func @bshd
// CHECK: %[[Y:.*]] = seqshard.scatter_heads %{{.*}} on @seqshard grid_axes = [0] layout = bshd : tensor<1x128x4x16xf32> -> tensor<1x256x2x16xf32>
// CHECK: seqshard.gather_heads %[[Y]] on @seqshard grid_axes = [0] layout = bshd : tensor<1x256x2x16xf32> -> tensor<1x128x4x16xf32>
func.func @bshd(%x: tensor<1x128x4x16xf32>) -> tensor<1x128x4x16xf32> {
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd : tensor<1x128x4x16xf32> -> tensor<1x256x2x16xf32>
  %z = seqshard.gather_heads %y on @seqshard grid_axes = [0] layout = bshd : tensor<1x256x2x16xf32> -> tensor<1x128x4x16xf32>
  return %z : tensor<1x128x4x16xf32>
}

// CHECK-LABEL: func.func @sbhd
// CHECK: seqshard.scatter_heads %{{.*}} on @grid2d grid_axes = [1, 0] layout = sbhd : tensor<32x3x8x16xf32> -> tensor<128x3x2x16xf32>
// CHECK: seqshard.gather_heads %{{.*}} on @grid2d grid_axes = [1, 0] layout = sbhd : tensor<128x3x2x16xf32> -> tensor<32x3x8x16xf32>
func.func @sbhd(%x: tensor<32x3x8x16xf32>) -> tensor<32x3x8x16xf32> {
  %y = seqshard.scatter_heads %x on @grid2d grid_axes = [1, 0] layout = sbhd : tensor<32x3x8x16xf32> -> tensor<128x3x2x16xf32>
  %z = seqshard.gather_heads %y on @grid2d grid_axes = [1, 0] layout = sbhd : tensor<128x3x2x16xf32> -> tensor<32x3x8x16xf32>
  return %z : tensor<32x3x8x16xf32>
}

// Grouped-query attention: 8 query heads share 4 key/value heads.
// CHECK-LABEL: func.func @gqa
// CHECK: seqshard.scatter_heads %{{.*}} on @seqshard grid_axes = [0] layout = bshd query_heads = 8 : tensor<2x64x4x16xf32> -> tensor<2x128x2x16xf32>
func.func @gqa(%k: tensor<2x64x4x16xf32>) -> tensor<2x128x2x16xf32> {
  %y = seqshard.scatter_heads %k on @seqshard grid_axes = [0] layout = bshd query_heads = 8 : tensor<2x64x4x16xf32> -> tensor<2x128x2x16xf32>
  return %y : tensor<2x128x2x16xf32>
}

// Quantized all-to-alls: 8 bits in groups of 128, optionally with the
// Hadamard transform.
// CHECK-LABEL: func.func @quantized
// CHECK: seqshard.scatter_heads %{{.*}} on @seqshard grid_axes = [0] layout = bshd quant_bits = 8 quant_group_size = 128 : tensor<1x128x4x16xf32> -> tensor<1x256x2x16xf32>
// CHECK: seqshard.gather_heads %{{.*}} on @seqshard grid_axes = [0] layout = bshd quant_bits = 4 quant_group_size = 64 hadamard : tensor<1x256x2x16xf32> -> tensor<1x128x4x16xf32>
func.func @quantized(%x: tensor<1x128x4x16xf32>) -> tensor<1x128x4x16xf32> {
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd quant_bits = 8 quant_group_size = 128 : tensor<1x128x4x16xf32> -> tensor<1x256x2x16xf32>
  %z = seqshard.gather_heads %y on @seqshard grid_axes = [0] layout = bshd quant_bits = 4 quant_group_size = 64 hadamard : tensor<1x256x2x16xf32> -> tensor<1x128x4x16xf32>
  return %z : tensor<1x128x4x16xf32>
}
