// RUN: lathe-opt %s --qcomm-expand-collectives | FileCheck %s

shard.grid @dp(shape = 2x2)
shard.grid @four(shape = 4)

// SDP4Bit's gradient reduce-scatter on 2 nodes x 2 ranks: hop 1 (8 bits,
// groups of 512) over axis 1 inside the node, the fused sum and 4-bit
// requantization (groups of 128) between the hops, hop 2 over axis 0 across
// nodes, one Hadamard transform before and one after.
// CHECK-LABEL: func.func @two_hops
// CHECK-SAME: (%[[G:.*]]: tensor<16384xf32>, %[[SEED:.*]]: i64)
// CHECK: %[[IDX:.*]] = shard.process_linear_index on @dp : index
// CHECK: %[[IDX64:.*]] = arith.index_cast %[[IDX]] : index to i64
// CHECK: %[[S1:.*]] = arith.muli %[[SEED]], %{{.*}} : i64
// CHECK: %[[S2:.*]] = arith.addi %[[S1]], %[[IDX64]] : i64
// CHECK: %[[BASE:.*]] = arith.muli %[[S2]], %{{.*}} : i64
// CHECK: %[[E0:.*]] = tensor.empty() : tensor<16384xf32>
// CHECK: %[[H:.*]] = qcomm.hadamard ins(%[[G]] : tensor<16384xf32>) outs(%[[E0]] : tensor<16384xf32>)
// CHECK: %[[QE1:.*]] = tensor.empty() : tensor<16384xi8>
// CHECK: %[[SE1:.*]] = tensor.empty() : tensor<32xf32>
// CHECK: %[[Q1:.*]]:2 = qcomm.quantize ins(%[[H]] : tensor<16384xf32>) outs(%[[QE1]], %[[SE1]] : tensor<16384xi8>, tensor<32xf32>)
// CHECK-SAME: bits = 8 group_size = 512 stochastic(%[[BASE]])
// CHECK: %[[A1:.*]] = shard.all_to_all %[[Q1]]#0 on @dp grid_axes = [1] split_axis = 0 concat_axis = 0 : tensor<16384xi8> -> tensor<16384xi8>
// CHECK: %[[B1:.*]] = shard.all_to_all %[[Q1]]#1 on @dp grid_axes = [1] split_axis = 0 concat_axis = 0 : tensor<32xf32> -> tensor<32xf32>
// CHECK-NOT: qcomm.dequantize_reduce ins
// CHECK-NOT: qcomm.quantize
// CHECK: %[[HOP2:.*]] = arith.addi %[[BASE]], %{{.*}} : i64
// CHECK: %[[QE2:.*]] = tensor.empty() : tensor<4096xi8>
// CHECK: %[[SE2:.*]] = tensor.empty() : tensor<64xf32>
// CHECK: %[[Q2:.*]]:2 = qcomm.dequantize_reduce_requantize ins(%[[A1]], %[[B1]] : tensor<16384xi8>, tensor<32xf32>) outs(%[[QE2]], %[[SE2]] : tensor<4096xi8>, tensor<64xf32>)
// CHECK-SAME: parts = 2 bits = 8 group_size = 512 out_bits = 4 out_group_size = 128 stochastic(%[[HOP2]])
// CHECK: %[[A2:.*]] = shard.all_to_all %[[Q2]]#0 on @dp grid_axes = [0] split_axis = 0 concat_axis = 0 : tensor<4096xi8> -> tensor<4096xi8>
// CHECK: %[[B2:.*]] = shard.all_to_all %[[Q2]]#1 on @dp grid_axes = [0] split_axis = 0 concat_axis = 0 : tensor<64xf32> -> tensor<64xf32>
// CHECK: %[[R2:.*]] = qcomm.dequantize_reduce ins(%[[A2]], %[[B2]] : tensor<4096xi8>, tensor<64xf32>) outs(%{{.*}} : tensor<4096xf32>)
// CHECK-SAME: parts = 2 bits = 4 group_size = 128 ->
// CHECK: %[[OUT:.*]] = qcomm.hadamard ins(%[[R2]] : tensor<4096xf32>)
// CHECK: return %[[OUT]]
// CHECK-NOT: qcomm.reduce_scatter
func.func @two_hops(%g: tensor<16384xf32>, %seed: i64) -> tensor<4096xf32> {
  %r = qcomm.reduce_scatter %g on @dp intra(axes = [1] bits = 8 group_size = 512)
         inter(axes = [0] bits = 4 group_size = 128) hadamard stochastic(%seed)
         : tensor<16384xf32> -> tensor<4096xf32>
  return %r : tensor<4096xf32>
}

