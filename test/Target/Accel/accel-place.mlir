// accel-place on the tiny device (Inputs/tiny.json: one 32x32 MME at full
// f32 rate with a 64-cycle fill; 4 vector cores of 16 f32 lanes, 8 cycles to
// start, 16 KiB local memory; HBM 64 B/cycle; 1 cycle = 1 ns).
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/tiny.json --accel-place | FileCheck %s
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/tiny.json --accel-place=policy=all-mme | FileCheck %s --check-prefix=ALLMME
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/tiny.json --accel-place=policy=all-tpc | FileCheck %s --check-prefix=ALLTPC
// RUN: not lathe-opt %s --accel-attach-device=config=%S/Inputs/tiny.json --accel-place=policy=fastest 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: not lathe-opt %s --accel-place 2>&1 | FileCheck %s --check-prefix=NODEVICE
// POLICY: for the --policy option: unknown value 'fastest' (expected one of: cost, all-mme, all-tpc)
// NODEVICE: error: the module's target has no 'accel' table (no device): run accel-attach-device{config=FILE} first

// A 128x64 by 64x128 product from HBM to HBM.
// On the MME: one 128x128 tile, ceil(128/32) * ceil(128/32) = 16 passes of k = 64,
// + 64 fill = 1088 cycles; its transfers (32 KiB + 32 KiB in, 64 KiB out)
// take 131072 / 64 = 2048 cycles at the HBM bandwidth: 2048.
// On the cores: the output block that finishes first among those that fit
// the 16 KiB local memory (16x16 does not: 2 * 32 * 64 * 4 + 1024 B).
// 16x8 (2 * (16 + 8) * 64 * 4 + 512 = 12800 B): 128 tiles of 16*8*64/16 + 8 =
// 520 cycles in 32 waves of 4 cores = 16640; the left operand is re-read 16
// times, the right one 8 times: (16 + 8) * 32 KiB + 64 KiB = 851968 B / 64 =
// 13312 cycles: 16640. (8x8: 256 tiles of 264 cycles in 64 waves = 16896,
// its transfers (16 + 16) * 32 KiB + 64 KiB take 17408: 17408.)
// CHECK-LABEL: func.func @big
// CHECK: lathe.matmul
// CHECK-SAME: lathe.decision = #accel.decision<engine = "mme", mme_cycles = 2048, reason = "cheaper on the matrix engine", tpc_cycles = 16640>
// ALLMME-LABEL: func.func @big
// ALLMME: lathe.decision = #accel.decision<engine = "mme"
// ALLTPC-LABEL: func.func @big
// ALLTPC: lathe.decision = #accel.decision<engine = "tpc"
func.func @big(%a: tensor<128x64xf32>, %b: tensor<64x128xf32>) -> tensor<128x128xf32> {
  %e = tensor.empty() : tensor<128x128xf32>
  %0 = lathe.matmul ins(%a, %b : tensor<128x64xf32>, tensor<64x128xf32>) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  return %0 : tensor<128x128xf32>
}

// A skinny [1 x 256] by [256 x 32] product of two on-chip softmax results
// (no loads): the MME pays a whole pass, 256 + 64 = 320 cycles; the vector
// cores split n into 8 tiles of 1x4 (2 * (1 + 4) * 256 * 4 + 16 B fit),
// 1*4*256/16 + 8 = 72 cycles each, 2 waves: 144. The softmaxes are vector
// work whatever the policy.
// CHECK-LABEL: func.func @skinny
// CHECK: linalg.softmax {lathe.decision = #accel.decision<engine = "tpc", reason = "only the vector cores run it"
// CHECK: linalg.softmax {lathe.decision = #accel.decision<engine = "tpc"
// CHECK: lathe.matmul
// CHECK-SAME: lathe.decision = #accel.decision<engine = "tpc", mme_cycles = 320, reason = "cheaper on the vector cores", tpc_cycles = 144>
// ALLMME-LABEL: func.func @skinny
// ALLMME: linalg.softmax {lathe.decision = #accel.decision<engine = "tpc", reason = "only the vector cores run it"
// ALLMME: lathe.matmul
// ALLMME-SAME: lathe.decision = #accel.decision<engine = "mme"
// ALLMME-SAME: reason = "policy all-mme"
func.func @skinny(%x: tensor<1x256xf32>, %y: tensor<256x32xf32>) -> tensor<1x32xf32> {
  %e1 = tensor.empty() : tensor<1x256xf32>
  %s1 = linalg.softmax dimension(1) ins(%x : tensor<1x256xf32>) outs(%e1 : tensor<1x256xf32>) -> tensor<1x256xf32>
  %e2 = tensor.empty() : tensor<256x32xf32>
  %s2 = linalg.softmax dimension(1) ins(%y : tensor<256x32xf32>) outs(%e2 : tensor<256x32xf32>) -> tensor<256x32xf32>
  %e = tensor.empty() : tensor<1x32xf32>
  %0 = lathe.matmul ins(%s1, %s2 : tensor<1x256xf32>, tensor<256x32xf32>) outs(%e : tensor<1x32xf32>) -> tensor<1x32xf32>
  return %0 : tensor<1x32xf32>
}

// Load-aware: two independent 2048-cycle products keep the one MME busy
// until 4096 (still before the vector cores' 16640). A small 8x64 by 64x8
// product is cheaper on the MME (one pass of 64 + 64 = 128 cycles) than on
// the cores (four 4x4 tiles on the four cores, 4*4*64/16 + 8 = 72 cycles,
// but the operands read twice each and the result take (2 * 2 KiB + 2 * 2 KiB
// + 256) / 64 = 132 cycles: 132; one 8x8 tile would take 264), but there it
// would finish at 4096 + 128, on the idle cores at 132: it goes to the cores.
// CHECK-LABEL: func.func @busy
// CHECK: lathe.matmul
// CHECK-SAME: lathe.decision = #accel.decision<engine = "mme"
// CHECK: lathe.matmul
// CHECK-SAME: lathe.decision = #accel.decision<engine = "mme"
// CHECK: lathe.matmul
// CHECK-SAME: lathe.decision = #accel.decision<engine = "tpc"
// CHECK-SAME: reason = "finishes first on the vector cores (matrix engine busy)"
func.func @busy(%a: tensor<128x64xf32>, %b: tensor<64x128xf32>, %c: tensor<8x64xf32>, %d: tensor<64x8xf32>) -> (tensor<128x128xf32>, tensor<128x128xf32>, tensor<8x8xf32>) {
  %e = tensor.empty() : tensor<128x128xf32>
  %0 = lathe.matmul ins(%a, %b : tensor<128x64xf32>, tensor<64x128xf32>) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  %1 = lathe.matmul ins(%a, %b : tensor<128x64xf32>, tensor<64x128xf32>) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  %e2 = tensor.empty() : tensor<8x8xf32>
  %2 = lathe.matmul ins(%c, %d : tensor<8x64xf32>, tensor<64x8xf32>) outs(%e2 : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %0, %1, %2 : tensor<128x128xf32>, tensor<128x128xf32>, tensor<8x8xf32>
}
