// accel-place's split survives printing: placing, printing, re-parsing and
// tiling in a second lathe-opt gives the same split as one pipeline. The
// decision records the split in whole rows (split_extent, tpc_extent); a
// 6-digit tpc_fraction did not: on these 1000003 rows it re-parsed as a
// share that moved one row from the vector cores to the matrix engine.
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/even.json --accel-place --accel-tile > %t.one
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/even.json --accel-place > %t.placed
// RUN: lathe-opt %t.placed --accel-tile > %t.two
// RUN: FileCheck %s --check-prefix=PLACE < %t.placed
// RUN: FileCheck %s --check-prefix=TILE < %t.one
// RUN: FileCheck %s --check-prefix=TILE < %t.two
// RUN: diff %t.one %t.two

// Inputs/even.json: one 8x8 MME and four 16-lane cores. The product of two
// on-chip softmax results is split by rows, 496094 of the 1000003 rows on the
// vector cores (the share that makes both finish together, rounded to whole
// rows as accel-place costed it), the other 503909 on the MME.
// PLACE: lathe.matmul
// PLACE-SAME: lathe.decision = #accel.decision<engine = "split", {{.*}}split = "rows", split_extent = 1000003, {{.*}}tpc_extent = 496094>
// TILE: accel.mme_matmul({{.*}}domain = array<i64: 1, 503909, 8, 16>,
// TILE: accel.tpc_matmul({{.*}}domain = array<i64: 1, 496094, 8, 16>, domain_offset = array<i64: 0, 503909, 0, 0>,
func.func @f(%x: tensor<1000003x16xf32>, %y: tensor<16x8xf32>) -> tensor<1000003x8xf32> {
  %e = tensor.empty() : tensor<1000003x16xf32>
  %e2 = tensor.empty() : tensor<16x8xf32>
  %e3 = tensor.empty() : tensor<1000003x8xf32>
  %s1 = linalg.softmax dimension(1) ins(%x : tensor<1000003x16xf32>) outs(%e : tensor<1000003x16xf32>) -> tensor<1000003x16xf32>
  %s2 = linalg.softmax dimension(1) ins(%y : tensor<16x8xf32>) outs(%e2 : tensor<16x8xf32>) -> tensor<16x8xf32>
  %0 = lathe.matmul ins(%s1, %s2 : tensor<1000003x16xf32>, tensor<16x8xf32>) outs(%e3 : tensor<1000003x8xf32>) -> tensor<1000003x8xf32>
  %1 = linalg.softmax dimension(1) ins(%0 : tensor<1000003x8xf32>) outs(%e3 : tensor<1000003x8xf32>) -> tensor<1000003x8xf32>
  return %1 : tensor<1000003x8xf32>
}

// A split whose extent is not the op's is rejected by accel-tile.
// RUN: sed 's/split_extent = 1000003/split_extent = 1000002/' %t.placed | not lathe-opt --accel-tile 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: 'lathe.matmul' op has a rows split of split_extent = 1000002 but its rows extent is 1000003
