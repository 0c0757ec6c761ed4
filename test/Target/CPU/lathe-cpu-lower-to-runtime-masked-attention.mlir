// RUN: lathe-opt %s --lathe-cpu-lower-to-runtime | FileCheck %s

// Masked attention on buffers (scaled Q·Kᵀ into a buffer of its own, the
// select mask, the softmax into a buffer of its own, P·V) becomes one
// lathe_rt_masked_attention_f32 call where P·V was; look-alikes keep their
// matmul, masked softmax and matmul calls.

#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#pad = affine_map<(d0, d1, d2, d3) -> (d0, d3)>

// CHECK-DAG: func.func private @lathe_rt_masked_attention_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xi1>, memref<*xf32>, f32, f32, i64, i64)

// Heads read through permutations of [batch, seq, heads, dim] projections
// (as lathe-cpu-fold-layouts leaves them), a padding mask [batch, keys]
// that masks where true: mask dims 0 | 3 << 4 = 48, flags HAS_MASK |
// MASKED_WHEN_TRUE = 3.
// CHECK-LABEL: func.func @heads
// CHECK-SAME: (%[[Q:[^:]*]]: memref<2x8x4x16xf32>, %[[K:[^:]*]]: memref<2x8x4x16xf32>, %[[V:[^:]*]]: memref<2x8x4x16xf32>, %[[M:[^:]*]]: memref<2x8xi1>, %[[O:[^:]*]]: memref<2x8x4x16xf32>)
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 2.500000e-01 : f32
// CHECK-DAG: %[[DIMS:.*]] = arith.constant 48 : i64
// CHECK-DAG: %[[FLAGS:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[QT:.*]] = memref.transpose %[[Q]] (d0, d1, d2, d3) -> (d0, d2, d1, d3)
// CHECK-DAG: %[[KT:.*]] = memref.transpose %[[K]] (d0, d1, d2, d3) -> (d0, d2, d3, d1)
// CHECK-DAG: %[[VT:.*]] = memref.transpose %[[V]] (d0, d1, d2, d3) -> (d0, d2, d1, d3)
// CHECK-DAG: %[[OT:.*]] = memref.transpose %[[O]] (d0, d1, d2, d3) -> (d0, d2, d1, d3)
// CHECK-DAG: %[[QC:.*]] = memref.cast %[[QT]]
// CHECK-DAG: %[[KC:.*]] = memref.cast %[[KT]]
// CHECK-DAG: %[[VC:.*]] = memref.cast %[[VT]]
// CHECK-DAG: %[[MC:.*]] = memref.cast %[[M]]
// CHECK-DAG: %[[OC:.*]] = memref.cast %[[OT]]
// CHECK: call @lathe_rt_masked_attention_f32(%[[QC]], %[[KC]], %[[VC]], %[[MC]], %[[OC]], %[[SCALE]], %{{[^,]*}}, %[[DIMS]], %[[FLAGS]])
// CHECK-NOT: call
// CHECK-NOT: linalg.
func.func @heads(%q: memref<2x8x4x16xf32>, %k: memref<2x8x4x16xf32>, %v: memref<2x8x4x16xf32>,
                 %m: memref<2x8xi1>, %o: memref<2x8x4x16xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %s = memref.alloc() : memref<8x8x8xf32>
  %s4 = memref.expand_shape %s [[0, 1], [2], [3]] output_shape [2, 4, 8, 8] : memref<8x8x8xf32> into memref<2x4x8x8xf32>
  lathe.matmul ins(%q, %k : memref<2x8x4x16xf32>, memref<2x8x4x16xf32>) outs(%s4 : memref<2x4x8x8xf32>) {alpha = 0.25 : f32, lhs_perm = array<i64: 0, 2, 1, 3>, rhs_perm = array<i64: 0, 2, 3, 1>}
  %p = memref.alloc() : memref<2x4x8x8xf32>
  %t = memref.alloc() : memref<2x4x8x8xf32>
  linalg.generic {indexing_maps = [#id, #pad, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s4, %m : memref<2x4x8x8xf32>, memref<2x8xi1>) outs(%t : memref<2x4x8x8xf32>) {
  ^bb0(%in: f32, %mask: i1, %out: f32):
    %x = arith.select %mask, %ninf, %in : f32
    linalg.yield %x : f32
  }
  linalg.softmax dimension(3) ins(%t : memref<2x4x8x8xf32>) outs(%p : memref<2x4x8x8xf32>)
  lathe.matmul ins(%p, %v : memref<2x4x8x8xf32>, memref<2x8x4x16xf32>) outs(%o : memref<2x8x4x16xf32>) {init_perm = array<i64: 0, 2, 1, 3>, rhs_perm = array<i64: 0, 2, 1, 3>}
  memref.dealloc %s : memref<8x8x8xf32>
  memref.dealloc %p : memref<2x4x8x8xf32>
  memref.dealloc %t : memref<2x4x8x8xf32>
  return
}

// Rank 3, keys given as [B, Lk, D] with transpose_rhs, a mask that keeps
// where true with a finite fill (flags: HAS_MASK only), written by another
// op between the two products that touches none of the operands.
// CHECK-LABEL: func.func @rank3_keep_where_true
// CHECK: linalg.fill
// CHECK-DAG: arith.constant -1.000000e+09 : f32
// CHECK-DAG: %[[FLAGS:.*]] = arith.constant 1 : i64
// CHECK: call @lathe_rt_masked_attention_f32({{.*}}, %[[FLAGS]])
// CHECK-NOT: call
func.func @rank3_keep_where_true(%q: memref<4x8x16xf32>, %k: memref<4x8x16xf32>, %v: memref<4x8x16xf32>,
                                 %m: memref<4x8x8xi1>, %o: memref<4x8x16xf32>, %other: memref<4xf32>) {
  %fill = arith.constant -1.0e9 : f32
  %zero = arith.constant 0.0 : f32
  %s = memref.alloc() : memref<4x8x8xf32>
  lathe.matmul ins(%q, %k : memref<4x8x16xf32>, memref<4x8x16xf32>) outs(%s : memref<4x8x8xf32>) {transpose_rhs, alpha = 0.25 : f32}
  linalg.fill ins(%zero : f32) outs(%other : memref<4xf32>)
  %p = memref.alloc() : memref<4x8x8xf32>
  %t = memref.alloc() : memref<4x8x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%m, %s : memref<4x8x8xi1>, memref<4x8x8xf32>) outs(%t : memref<4x8x8xf32>) {
  ^bb0(%mask: i1, %in: f32, %out: f32):
    %x = arith.select %mask, %in, %fill : f32
    linalg.yield %x : f32
  }
  linalg.softmax dimension(2) ins(%t : memref<4x8x8xf32>) outs(%p : memref<4x8x8xf32>)
  lathe.matmul ins(%p, %v : memref<4x8x8xf32>, memref<4x8x16xf32>) outs(%o : memref<4x8x16xf32>)
  memref.dealloc %s : memref<4x8x8xf32>
  memref.dealloc %p : memref<4x8x8xf32>
  memref.dealloc %t : memref<4x8x8xf32>
  return
}

