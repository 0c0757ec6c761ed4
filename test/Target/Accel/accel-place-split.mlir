// A product the two engine kinds compute equally fast is shared between them
// (Inputs/even.json: one 8x8 MME and four 16-lane cores, 64 MACs/cycle each).
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/even.json --accel-place | FileCheck %s
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/even.json --accel-place --accel-tile | FileCheck %s --check-prefix=TILE
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/even.json --accel-place=policy=all-mme | FileCheck %s --check-prefix=ALLMME

// [64 x 64] x [64 x 64] of two on-chip softmax results, the result on chip
// too (it feeds another softmax): no transfers.
// MME: one 64x64 tile, 8 * 8 passes of 64 = 4096 cycles. Cores: the block
// that finishes first among those that fit 16 KiB is 16x8 (2 * 24 * 64 * 4 +
// 512 = 12800 B; 16x16 does not fit, 8x8 makes 64 tiles of 264 cycles in 16
// waves = 4224): 32 tiles of 16*8*64/16 + 8 = 520 cycles in 8 waves = 4160.
// Both free after the two softmaxes: f = 4096 / (4096 + 4160) = 0.496 of the
// rows to the cores. The MME's part, round(64 * 0.504) = 32 rows: 4 * 8
// passes of 64 = 2048; the cores' other 32 rows: 2 * 8 = 16 tiles of 16x8 in
// 4 waves = 2080; together 2080 < 0.9 * 4096.
// CHECK: lathe.matmul
// CHECK-SAME: lathe.decision = #accel.decision<engine = "split", mme_cycles = 4096, reason = "split between the engines: both finish sooner", split = "rows", split_extent = 64, tpc_cycles = 4160, tpc_extent = 32>
// ALLMME: lathe.matmul
// ALLMME-SAME: lathe.decision = #accel.decision<engine = "mme"
// The two parts are groups of their own; the consumer waits for both.
// Each part executes its own rows of the product: the MME rows [0, 32), the
// vector cores rows [32, 64) (domain_offset), both into the same buffer.
// TILE: %[[M:.*]] = accel.mme_matmul(%{{.*}}) {{.*}}domain = array<i64: 1, 32, 64, 64>, k = 64 : i64, m = 32 : i64, n = 64 : i64, {{.*}}source = "lathe.matmul#2", tiles = 1 : i64}
// TILE: %[[T:.*]] = accel.tpc_matmul(%{{.*}}) {{.*}}domain = array<i64: 1, 32, 64, 64>, domain_offset = array<i64: 0, 32, 0, 0>, k = 64 : i64, m = 16 : i64, n = 8 : i64, {{.*}}source = "lathe.matmul#2", tiles = 16 : i64}
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
// The report lists accel-place's decisions (toDictionary) under
// simulated.decisions, those of both functions of the module (placement lists
// the entry's): a split and three vector-core ops each.
// RUN: %python -c "import json,sys; d=json.load(open(sys.argv[1]))['simulated']['decisions']; e=sorted(x['decision']['engine'] for x in d if x['decision']['pass'] == 'accel-place'); assert e == ['split'] * 2 + ['tpc'] * 6, e" %t.json

// A batched product (attention's heads) is shared out by whole batch
// members when its rows and columns cannot be: [8 x 8 x 64] x [8 x 64 x 8]
// of on-chip softmax results. MME: each member is one pass of the 8x8 array,
// 64 cycles, 8 members = 512; half its rows or columns would still take a
// whole pass per member. Cores: 8 tiles of 8x8 (8*8*64/16 + 8 = 264) in 2
// waves = 528. Four members on the MME (256 cycles) and four on the four
// cores (one wave, 264) finish at 264 < 0.9 * 512.
// CHECK-LABEL: func.func @heads
// CHECK: lathe.matmul
// CHECK-SAME: lathe.decision = #accel.decision<engine = "split", mme_cycles = 512, reason = "split between the engines: both finish sooner", split = "batch", split_extent = 8, tpc_cycles = 528, tpc_extent = 4>
// The MME computes members [0, 4), the cores members [4, 8).
// TILE-LABEL: accel.program "heads"
// TILE: %[[M:.*]] = accel.mme_matmul(%{{.*}}) {{.*}}domain = array<i64: 4, 8, 8, 64>, k = 64 : i64, m = 8 : i64, n = 8 : i64, {{.*}}tiles = 4 : i64}
// TILE: %[[T:.*]] = accel.tpc_matmul(%{{.*}}) {{.*}}domain = array<i64: 4, 8, 8, 64>, domain_offset = array<i64: 4, 0, 0, 0>, k = 64 : i64, m = 8 : i64, n = 8 : i64, {{.*}}tiles = 4 : i64}
// TILE: accel.tpc_softmax(%[[M]], %[[T]])
func.func @heads(%x: tensor<8x8x64xf32>, %y: tensor<8x64x8xf32>) -> tensor<8x8x8xf32> {
  %e1 = tensor.empty() : tensor<8x8x64xf32>
  %s1 = linalg.softmax dimension(2) ins(%x : tensor<8x8x64xf32>) outs(%e1 : tensor<8x8x64xf32>) -> tensor<8x8x64xf32>
  %e2 = tensor.empty() : tensor<8x64x8xf32>
  %s2 = linalg.softmax dimension(2) ins(%y : tensor<8x64x8xf32>) outs(%e2 : tensor<8x64x8xf32>) -> tensor<8x64x8xf32>
  %e = tensor.empty() : tensor<8x8x8xf32>
  %0 = lathe.matmul ins(%s1, %s2 : tensor<8x8x64xf32>, tensor<8x64x8xf32>) outs(%e : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %1 = linalg.softmax dimension(2) ins(%0 : tensor<8x8x8xf32>) outs(%e : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  return %1 : tensor<8x8x8xf32>
}

// Simulated, the batch split beats both single-engine policies; executed, it
// computes what the CPU backend does.
// RUN: lathe-run %s --entry=heads --backend=accel --accel-config=%S/Inputs/even.json --accel-timing-only --accel-policy=cost > %t.hcost
// RUN: lathe-run %s --entry=heads --backend=accel --accel-config=%S/Inputs/even.json --accel-timing-only --accel-policy=all-mme > %t.hmme
// RUN: lathe-run %s --entry=heads --backend=accel --accel-config=%S/Inputs/even.json --accel-timing-only --accel-policy=all-tpc > %t.htpc
// RUN: %python -c "import re,sys; c=[int(re.search(r': (\d+) cycles', open(f).read()).group(1)) for f in sys.argv[1:]]; assert c[0] < c[1] and c[0] < c[2], c" %t.hcost %t.hmme %t.htpc
// RUN: lathe-run %s --entry=heads --backend=accel --accel-config=%S/Inputs/even.json --fill-missing --report=%t.h.json | FileCheck %s --check-prefix=HEADS
// HEADS: functional: the engine program executed tile by tile
// HEADS: placement: 0 op(s) on the matrix engines, 3 on the vector cores, 1 split between them
// RUN: %python -c "import json,sys; e=json.load(open(sys.argv[1]))['max_rel_err_vs_cpu']; assert e < 1e-4, e" %t.h.json