// One hop over both axes (intra = [0, 1]), no transform, round to nearest.
// CHECK-LABEL: func.func @one_hop
// CHECK-SAME: (%[[G:.*]]: tensor<4096xf32>)
// CHECK-NOT: process_linear_index
// CHECK-NOT: qcomm.hadamard
// CHECK: %[[Q:.*]]:2 = qcomm.quantize ins(%[[G]] : tensor<4096xf32>) outs(%{{.*}}, %{{.*}} : tensor<2048xi8>, tensor<32xf32>)
// CHECK-SAME: bits = 4 group_size = 128 -> tensor<2048xi8>, tensor<32xf32>
// CHECK: %[[A:.*]] = shard.all_to_all %[[Q]]#0 on @dp grid_axes = [0, 1] split_axis = 0 concat_axis = 0 : tensor<2048xi8> -> tensor<2048xi8>
// CHECK: %[[B:.*]] = shard.all_to_all %[[Q]]#1 on @dp grid_axes = [0, 1] split_axis = 0 concat_axis = 0 : tensor<32xf32> -> tensor<32xf32>
// CHECK: %[[R:.*]] = qcomm.dequantize_reduce ins(%[[A]], %[[B]] : tensor<2048xi8>, tensor<32xf32>) outs(%{{.*}} : tensor<1024xf32>)
// CHECK-SAME: parts = 4 bits = 4 group_size = 128 ->
// CHECK-NOT: qcomm.hadamard
// CHECK: return %[[R]]
func.func @one_hop(%g: tensor<4096xf32>) -> tensor<1024xf32> {
  %r = qcomm.reduce_scatter %g on @dp intra(axes = [0, 1] bits = 4 group_size = 128)
         : tensor<4096xf32> -> tensor<1024xf32>
  return %r : tensor<1024xf32>
}

// qWD: the 4-bit differences are gathered and added onto the model copy.
// CHECK-LABEL: func.func @gather_add
// CHECK-SAME: (%[[D:.*]]: tensor<4096xf32>, %[[W:.*]]: tensor<16384xf32>)
// CHECK: %[[Q:.*]]:2 = qcomm.quantize ins(%[[D]] : tensor<4096xf32>) outs(%{{.*}}, %{{.*}} : tensor<2048xi8>, tensor<2xf32>)
// CHECK-SAME: bits = 4 group_size = 2048 ->
// CHECK: %[[A:.*]] = shard.all_gather %[[Q]]#0 on @dp grid_axes = [0, 1] gather_axis = 0 : tensor<2048xi8> -> tensor<8192xi8>
// CHECK: %[[B:.*]] = shard.all_gather %[[Q]]#1 on @dp grid_axes = [0, 1] gather_axis = 0 : tensor<2xf32> -> tensor<8xf32>
// CHECK: %[[Y:.*]] = qcomm.dequantize ins(%[[A]], %[[B]] : tensor<8192xi8>, tensor<8xf32>) outs(%[[W]] : tensor<16384xf32>)
// CHECK-SAME: bits = 4 group_size = 2048 accumulate ->
// CHECK: return %[[Y]]
func.func @gather_add(%d: tensor<4096xf32>, %w: tensor<16384xf32>) -> tensor<16384xf32> {
  %r = qcomm.all_gather %d on @dp grid_axes = [0, 1] bits = 4 group_size = 2048
         addend(%w : tensor<16384xf32>) : tensor<4096xf32> -> tensor<16384xf32>
  return %r : tensor<16384xf32>
}