// The softmax writes the probabilities over the scores (bufferization
// reuses the buffer), a causal mask [1, 1, Lq, Lk] read at (0, 0, i, j):
// unit dims 0xF, 0xF, then 2, 3 = 13055.
// CHECK-LABEL: func.func @in_place_causal
// CHECK-DAG: %[[DIMS:.*]] = arith.constant 13055 : i64
// CHECK: call @lathe_rt_masked_attention_f32({{.*}}, %[[DIMS]], %{{.*}})
// CHECK-NOT: call
func.func @in_place_causal(%q: memref<1x4x8x16xf32>, %k: memref<1x4x8x16xf32>, %v: memref<1x4x8x16xf32>,
                           %m: memref<1x1x8x8xi1>, %o: memref<1x4x8x16xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %s = memref.alloc() : memref<1x4x8x8xf32>
  lathe.matmul ins(%q, %k : memref<1x4x8x16xf32>, memref<1x4x8x16xf32>) outs(%s : memref<1x4x8x8xf32>) {transpose_rhs, alpha = 0.25 : f32}
  %t = memref.alloc() : memref<1x4x8x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (0, 0, d2, d3)>, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%m, %s : memref<1x1x8x8xi1>, memref<1x4x8x8xf32>) outs(%t : memref<1x4x8x8xf32>) {
  ^bb0(%mask: i1, %in: f32, %out: f32):
    %x = arith.select %mask, %in, %ninf : f32
    linalg.yield %x : f32
  }
  linalg.softmax dimension(3) ins(%t : memref<1x4x8x8xf32>) outs(%s : memref<1x4x8x8xf32>)
  lathe.matmul ins(%s, %v : memref<1x4x8x8xf32>, memref<1x4x8x16xf32>) outs(%o : memref<1x4x8x16xf32>)
  memref.dealloc %s : memref<1x4x8x8xf32>
  memref.dealloc %t : memref<1x4x8x8xf32>
  return
}

