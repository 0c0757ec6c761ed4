// REQUIRES: cuda
// RUN: lathe-opt %s --split-input-file --convert-linalg-to-parallel-loops --lathe-cuda-tile-parallel-loops --verify-diagnostics | FileCheck %s
// RUN: lathe-opt %s --split-input-file --convert-linalg-to-parallel-loops --lathe-cuda-tile-parallel-loops="threads=64" | FileCheck %s --check-prefix=T64
// RUN: lathe-opt %s --split-input-file --convert-linalg-to-parallel-loops --lathe-cuda-tile-parallel-loops="elements-per-thread=1" | FileCheck %s --check-prefix=E1

// 256 threads go to the innermost (contiguous) dimension first: tiles of
// 1 x 256, blocks over (64, 4), the innermost dimension on x.
// CHECK-LABEL: func.func @two_d
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: %[[STEP:.*]] = arith.muli %{{.*}}, %[[C256]] : index
// CHECK: scf.parallel {{.*}} to (%c64, %c1024) step (%{{.*}}, %[[STEP]])
// CHECK: scf.parallel
// CHECK: mapping = [#gpu.loop_dim_map<processor = thread_y{{.*}}>, #gpu.loop_dim_map<processor = thread_x{{.*}}>]
// CHECK: mapping = [#gpu.loop_dim_map<processor = block_y{{.*}}>, #gpu.loop_dim_map<processor = block_x{{.*}}>]
// T64-LABEL: func.func @two_d
// T64: arith.constant 64 : index
func.func @two_d(%a: memref<64x1024xf32>, %b: memref<64x1024xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i,j)->(i,j)>, affine_map<(i,j)->(i,j)>], iterator_types=["parallel","parallel"]} ins(%a : memref<64x1024xf32>) outs(%b : memref<64x1024xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A short innermost dimension (16) leaves threads for the next one
// (256 / 16 = 16): tiles of 1 x 16 x 16; the fourth dimension from the inside
// stays a sequential loop.
// CHECK-LABEL: func.func @rank_four
// CHECK-DAG: arith.constant 16 : index
// CHECK: processor = sequential{{.*}}processor = thread_z{{.*}}processor = thread_y{{.*}}processor = thread_x
// CHECK: processor = sequential{{.*}}processor = block_z{{.*}}processor = block_y{{.*}}processor = block_x
func.func @rank_four(%a: memref<2x3x64x16xf32>, %b: memref<2x3x64x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i,j,k,l)->(i,j,k,l)>, affine_map<(i,j,k,l)->(i,j,k,l)>], iterator_types=["parallel","parallel","parallel","parallel"]} ins(%a : memref<2x3x64x16xf32>) outs(%b : memref<2x3x64x16xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

// A large 1-D loop (4 x 256 x 1024 elements or more): each thread takes 4
// elements, 256 apart. The block loop steps by 1024, a sequential loop of
// 4 steps of 256 sits between it and the thread loop.
// CHECK-LABEL: func.func @coarsened
// CHECK: arith.constant 1024 : index
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%{{.*}}) step (%[[STEP:.*]])
// CHECK: arith.constant 256 : index
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[STEP]]) step (%[[SEQ:.*]])
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[SEQ]]) step
// CHECK: mapping = [#gpu.loop_dim_map<processor = thread_x
// CHECK: mapping = [#gpu.loop_dim_map<processor = sequential
// CHECK: mapping = [#gpu.loop_dim_map<processor = block_x
// With elements-per-thread=1, one element per thread: blocks of 256.
// E1-LABEL: func.func @coarsened
// E1-NOT: processor = sequential
// E1: processor = thread_x
// E1-NOT: processor = sequential
// E1: processor = block_x
func.func @coarsened(%a: memref<1048576xf32>, %b: memref<1048576xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i)->(i)>, affine_map<(i)->(i)>], iterator_types=["parallel"]} ins(%a : memref<1048576xf32>) outs(%b : memref<1048576xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}
