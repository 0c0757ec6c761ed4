// REQUIRES: cuda
// RUN: lathe-opt %s --lathe-cuda-import --lathe-cuda-kernels --lathe-cuda-bufferize --lathe-cuda-library-calls | FileCheck %s
// RUN: lathe-opt %s --lathe-cuda-pipeline | FileCheck %s --check-prefix=HOST

// The shard collectives (what seqshard's Ulysses all-to-alls, data
// parallelism's gradient reduce-scatter and weight all-gather, and the
// parameter gradients' all-reduce become) lower
// on the CUDA target to the runtime's NCCL collectives on device buffers,
// with the CPU runtime's Comm.h ABI (packed grid and group, memrefs); the
// process index comes from the runtime's rank.

// CHECK-LABEL: func.func @collectives
// CHECK: call @lathe_cuda_comm_rank() : () -> i64
// CHECK: call @lathe_cuda_comm_reduce_scatter_sum_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, i64, memref<*xf32>, memref<*xf32>) -> ()
// CHECK: call @lathe_cuda_comm_all_gather_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, i64, memref<*xf32>, memref<*xf32>) -> ()
// CHECK: call @lathe_cuda_comm_all_to_all_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, i64, memref<*xf32>, memref<*xf32>) -> ()
// CHECK: call @lathe_cuda_comm_all_reduce_sum_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, i64, memref<*xf32>, memref<*xf32>) -> ()
// CHECK-NOT: lathe_rt_
// CHECK-NOT: shard.
// HOST-DAG: llvm.call @lathe_cuda_comm_reduce_scatter_sum_f32
// HOST-DAG: llvm.call @lathe_cuda_comm_all_gather_f32
// HOST-DAG: llvm.call @lathe_cuda_comm_all_to_all_f32
// HOST-DAG: llvm.call @lathe_cuda_comm_all_reduce_sum_f32
// HOST-DAG: gpu.binary
shard.grid @g(shape = 2)
func.func @collectives(%x: tensor<8xf32>, %y: tensor<4x6xf32>)
    -> (tensor<4xf32>, tensor<8xf32>, tensor<4x6xf32>, tensor<4x6xf32>, index) {
  %i = shard.process_linear_index on @g : index
  %rs = shard.reduce_scatter %x on @g grid_axes = [0] scatter_axis = 0 : tensor<8xf32> -> tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%rs : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %ag = shard.all_gather %sq on @g grid_axes = [0] gather_axis = 0 : tensor<4xf32> -> tensor<8xf32>
  %a2a = shard.all_to_all %y on @g grid_axes = [0] split_axis = 0 concat_axis = 0 : tensor<4x6xf32> -> tensor<4x6xf32>
  %ar = shard.all_reduce %a2a on @g grid_axes = [0] : tensor<4x6xf32> -> tensor<4x6xf32>
  return %rs, %ag, %a2a, %ar, %i : tensor<4xf32>, tensor<8xf32>, tensor<4x6xf32>, tensor<4x6xf32>, index
}