// Look-alikes: the scores are read again (copied out); the probabilities
// are read again; P·V has a bias; an op between the products writes the
// queries; the probabilities over the scores' buffer are read again; no
// mask (a plain softmax stays a softmax call).
// CHECK-LABEL: func.func @lookalikes
// CHECK-NOT: lathe_rt_masked_attention_f32
// CHECK: call @lathe_rt_matmul_scaled_f32
// CHECK: call @lathe_rt_masked_softmax_f32
// CHECK: call @lathe_rt_matmul_f32
// CHECK: call @lathe_rt_matmul_scaled_f32
// CHECK: call @lathe_rt_masked_softmax_f32
// CHECK: call @lathe_rt_matmul_f32
// CHECK: call @lathe_rt_matmul_scaled_f32
// CHECK: call @lathe_rt_masked_softmax_f32
// CHECK: call @lathe_rt_matmul_f32
// CHECK: call @lathe_rt_matmul_scaled_f32
// CHECK: linalg.fill
// CHECK: call @lathe_rt_masked_softmax_f32
// CHECK: call @lathe_rt_matmul_f32
// CHECK: call @lathe_rt_matmul_scaled_f32
// CHECK: call @lathe_rt_masked_softmax_f32
// CHECK: call @lathe_rt_matmul_f32
// CHECK: call @lathe_rt_matmul_scaled_f32
// CHECK: call @lathe_rt_softmax_f32
// CHECK: call @lathe_rt_matmul_f32
// CHECK-NOT: lathe_rt_masked_attention_f32
func.func @lookalikes(%q: memref<4x8x16xf32>, %k: memref<4x8x16xf32>, %v: memref<4x8x16xf32>,
                      %m: memref<4x8x8xi1>, %o: memref<4x8x16xf32>, %keep: memref<4x8x8xf32>,
                      %bias: memref<16xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  // Scores read again.
  %s0 = memref.alloc() : memref<4x8x8xf32>
  lathe.matmul ins(%q, %k : memref<4x8x16xf32>, memref<4x8x16xf32>) outs(%s0 : memref<4x8x8xf32>) {transpose_rhs, alpha = 0.25 : f32}
  %p0 = memref.alloc() : memref<4x8x8xf32>
  %t0 = memref.alloc() : memref<4x8x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %m : memref<4x8x8xf32>, memref<4x8x8xi1>) outs(%t0 : memref<4x8x8xf32>) {
  ^bb0(%in: f32, %mask: i1, %out: f32):
    %x = arith.select %mask, %ninf, %in : f32
    linalg.yield %x : f32
  }
  linalg.softmax dimension(2) ins(%t0 : memref<4x8x8xf32>) outs(%p0 : memref<4x8x8xf32>)
  lathe.matmul ins(%p0, %v : memref<4x8x8xf32>, memref<4x8x16xf32>) outs(%o : memref<4x8x16xf32>)
  memref.copy %s0, %keep : memref<4x8x8xf32> to memref<4x8x8xf32>
  // Probabilities read again.
  %s1 = memref.alloc() : memref<4x8x8xf32>
  lathe.matmul ins(%q, %k : memref<4x8x16xf32>, memref<4x8x16xf32>) outs(%s1 : memref<4x8x8xf32>) {transpose_rhs, alpha = 0.25 : f32}
  %p1 = memref.alloc() : memref<4x8x8xf32>
  %t1 = memref.alloc() : memref<4x8x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s1, %m : memref<4x8x8xf32>, memref<4x8x8xi1>) outs(%t1 : memref<4x8x8xf32>) {
  ^bb0(%in: f32, %mask: i1, %out: f32):
    %x = arith.select %mask, %ninf, %in : f32
    linalg.yield %x : f32
  }
  linalg.softmax dimension(2) ins(%t1 : memref<4x8x8xf32>) outs(%p1 : memref<4x8x8xf32>)
  lathe.matmul ins(%p1, %v : memref<4x8x8xf32>, memref<4x8x16xf32>) outs(%o : memref<4x8x16xf32>)
  memref.copy %p1, %keep : memref<4x8x8xf32> to memref<4x8x8xf32>
  // P·V with a bias.
  %s2 = memref.alloc() : memref<4x8x8xf32>
  lathe.matmul ins(%q, %k : memref<4x8x16xf32>, memref<4x8x16xf32>) outs(%s2 : memref<4x8x8xf32>) {transpose_rhs, alpha = 0.25 : f32}
  %p2 = memref.alloc() : memref<4x8x8xf32>
  %t2 = memref.alloc() : memref<4x8x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s2, %m : memref<4x8x8xf32>, memref<4x8x8xi1>) outs(%t2 : memref<4x8x8xf32>) {
  ^bb0(%in: f32, %mask: i1, %out: f32):
    %x = arith.select %mask, %ninf, %in : f32
    linalg.yield %x : f32
  }
  linalg.softmax dimension(2) ins(%t2 : memref<4x8x8xf32>) outs(%p2 : memref<4x8x8xf32>)
  lathe.matmul ins(%p2, %v : memref<4x8x8xf32>, memref<4x8x16xf32>) bias(%bias : memref<16xf32>) outs(%o : memref<4x8x16xf32>)
  // The queries overwritten between the products.
  %s3 = memref.alloc() : memref<4x8x8xf32>
  lathe.matmul ins(%q, %k : memref<4x8x16xf32>, memref<4x8x16xf32>) outs(%s3 : memref<4x8x8xf32>) {transpose_rhs, alpha = 0.25 : f32}
  linalg.fill ins(%zero : f32) outs(%q : memref<4x8x16xf32>)
  %p3 = memref.alloc() : memref<4x8x8xf32>
  %t3 = memref.alloc() : memref<4x8x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s3, %m : memref<4x8x8xf32>, memref<4x8x8xi1>) outs(%t3 : memref<4x8x8xf32>) {
  ^bb0(%in: f32, %mask: i1, %out: f32):
    %x = arith.select %mask, %ninf, %in : f32
    linalg.yield %x : f32
  }
  linalg.softmax dimension(2) ins(%t3 : memref<4x8x8xf32>) outs(%p3 : memref<4x8x8xf32>)
  lathe.matmul ins(%p3, %v : memref<4x8x8xf32>, memref<4x8x16xf32>) outs(%o : memref<4x8x16xf32>)
  // Probabilities over the scores' buffer, read again.
  %s5 = memref.alloc() : memref<4x8x8xf32>
  lathe.matmul ins(%q, %k : memref<4x8x16xf32>, memref<4x8x16xf32>) outs(%s5 : memref<4x8x8xf32>) {transpose_rhs, alpha = 0.25 : f32}
  %t5 = memref.alloc() : memref<4x8x8xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s5, %m : memref<4x8x8xf32>, memref<4x8x8xi1>) outs(%t5 : memref<4x8x8xf32>) {
  ^bb0(%in: f32, %mask: i1, %out: f32):
    %x = arith.select %mask, %ninf, %in : f32
    linalg.yield %x : f32
  }
  linalg.softmax dimension(2) ins(%t5 : memref<4x8x8xf32>) outs(%s5 : memref<4x8x8xf32>)
  lathe.matmul ins(%s5, %v : memref<4x8x8xf32>, memref<4x8x16xf32>) outs(%o : memref<4x8x16xf32>)
  memref.copy %s5, %keep : memref<4x8x8xf32> to memref<4x8x8xf32>
  // No mask.
  %s4 = memref.alloc() : memref<4x8x8xf32>
  lathe.matmul ins(%q, %k : memref<4x8x16xf32>, memref<4x8x16xf32>) outs(%s4 : memref<4x8x8xf32>) {transpose_rhs, alpha = 0.25 : f32}
  %p4 = memref.alloc() : memref<4x8x8xf32>
  linalg.softmax dimension(2) ins(%s4 : memref<4x8x8xf32>) outs(%p4 : memref<4x8x8xf32>)
  lathe.matmul ins(%p4, %v : memref<4x8x8xf32>, memref<4x8x16xf32>) outs(%o : memref<4x8x16xf32>)
  return
}
