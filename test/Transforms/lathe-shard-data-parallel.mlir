// lathe-shard-data-parallel on the training step of a 2-layer MLP (2410
// parameters): 4 ranks as 2 nodes x 2 give shards of S = 2048 values
// (ceil(2410 / 4) rounded up to the alignment) and a flat vector of 8192.
// RUN: lathe-opt --lathe-differentiate --lathe-make-train-step="optimizer=adamw lr=0.01" --lathe-shard-data-parallel="ranks=4 ranks-per-node=2" %S/../e2e/Inputs/grad-mlp.mlir | FileCheck %s
// RUN: lathe-opt --lathe-differentiate --lathe-make-train-step="optimizer=sgd lr=0.01" --lathe-shard-data-parallel="ranks=2 align=64" %S/../e2e/Inputs/grad-mlp.mlir | FileCheck %s --check-prefix=SGD
// RUN: lathe-opt --lathe-differentiate --lathe-make-train-step="clip-norm=1.0" --lathe-shard-data-parallel="ranks=2" %S/../e2e/Inputs/grad-mlp.mlir | FileCheck %s --check-prefix=CLIP

// CHECK: shard.grid @lathe_dp(shape = 2x2)
// CHECK: func.func @loss_train_step(%[[W1:.*]]: tensor<64x32xf32> {lathe.param}, {{.*}}: tensor<10xf32> {lathe.param},
// CHECK-SAME: %[[MASTER:.*]]: tensor<2048xf32> {lathe.dp_state = "master"}, %[[M:.*]]: tensor<2048xf32> {lathe.dp_state = "m"}, %[[V:.*]]: tensor<2048xf32> {lathe.dp_state = "v"}
// CHECK-SAME: -> (tensor<f32>, tensor<64x32xf32>, tensor<32xf32>, tensor<32x10xf32>, tensor<10xf32>, tensor<2048xf32>, tensor<2048xf32>, tensor<2048xf32>)
// CHECK-SAME: lathe.data_parallel = {grid = @lathe_dp, ranks = 4 : i64, ranks_per_node = 2 : i64, shard_size = 2048 : i64, total_size = 2410 : i64}
// The gradients in parameter order, zero-padded to 8192, reduce-scattered
// over [local rank, node] and averaged.
// CHECK: %[[FLAT:.*]] = tensor.concat dim(0) {{.*}} : (tensor<2048xf32>, tensor<32xf32>, tensor<320xf32>, tensor<10xf32>, tensor<5782xf32>) -> tensor<8192xf32>
// CHECK: %[[RS:.*]] = shard.reduce_scatter %[[FLAT]] on @lathe_dp grid_axes = [1, 0] scatter_axis = 0 {lathe.dp_role = "gradients"} : tensor<8192xf32> -> tensor<2048xf32>
// CHECK: %[[MEAN:.*]] = arith.mulf %[[RS]], %{{.*}} : tensor<2048xf32>
// CHECK: %[[NEW:.*]], %[[NM:.*]], %[[NV:.*]] = train.adamw %[[MASTER]], %[[MEAN]], %[[M]], %[[V]]
// CHECK: %[[ALL:.*]] = shard.all_gather %[[NEW]] on @lathe_dp grid_axes = [1, 0] gather_axis = 0 {lathe.dp_role = "weights"} : tensor<2048xf32> -> tensor<8192xf32>
// CHECK: shard.all_reduce %{{.*}} on @lathe_dp grid_axes = [0, 1] : tensor<f32> -> tensor<f32>
// CHECK: tensor.extract_slice %[[ALL]][0] [2048] [1]
// CHECK: tensor.extract_slice %[[ALL]][2048] [32] [1]
// CHECK: tensor.extract_slice %[[ALL]][2080] [320] [1]
// CHECK: tensor.extract_slice %[[ALL]][2400] [10] [1]
// CHECK: return {{.*}}, %[[NEW]], %[[NM]], %[[NV]]

// With sgd, one momentum shard; 2 ranks on one node, S = ceil(2410 / 2)
// rounded up to 64 = 1216.
// SGD: shard.grid @lathe_dp(shape = 1x2)
// SGD: tensor<1216xf32> {lathe.dp_state = "master"}, %{{.*}}: tensor<1216xf32> {lathe.dp_state = "momentum"}
// SGD: train.sgd {{.*}} : tensor<1216xf32>
// SGD: shard.all_gather {{.*}} : tensor<1216xf32> -> tensor<2432xf32>

// Clipping on the shards: the squared norm of this rank's averaged gradient
// shard, summed over all ranks, scales every shard; the clip op is gone.
// CLIP-NOT: train.clip_by_global_norm
// CLIP: %[[RS:.*]] = shard.reduce_scatter
// CLIP: %[[MEAN:.*]] = arith.mulf %[[RS]]
// CLIP: %[[SQ:.*]] = linalg.generic {{.*}} ins(%[[MEAN]] : tensor<2048xf32>)
// CLIP: %[[TOT:.*]] = shard.all_reduce %[[SQ]] on @lathe_dp grid_axes = [0, 1] : tensor<f32> -> tensor<f32>
// CLIP: math.sqrt
// CLIP: arith.minimumf
// CLIP: %[[CLIPPED:.*]] = linalg.generic {{.*}} ins(%[[MEAN]] : tensor<2048xf32>)
// CLIP: train.adamw %{{.*}}, %[[CLIPPED]]