// Without an addend the gathered values land in a fresh tensor (no
// accumulate); a seed is mixed with the process's linear index.
// CHECK-LABEL: func.func @gather
// CHECK-SAME: (%[[D:.*]]: tensor<1024xf32>, %[[SEED:.*]]: i64)
// CHECK: shard.process_linear_index on @four
// CHECK: arith.addi
// CHECK: %[[BASE:.*]] = arith.muli
// CHECK: %[[Q:.*]]:2 = qcomm.quantize ins(%[[D]] : tensor<1024xf32>) outs(%{{.*}}, %{{.*}} : tensor<1024xi8>, tensor<4xf32>)
// CHECK-SAME: bits = 8 group_size = 256 stochastic(%[[BASE]])
// CHECK: shard.all_gather %[[Q]]#0 on @four grid_axes = [0] gather_axis = 0 : tensor<1024xi8> -> tensor<4096xi8>
// CHECK: shard.all_gather %[[Q]]#1 on @four grid_axes = [0] gather_axis = 0 : tensor<4xf32> -> tensor<16xf32>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4096xf32>
// CHECK: qcomm.dequantize ins(%{{.*}}, %{{.*}} : tensor<4096xi8>, tensor<16xf32>) outs(%[[E]] : tensor<4096xf32>)
// CHECK-SAME: bits = 8 group_size = 256 -> tensor<4096xf32>
func.func @gather(%d: tensor<1024xf32>, %seed: i64) -> tensor<4096xf32> {
  %r = qcomm.all_gather %d on @four grid_axes = [0] bits = 8 group_size = 256 stochastic(%seed)
         : tensor<1024xf32> -> tensor<4096xf32>
  return %r : tensor<4096xf32>
}

// Two hops rounding to nearest, 4 then 8 bits: the fused op has no seed.
// CHECK-LABEL: func.func @two_hops_nearest
// CHECK-NOT: process_linear_index
// CHECK: %[[Q:.*]]:2 = qcomm.quantize ins(%{{.*}} : tensor<1024xf32>) outs(%{{.*}}, %{{.*}} : tensor<512xi8>, tensor<16xf32>)
// CHECK-SAME: bits = 4 group_size = 64 ->
// CHECK: %[[A:.*]] = shard.all_to_all %[[Q]]#0 on @dp grid_axes = [0]
// CHECK: %[[B:.*]] = shard.all_to_all %[[Q]]#1 on @dp grid_axes = [0]
// CHECK: %[[R:.*]]:2 = qcomm.dequantize_reduce_requantize ins(%[[A]], %[[B]] : tensor<512xi8>, tensor<16xf32>) outs(%{{.*}}, %{{.*}} : tensor<512xi8>, tensor<16xf32>)
// CHECK-SAME: parts = 2 bits = 4 group_size = 64 out_bits = 8 out_group_size = 32 -> tensor<512xi8>, tensor<16xf32>
// CHECK: %[[A2:.*]] = shard.all_to_all %[[R]]#0 on @dp grid_axes = [1] split_axis = 0 concat_axis = 0 : tensor<512xi8> -> tensor<512xi8>
// CHECK: %[[B2:.*]] = shard.all_to_all %[[R]]#1 on @dp grid_axes = [1] split_axis = 0 concat_axis = 0 : tensor<16xf32> -> tensor<16xf32>
// CHECK: %[[Y:.*]] = qcomm.dequantize_reduce ins(%[[A2]], %[[B2]] : tensor<512xi8>, tensor<16xf32>) outs(%{{.*}} : tensor<256xf32>)
// CHECK-SAME: parts = 2 bits = 8 group_size = 32 ->
// CHECK: return %[[Y]]
func.func @two_hops_nearest(%g: tensor<1024xf32>) -> tensor<256xf32> {
  %r = qcomm.reduce_scatter %g on @dp intra(axes = [0] bits = 4 group_size = 64)
         inter(axes = [1] bits = 8 group_size = 32)
         : tensor<1024xf32> -> tensor<256xf32>
  return %r : tensor<256xf32>
}
