// A product the two engine kinds compute equally fast is shared between them
// (Inputs/even.json: one 8x8 MME and four 16-lane cores, 64 MACs/cycle each).
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/even.json --accel-place | FileCheck %s
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/even.json --accel-place --accel-tile | FileCheck %s --check-prefix=TILE
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/even.json --accel-place=policy=all-mme | FileCheck %s --check-prefix=ALLMME

// [64 x 64] x [64 x 64] of two on-chip softmax results, the result on chip
// too (it feeds another softmax): no transfers.
// MME: one 64x64 tile, 8 * 8 passes of 64 = 4096 cycles. Cores: 8x8 tiles
// (2 * 16 * 64 * 4 + 256 = 8448 B fit in 16 KiB, 16x16 do not), 64 tiles of
// 8*8*64/16 + 8 = 264 cycles in 16 waves = 4224. Both free after the two
// softmaxes: f = 4096 / (4096 + 4224) = 0.49 of the rows to the cores.
// The MME's part, round(64 * 0.51) = 32 rows: 4 * 8 passes of 64 = 2048; the
// cores' other 32 rows: 4 * 8 = 32 tiles in 8 waves = 2112; together 2112 <
// 0.9 * 4096.
// CHECK: lathe.matmul
// CHECK-SAME: accel.engine = "split", accel.mme_cycles = 4096 : i64, accel.reason = "split between the engines: both finish sooner", accel.split = "rows", accel.tpc_cycles = 4224 : i64, accel.tpc_fraction = 0.4923
// ALLMME: lathe.matmul
// ALLMME-SAME: accel.engine = "mme"
// The two parts are groups of their own; the consumer waits for both.
// Each part executes its own rows of the product: the MME rows [0, 32), the
// vector cores rows [32, 64) (domain_offset), both into the same buffer.
// TILE: %[[M:.*]] = accel.mme_matmul(%{{.*}}) {{.*}}domain = array<i64: 1, 32, 64, 64>, k = 64 : i64, m = 32 : i64, n = 64 : i64, {{.*}}source = "lathe.matmul#2", tiles = 1 : i64}
// TILE: %[[T:.*]] = accel.tpc_matmul(%{{.*}}) {{.*}}domain = array<i64: 1, 32, 64, 64>, domain_offset = array<i64: 0, 32, 0, 0>, k = 64 : i64, m = 8 : i64, n = 8 : i64, {{.*}}source = "lathe.matmul#2", tiles = 32 : i64}
// TILE: accel.tpc_softmax(%[[M]], %[[T]])
func.func @even(%x: tensor<64x64xf32>, %y: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %e = tensor.empty() : tensor<64x64xf32>
  %s1 = linalg.softmax dimension(1) ins(%x : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %s2 = linalg.softmax dimension(1) ins(%y : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %0 = lathe.matmul ins(%s1, %s2 : tensor<64x64xf32>, tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %1 = linalg.softmax dimension(1) ins(%0 : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %1 : tensor<64x64xf32>
}

// Simulated, the split beats both single-engine policies on this device.
// RUN: lathe-run %s --entry=even --backend=accel --accel-config=%S/Inputs/even.json --accel-timing-only --accel-policy=cost > %t.cost
// RUN: lathe-run %s --entry=even --backend=accel --accel-config=%S/Inputs/even.json --accel-timing-only --accel-policy=all-mme > %t.mme
// RUN: lathe-run %s --entry=even --backend=accel --accel-config=%S/Inputs/even.json --accel-timing-only --accel-policy=all-tpc > %t.tpc
// RUN: %python -c "import re,sys; c=[int(re.search(r': (\d+) cycles', open(f).read()).group(1)) for f in sys.argv[1:]]; assert c[0] < c[1] and c[0] < c[2], c" %t.cost %t.mme %t.tpc

// Executed, the split program computes what the CPU backend does.
// RUN: lathe-run %s --entry=even --backend=accel --accel-config=%S/Inputs/even.json --fill-missing --report=%t.json | FileCheck %s --check-prefix=EXEC
// EXEC: functional: the engine program executed tile by tile
// EXEC: placement: 0 op(s) on the matrix engines, 3 on the vector cores, 1 split between them
// RUN: %python -c "import json,sys; e=json.load(open(sys.argv[1]))['max_rel_err_vs_cpu']; assert e < 1e-4, e" %t.json
