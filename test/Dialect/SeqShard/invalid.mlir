// RUN: lathe-opt %s --split-input-file --verify-diagnostics

shard.grid @seqshard(shape = 4)
func.func @heads(%x: tensor<1x64x6x16xf32>) {
  // expected-error @+1 {{the 6 attention heads are not divisible by the degree 4 (each rank computes heads / degree heads): use a degree among 1, 2}}
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd : tensor<1x64x6x16xf32> -> tensor<1x256x1x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 4)
func.func @heads_gather(%y: tensor<1x256x1x16xf32>) {
  // expected-error @+1 {{the 6 attention heads are not divisible by the degree 4 (each rank computes heads / degree heads): use a degree among 1, 2}}
  %x = seqshard.gather_heads %y on @seqshard grid_axes = [0] layout = bshd : tensor<1x256x1x16xf32> -> tensor<1x64x6x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 3)
func.func @seq(%y: tensor<100x1x3x16xf32>) {
  // expected-error @+1 {{the sequence of 100 positions is not divisible by the degree 3 (each rank holds sequence / degree positions): use a degree among 1 or pad the sequence to a multiple of 3}}
  %x = seqshard.gather_heads %y on @seqshard grid_axes = [0] layout = sbhd : tensor<100x1x3x16xf32> -> tensor<33x1x9x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 4)
func.func @gqa_neither(%k: tensor<1x64x6x16xf32>) {
  // expected-error @+1 {{the 6 key/value heads of grouped-query attention neither divide nor are divisible by the degree 4: use a degree among 1, 2, 3, 6 or a multiple of 6 that divides the 12 query heads}}
  %y = seqshard.scatter_heads %k on @seqshard grid_axes = [0] layout = bshd query_heads = 12 : tensor<1x64x6x16xf32> -> tensor<1x256x1x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 4)
func.func @gqa_fewer(%k: tensor<1x64x2x16xf32>) {
  // expected-error @+1 {{the 2 key/value heads of grouped-query attention are fewer than the degree 4: replicating a key/value head to several ranks is not implemented yet; use a degree among 1, 2}}
  %y = seqshard.scatter_heads %k on @seqshard grid_axes = [0] layout = bshd query_heads = 8 : tensor<1x64x2x16xf32> -> tensor<1x256x1x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 4)
func.func @gqa_groups(%k: tensor<1x64x8x16xf32>) {
  // expected-error @+1 {{grouped-query attention needs the 12 query heads to be a multiple of the 8 key/value heads}}
  %y = seqshard.scatter_heads %k on @seqshard grid_axes = [0] layout = bshd query_heads = 12 : tensor<1x64x8x16xf32> -> tensor<1x256x2x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 2)
func.func @shape(%x: tensor<1x64x4x16xf32>) {
  // expected-error @+1 {{on a group of 2 processes expects a result of shape 1x128x2x16 (bshd: sequence x 2, heads / 2), got 'tensor<1x64x8x16xf32>'}}
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd : tensor<1x64x4x16xf32> -> tensor<1x64x8x16xf32>
  return
}

// -----

func.func @no_grid(%x: tensor<1x64x4x16xf32>) {
  // expected-error @+1 {{expects @nowhere to name a shard.grid}}
  %y = seqshard.scatter_heads %x on @nowhere grid_axes = [0] layout = bshd : tensor<1x64x4x16xf32> -> tensor<1x128x2x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 2)
func.func @rank(%x: tensor<64x4x16xf32>) {
  // expected-error @+1 {{expects static rank-4 tensors (bshd), got 'tensor<64x4x16xf32>' -> 'tensor<128x2x16xf32>'}}
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd : tensor<64x4x16xf32> -> tensor<128x2x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 2)
func.func @gather_query_heads(%y: tensor<1x128x2x16xf32>) {
  // expected-error @+1 {{query_heads marks the key or value of grouped-query attention, which is only scattered}}
  %x = seqshard.gather_heads %y on @seqshard grid_axes = [0] layout = bshd query_heads = 4 : tensor<1x128x2x16xf32> -> tensor<1x64x4x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 2)
func.func @quant_bits(%x: tensor<1x128x4x16xf32>) {
  // expected-error @+1 {{expects quant_bits to be 4 or 8, got 16}}
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd quant_bits = 16 : tensor<1x128x4x16xf32> -> tensor<1x256x2x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 2)
func.func @quant_group_without_bits(%x: tensor<1x128x4x16xf32>) {
  // expected-error @+1 {{quant_group_size and hadamard need quant_bits (a quantized all-to-all)}}
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd quant_group_size = 64 : tensor<1x128x4x16xf32> -> tensor<1x256x2x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 2)
func.func @quant_hadamard_group(%x: tensor<1x128x4x16xf32>) {
  // expected-error @+1 {{with hadamard expects quant_group_size to be a multiple of 32 (the transform's blocks of 32 stay within a group), got 48}}
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd quant_bits = 8 quant_group_size = 48 hadamard : tensor<1x128x4x16xf32> -> tensor<1x256x2x16xf32>
  return
}

// -----

shard.grid @seqshard(shape = 2)
func.func @quant_f16(%x: tensor<1x128x4x16xf16>) {
  // expected-error @+1 {{quantizes f32 values, got 'f16'}}
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd quant_bits = 8 : tensor<1x128x4x16xf16> -> tensor<1x256x2x16xf16>
  return
}

// -----

// 1 x 6 x 2 x 8 = 96 values, 48 per block: groups of 32 would straddle.
shard.grid @seqshard(shape = 2)
func.func @quant_straddle(%x: tensor<1x6x2x8xf32>) {
  // expected-error @+1 {{quantizes the all-to-all in groups of 32 values, but each of the 2 blocks a process sends holds 48 values (numel(input) / 2), not a multiple of the group size, so a group would straddle two blocks: use a quant_group_size dividing 48}}
  %y = seqshard.scatter_heads %x on @seqshard grid_axes = [0] layout = bshd quant_bits = 8 quant_group_size = 32 : tensor<1x6x2x8xf32> -> tensor<1x12x1x8xf32>
  return
}

// -----

// The default group of 128 does not divide the 64-value blocks.
shard.grid @seqshard(shape = 2)
func.func @quant_default_group(%y: tensor<1x16x2x4xf32>) {
  // expected-error @+1 {{quantizes the all-to-all in groups of 128 values, but each of the 2 blocks a process sends holds 64 values}}
  %x = seqshard.gather_heads %y on @seqshard grid_axes = [0] layout = bshd quant_bits = 8 : tensor<1x16x2x4xf32> -> tensor<1x8x4x4xf32>
  return
}
