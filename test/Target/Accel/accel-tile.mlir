// accel-tile on the tiny device (Inputs/tiny.json: SRAM 1 MiB, so results up
// to 256 KiB stay on chip; vector-core local memory 16 KiB).
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/tiny.json --accel-place --accel-tile | FileCheck %s
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/tiny.json --accel-place --accel-tile=buffers=1 | FileCheck %s --check-prefix=SINGLE
// RUN: not lathe-opt %s --accel-attach-device=config=%S/Inputs/tiny.json --accel-tile 2>&1 | FileCheck %s --check-prefix=UNPLACED
// UNPLACED: error: 'lathe.matmul' op has no #accel.decision: run accel-place first

// The product reads %a and %b from HBM: one 128x128 tile on the MME,
// loading both operands (2 * 32 KiB) in its group. Its result (64 KiB) stays
// on chip, so the softmax loads nothing and depends on the product directly.
// The softmax's rows are 128 floats: 16384 / (2 buffers * 2 * 512 B) = 8
// rows a tile, 16 tiles; its result is returned, so each tile is stored
// (8 * 512 B = 4096 B).
// What the engine ops compute (for lathe-run's functional execution): the
// buffers are the arguments, the product's result and the softmax's result
// (returned). The product runs over [B, M, N, K] = [1, 128, 128, 64]; its
// accesses are [buffer, offset, loaded, strides over B, M, N, K], output
// first: buffer 2 at [0, 128, 1, 0], %a (buffer 0, loaded) at [0, 64, 0, 1],
// %b (buffer 1, loaded) at [0, 0, 1, 128]. The softmax runs over [rows,
// cols] and reads the product's buffer on chip (loaded = 0).
// CHECK-LABEL: accel.program "attention_like" attributes {buffers = [{arg = 0 : i64, elements = 8192 : i64}, {arg = 1 : i64, elements = 8192 : i64}, {elements = 16384 : i64}, {elements = 16384 : i64, result = 0 : i64}]}
// CHECK: %[[L:.*]] = accel.dma_load() {bytes = 65536 : i64, group = 0 : i64, source = "lathe.matmul#0", tiles = 1 : i64}
// CHECK: %[[M:.*]] = accel.mme_matmul(%[[L]]) {accesses = [array<i64: 2, 0, 0, 0, 128, 1, 0>, array<i64: 0, 0, 1, 0, 64, 0, 1>, array<i64: 1, 0, 1, 0, 0, 1, 128>], domain = array<i64: 1, 128, 128, 64>, group = 0 : i64, k = 64 : i64, m = 128 : i64, n = 128 : i64, roles = {activation = #lathe<activation none>, alpha = 1.000000e+00 : f32}, source = "lathe.matmul#0", tiles = 1 : i64}
// CHECK-NOT: accel.dma_store(%[[M]])
// CHECK: %[[S:.*]] = accel.tpc_softmax(%[[M]]) {accesses = [array<i64: 3, 0, 0, 128, 1>, array<i64: 2, 0, 0, 128, 1>], cols = 128 : i64, domain = array<i64: 128, 128>, group = 1 : i64, roles = {}, rows = 8 : i64, source = "linalg.softmax#1", tiles = 16 : i64}
// CHECK: accel.dma_store(%[[S]]) {bytes = 4096 : i64, group = 1 : i64, source = "linalg.softmax#1", tiles = 16 : i64}
// With one buffer the loads are single buffered and the softmax gets twice
// the rows per tile.
// SINGLE-LABEL: accel.program "attention_like"
// SINGLE: accel.dma_load() {buffers = 1 : i64
// SINGLE: accel.tpc_softmax({{.*}}) {{.*}}cols = 128 : i64, {{.*}}group = 1 : i64, {{.*}}rows = 16 : i64, source = "linalg.softmax#1", tiles = 8 : i64}
func.func @attention_like(%a: tensor<128x64xf32>, %b: tensor<64x128xf32>) -> tensor<128x128xf32> {
  %e = tensor.empty() : tensor<128x128xf32>
  %0 = lathe.matmul ins(%a, %b : tensor<128x64xf32>, tensor<64x128xf32>) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  %1 = linalg.softmax dimension(1) ins(%0 : tensor<128x128xf32>) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  return %1 : tensor<128x128xf32>
}

