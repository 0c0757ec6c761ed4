// The qcomm passes on the sharded training step of a 2-layer MLP (4 ranks as
// 2 nodes x 2; shards of 2048 values, flat vector 8192).
// RUN: lathe-opt --lathe-differentiate --lathe-make-train-step --lathe-shard-data-parallel="ranks=4 ranks-per-node=2" --qcomm-quantize-weight-diffs --qcomm-quantize-gradients %S/../../e2e/Inputs/grad-mlp.mlir | FileCheck %s --check-prefix=SDP
// RUN: lathe-opt --lathe-differentiate --lathe-make-train-step --lathe-shard-data-parallel="ranks=4 ranks-per-node=2" --qcomm-quantize-weight-diffs=differences=false %S/../../e2e/Inputs/grad-mlp.mlir | FileCheck %s --check-prefix=QW
// RUN: lathe-opt --lathe-differentiate --lathe-make-train-step --lathe-shard-data-parallel="ranks=4 ranks-per-node=2" --qcomm-zeropp %S/../../e2e/Inputs/grad-mlp.mlir | FileCheck %s --check-prefix=ZPP
// RUN: lathe-opt --lathe-differentiate --lathe-make-train-step --lathe-shard-data-parallel="ranks=2 ranks-per-node=2" --qcomm-quantize-gradients %S/../../e2e/Inputs/grad-mlp.mlir | FileCheck %s --check-prefix=NODE
// RUN: lathe-opt --lathe-differentiate --lathe-make-train-step --lathe-shard-data-parallel="ranks=2 ranks-per-node=1" --qcomm-quantize-gradients %S/../../e2e/Inputs/grad-mlp.mlir | FileCheck %s --check-prefix=PERNODE1

// qWD: this rank's shard of the model copy (the parameters, flat) is taken
// at (local rank * 2 + node) * 2048; the difference to the new master shard
// is gathered at 4 bits and added to the model copy.
// SDP: func.func @loss_train_step(%[[W1:[a-z0-9]+]]: tensor<64x32xf32> {lathe.param}, %[[B1:[a-z0-9]+]]: tensor<32xf32> {lathe.param}, %[[W2:[a-z0-9]+]]: tensor<32x10xf32> {lathe.param}, %[[B2:[a-z0-9]+]]: tensor<10xf32> {lathe.param}
// SDP: qcomm.reduce_scatter %{{.*}} on @lathe_dp intra(axes = [1] bits = 8 group_size = 512) inter(axes = [0] bits = 4 group_size = 128) hadamard {lathe.dp_role = "gradients"} : tensor<8192xf32> -> tensor<2048xf32>
// SDP: %[[NEW:.*]], %{{.*}}, %{{.*}} = train.adamw
// SDP: %[[W1F:.*]] = tensor.collapse_shape %[[W1]]
// SDP: %[[W2F:.*]] = tensor.collapse_shape %[[W2]]
// SDP: %[[MODEL:.*]] = tensor.concat dim(0) %[[W1F]], %[[B1]], %[[W2F]], %[[B2]], %{{.*}} : {{.*}} -> tensor<8192xf32>
// SDP: %[[IDX:.*]]:2 = shard.process_multi_index on @lathe_dp axes = [1, 0] : index, index
// SDP: %[[MINE:.*]] = tensor.extract_slice %[[MODEL]][%{{.*}}] [2048] [1]
// SDP: %[[DIFF:.*]] = arith.subf %[[NEW]], %[[MINE]] : tensor<2048xf32>
// SDP: qcomm.all_gather %[[DIFF]] on @lathe_dp grid_axes = [1, 0] bits = 4 group_size = 2048 addend(%[[MODEL]] : tensor<8192xf32>) {lathe.dp_role = "weights"} : tensor<2048xf32> -> tensor<8192xf32>
// SDP-NOT: shard.all_gather
// SDP-NOT: shard.reduce_scatter

// qW: the master weights themselves, no addend; gradients untouched.
// QW: shard.reduce_scatter
// QW: %[[NEW:.*]], %{{.*}}, %{{.*}} = train.adamw
// QW-NEXT: qcomm.all_gather %[[NEW]] on @lathe_dp grid_axes = [1, 0] bits = 4 group_size = 2048 {lathe.dp_role = "weights"}

// ZeRO++: 4 bits on both gradient hops, no Hadamard; 8-bit weights.
// ZPP: qcomm.reduce_scatter %{{.*}} on @lathe_dp intra(axes = [1] bits = 4 group_size = 128) inter(axes = [0] bits = 4 group_size = 128) {lathe.dp_role = "gradients"}
// ZPP: qcomm.all_gather %{{.*}} bits = 8 group_size = 2048 {lathe.dp_role = "weights"}

// One node: only the intra-node hop. One rank per node: only the inter-node
// hop, at its 4 bits.
// NODE: qcomm.reduce_scatter %{{.*}} on @lathe_dp intra(axes = [1] bits = 8 group_size = 512) hadamard {lathe.dp_role = "gradients"} : tensor<4096xf32> -> tensor<2048xf32>
// PERNODE1: qcomm.reduce_scatter %{{.*}} on @lathe_dp intra(axes = [0] bits = 4 group_size = 128) hadamard {lathe.dp_role = "gradients"} : tensor<4096xf32> -> tensor<2048xf32>

// A shard that is not a whole number of quantization groups is an error.
// RUN: not lathe-opt --lathe-differentiate --lathe-make-train-step --lathe-shard-data-parallel="ranks=2 align=64" --qcomm-quantize-weight-diffs %S/../../e2e/Inputs/grad-mlp.mlir 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: error: qcomm-quantize-weight-diffs: the shard of 1216 values is not a whole number of groups of 2048 (shard with lathe-shard-data-parallel{align=2048})
// RUN: not lathe-opt --lathe-differentiate --lathe-make-train-step --lathe-shard-data-parallel="ranks=4 ranks-per-node=2" --qcomm-quantize-gradients=intra-group-size=1000 %S/../../e2e/Inputs/grad-mlp.mlir 2>&1 | FileCheck %s --check-prefix=HOP
// HOP: error: 'qcomm.reduce_scatter' op expects hop 1's chunk of 8192 / 2 = 4096 values to be a multiple of its group size 1000
