// accel-place and accel-tile on a sparse graph aggregation (a CSR SpMM):
// the Versal-like device's sparse engine where it finishes first, the
// Gaudi-like device's vector cores (it has no sparse engine); the engine
// op carries the adjacency's structure for execution.
// RUN: lathe-opt %s --accel-attach-device=config=%accel_configs/versal-like.json --accel-place --accel-tile | FileCheck %s --check-prefix=VERSAL
// RUN: lathe-opt %s --accel-attach-device=config=%accel_configs/versal-like.json --accel-place=policy=all-tpc --accel-tile | FileCheck %s --check-prefix=ALLTPC
// RUN: lathe-opt %s --accel-attach-device=config=%accel_configs/gaudi2.json --accel-place --accel-tile | FileCheck %s --check-prefix=GAUDI
// RUN: lathe-opt %s --accel-attach-device=config=%accel_configs/gaudi2.json --accel-place --accel-tile | FileCheck %s --check-prefix=DYNAMIC

// Hand counts on versal-like.json (F = 16, nnz = 6, 4 rows): the whole
// graph is one block; the sparse engine: compute ceil(6 * 16 / 256) + 64 =
// 65 cycles; loads 40 + 48 + 24 + 256 = 368 bytes and a 256-byte store,
// 7 cycles at 100 bytes a cycle: max(65, 7) = 65. The vector cores (16 lanes,
// start-up 16): ceil(96 * 2 / 16) + 16 = 28 per block; blocks of
// 36864 / (2 * (ceil(6/4) * (4 + 8 + 64) + 8 + 64)) = 81 rows: one block,
// 28 cycles: the vector cores finish first on so small a graph.
// VERSAL-LABEL: func.func @agg
// VERSAL: sparsegcn.aggregate
// VERSAL-SAME: lathe.decision = #accel.decision<engine = "tpc"
// VERSAL-SAME: sparse_cycles = 65,
// VERSAL-SAME: tpc_cycles = 28>
// VERSAL: accel.tpc_reduce
// VERSAL-SAME: elements = 96
// VERSAL-SAME: csr_cols = array<i64: 0, 1, 1, 2, 3, 0>
// VERSAL-SAME: csr_row_ptr = array<i64: 0, 2, 3, 5, 6>
// VERSAL-SAME: csr_tile_rows = 4
// ALLTPC: lathe.decision = #accel.decision<engine = "tpc", reason = "policy all-tpc"
// GAUDI-NOT: sparse_cycles
// GAUDI: lathe.decision = #accel.decision<engine = "tpc"
// GAUDI: accel.tpc_reduce
func.func @agg(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 2, 3, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 1, 2, 3, 0]> : tensor<6xi64>
  %v = arith.constant dense<[0.5, 0.5, 1.0, 0.25, 0.75, 2.0]> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// A larger graph's aggregation (placement only: its row_ptr is not a real
// structure): 2048 rows, 131072 non-zeros, F = 64. The sparse engine: 5
// blocks of ceil(131072 / 5) = 26215 non-zeros, 5 * (26215 * 64 / 256 + 64)
// = 33090 cycles; the vector cores: 8 cores of 16 lanes, 2 instructions per
// multiply-add, over 131072 * 64 * 2 / 16 / 8 = 131072 cycles.
// VERSAL-LABEL: func.func @big
// VERSAL: sparsegcn.aggregate
// VERSAL-SAME: lathe.decision = #accel.decision<engine = "sparse"
// VERSAL-SAME: sparse_cycles = 33090,
// VERSAL: accel.sparse_spmm
// VERSAL-SAME: cols = 64
func.func @big(%x: tensor<2048x64xf32>, %v: tensor<131072xf32>) -> tensor<2048x64xf32> {
  %rp = arith.constant dense<0> : tensor<2049xi64>
  %ci = arith.constant dense<0> : tensor<131072xi64>
  %e = tensor.empty() : tensor<2048x64xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<2049xi64>, tensor<131072xi64>, tensor<131072xf32>) [2048, 2048]
         ins(%x : tensor<2048x64xf32>) outs(%e : tensor<2048x64xf32>) -> tensor<2048x64xf32>
  return %y : tensor<2048x64xf32>
}

// Values of a dynamic shape: the timing is simulated, but the program is
// not executable, with a reason that names the op and the dynamic shape.
// DYNAMIC: accel.program "dynamic_values" attributes {not_executable = "'sparsegcn.aggregate' at {{.*}}: has features, values or a result of a dynamic shape (the accelerator needs static shapes)"}
func.func @dynamic_values(%x: tensor<4x16xf32>, %v: tensor<?xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 2, 3, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 1, 2, 3, 0]> : tensor<6xi64>
  %e = tensor.empty() : tensor<4x16xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<?xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// Each block of rows is timed with its own non-zeros (row_ptr is a
// constant). tiny.json (4 cores of 16 lanes, start-up 8, 16 KiB local
// memory), F = 256, 16 non-zeros on 8 rows: a row's share is 2 * (4 + 8 +
// 1024) + 8 + 1024 = 3104 bytes, twice per block: blocks of 16384 / 6208 = 2
// rows, 4 blocks with 10, 2, 2 and 2 non-zeros: 2560, 512, 512, 512
// multiply-adds of 2 instructions: ceil(2560 * 2 / 16) + 8 = 328 cycles for
// the first block, 72 for each other, one block per core: 328 (the
// transfers: 8456 bytes loaded, 8192 stored, 261 cycles at 64 bytes a
// cycle). Timed as 4 average blocks (1024 each: 136 cycles) it was 261.
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/tiny.json --accel-place --accel-tile | FileCheck %s --check-prefix=BLOCKS
// BLOCKS-LABEL: func.func @uneven
// BLOCKS: lathe.decision = #accel.decision<engine = "tpc"
// BLOCKS-SAME: tpc_cycles = 328>
// BLOCKS: accel.tpc_reduce
// BLOCKS-SAME: elements = 1024
// BLOCKS-SAME: tile_elements = array<i64: 2560, 512, 512, 512>
// BLOCKS-SAME: tiles = 4
func.func @uneven(%x: tensor<8x256xf32>) -> tensor<8x256xf32> {
  %rp = arith.constant dense<[0, 6, 10, 11, 12, 13, 14, 15, 16]> : tensor<9xi64>
  %ci = arith.constant dense<[0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 2, 3, 4, 5, 6, 7]> : tensor<16xi64>
  %v = arith.constant dense<1.0> : tensor<16xf32>
  %e = tensor.empty() : tensor<8x256xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<9xi64>, tensor<16xi64>, tensor<16xf32>) [8, 8]
         ins(%x : tensor<8x256xf32>) outs(%e : tensor<8x256xf32>) -> tensor<8x256xf32>
  return %y : tensor<8x256xf32>
}