// A 512x512 by 512x512 product: tiles of the MME's SRAM share (512 KiB)
// holding two buffers of each operand block and the result block. Output
// blocks stay at least the array's size (32) and the reduction is split
// first: 256x256 blocks with k = 512 need 2 * (256 + 256) * 512 * 4 +
// 256 * 256 * 4 = 2359296 B, k = 256 1310720 B, k = 128 786432 B, k = 64
// 524288 B: fits. 2 * 2 * 8 = 32 tiles. %a is read once per column of
// blocks and %b once per row (twice each): 4 MiB / 32 = 131072 B a tile;
// the 1 MiB result goes back to HBM, 32768 B a tile.
// CHECK-LABEL: accel.program "large"
// CHECK: accel.dma_load() {bytes = 131072 : i64, group = 0 : i64, source = "lathe.matmul#0", tiles = 32 : i64}
// CHECK: accel.mme_matmul(%{{.*}}) {{.*}}group = 0 : i64, k = 64 : i64, m = 256 : i64, n = 256 : i64, {{.*}}source = "lathe.matmul#0", tiles = 32 : i64}
// CHECK: accel.dma_store(%{{.*}}) {bytes = 32768 : i64, group = 0 : i64, source = "lathe.matmul#0", tiles = 32 : i64}
func.func @large(%a: tensor<512x512xf32>, %b: tensor<512x512xf32>) -> tensor<512x512xf32> {
  %e = tensor.empty() : tensor<512x512xf32>
  %0 = lathe.matmul ins(%a, %b : tensor<512x512xf32>, tensor<512x512xf32>) outs(%e : tensor<512x512xf32>) -> tensor<512x512xf32>
  return %0 : tensor<512x512xf32>
}

// A gather (tensor.extract of a table row by an id): the engine op simulates
// the wrap of a negative id from the end of the table, select(id < 0,
// id + rows, id) with the add's operands in either order. Another select of
// the id is no wrap: a clamp to the last row, or a clamp of negative ids to
// row 0 (the wrap's condition, another true value), leaves the program not
// executable with the reason, rather than simulated as a wrap.
// CHECK-LABEL: accel.program "gather_wrap" attributes {buffers =
// CHECK: accel.tpc_elementwise
// CHECK-SAME: gather_rows = 8 : i64, gather_wrap
// CHECK-LABEL: accel.program "gather_wrap_swapped" attributes {buffers =
// CHECK: accel.tpc_elementwise
// CHECK-SAME: gather_rows = 8 : i64, gather_wrap
// CHECK-LABEL: accel.program "gather_clamp" attributes {not_executable = "'linalg.generic' at {{.*}}: gathers by an index that is not an input's id (or the id wrapped from the end)"}
// CHECK-LABEL: accel.program "gather_clamp_negative" attributes {not_executable = "'linalg.generic' at {{.*}}: gathers by an index that is not an input's id (or the id wrapped from the end)"}
#ids = affine_map<(d0, d1) -> (d0)>
#rows = affine_map<(d0, d1) -> (d0, d1)>
func.func @gather_wrap(%ids: tensor<4xi64>, %table: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<4x16xf32>
  %y = linalg.generic {indexing_maps = [#ids, #rows], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<4xi64>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%i: i64, %o: f32):
    %r = arith.index_cast %i : i64 to index
    %neg = arith.cmpi slt, %r, %c0 : index
    %w = arith.addi %r, %c8 : index
    %s = arith.select %neg, %w, %r : index
    %j = linalg.index 1 : index
    %v = tensor.extract %table[%s, %j] : tensor<8x16xf32>
    linalg.yield %v : f32
  } -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
func.func @gather_wrap_swapped(%ids: tensor<4xi64>, %table: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<4x16xf32>
  %y = linalg.generic {indexing_maps = [#ids, #rows], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<4xi64>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%i: i64, %o: f32):
    %r = arith.index_cast %i : i64 to index
    %neg = arith.cmpi slt, %r, %c0 : index
    %w = arith.addi %c8, %r : index
    %s = arith.select %neg, %w, %r : index
    %j = linalg.index 1 : index
    %v = tensor.extract %table[%s, %j] : tensor<8x16xf32>
    linalg.yield %v : f32
  } -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
func.func @gather_clamp(%ids: tensor<4xi64>, %table: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %c7 = arith.constant 7 : index
  %e = tensor.empty() : tensor<4x16xf32>
  %y = linalg.generic {indexing_maps = [#ids, #rows], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<4xi64>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%i: i64, %o: f32):
    %r = arith.index_cast %i : i64 to index
    %over = arith.cmpi sgt, %r, %c7 : index
    %s = arith.select %over, %c7, %r : index
    %j = linalg.index 1 : index
    %v = tensor.extract %table[%s, %j] : tensor<8x16xf32>
    linalg.yield %v : f32
  } -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
func.func @gather_clamp_negative(%ids: tensor<4xi64>, %table: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %c0 = arith.constant 0 : index
  %e = tensor.empty() : tensor<4x16xf32>
  %y = linalg.generic {indexing_maps = [#ids, #rows], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<4xi64>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%i: i64, %o: f32):
    %r = arith.index_cast %i : i64 to index
    %neg = arith.cmpi slt, %r, %c0 : index
    %s = arith.select %neg, %c0, %r : index
    %j = linalg.index 1 : index
    %v = tensor.extract %table[%s, %j] : tensor<8x16xf32>
    linalg.yield %v : f32
  } -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
