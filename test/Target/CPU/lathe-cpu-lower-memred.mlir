// RUN: lathe-opt %s --lathe-cpu-lower-memred | FileCheck %s

// CHECK-DAG: func.func private @lathe_rt_chunked_attention_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f32, i64, i64, i64)
// CHECK-DAG: func.func private @lathe_rt_cross_modal_reduce_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f64, f64, f32)
// CHECK-DAG: func.func private @lathe_rt_chunked_attention_lse_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f32, i64, i64, i64)
// CHECK-DAG: func.func private @lathe_rt_chunked_attention_backward_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f32, i64, i64, i64, i64)
// CHECK-DAG: func.func private @lathe_rt_bank_append_policy_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, i64, f64, f64, f32, i64, i64, i64) -> i64

// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[Q:.*]]: memref<4x128x64xf32>, %[[K:.*]]: memref<4x128x64xf32>, %[[V:.*]]: memref<4x128x64xf32>, %[[O:.*]]: memref<4x128x64xf32>)
// CHECK-DAG: %[[UQ:.*]] = memref.cast %[[Q]] : memref<4x128x64xf32> to memref<*xf32>
// CHECK-DAG: %[[UO:.*]] = memref.cast %[[O]] : memref<4x128x64xf32> to memref<*xf32>
// CHECK-DAG: %[[S:.*]] = arith.constant 1.250000e-01 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK: call @lathe_rt_chunked_attention_f32(%[[UQ]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[UO]], %[[S]], %[[ZERO]], %{{.*}}, %{{.*}})
// CHECK-NOT: memred.attention
func.func @attention(%q: memref<4x128x64xf32>, %k: memref<4x128x64xf32>, %v: memref<4x128x64xf32>, %o: memref<4x128x64xf32>) {
  memred.attention ins(%q, %k, %v : memref<4x128x64xf32>, memref<4x128x64xf32>, memref<4x128x64xf32>) outs(%o : memref<4x128x64xf32>) scale(0.125)
  return
}

// CHECK-LABEL: func.func @chunked
// CHECK-SAME: %[[B0:[^:]*]]: memref<1x1x256xf32>, %[[B1:[^:]*]]: memref<1x256x256xf32>
// CHECK-DAG: %[[UB0:.*]] = memref.cast %[[B0]]
// CHECK-DAG: %[[UB1:.*]] = memref.cast %[[B1]]
// CHECK-DAG: %[[QC:.*]] = arith.constant 32 : i64
// CHECK-DAG: %[[KC:.*]] = arith.constant 64 : i64
// CHECK-DAG: %[[NB:.*]] = arith.constant 2 : i64
// CHECK: call @lathe_rt_chunked_attention_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[UB0]], %[[UB1]], %{{.*}}, %{{.*}}, %[[QC]], %[[KC]], %[[NB]])
func.func @chunked(%q: memref<1x256x16xf32>, %b0: memref<1x1x256xf32>, %b1: memref<1x256x256xf32>, %o: memref<1x256x16xf32>) {
  memred.chunked_attention ins(%q, %q, %q : memref<1x256x16xf32>, memref<1x256x16xf32>, memref<1x256x16xf32>)
    biases(%b0, %b1 : memref<1x1x256xf32>, memref<1x256x256xf32>) outs(%o : memref<1x256x16xf32>) scale(0.25) chunks(32, 64)
  return
}

// The forward with a log-sum-exp init calls the kernel variant that writes
// it.
// CHECK-LABEL: func.func @with_lse
// CHECK-SAME: %[[L:[^:]*]]: memref<2x8xf32>
// CHECK: %[[UL:.*]] = memref.cast %[[L]]
// CHECK: call @lathe_rt_chunked_attention_lse_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[UL]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
func.func @with_lse(%q: memref<2x8x4xf32>, %o: memref<2x8x4xf32>, %l: memref<2x8xf32>) {
  memred.chunked_attention ins(%q, %q, %q : memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>)
    outs(%o : memref<2x8x4xf32>) lse(%l : memref<2x8xf32>) scale(0.5) chunks(4, 4)
  return
}

// The gradient of bias 1 only: it goes in the second gradient slot, the
// first gets a placeholder, and the mask is 2 (bit 1).
// CHECK-LABEL: func.func @grad
// CHECK-SAME: %[[B0:[^:]*]]: memref<1x1x8xf32>, %[[B1:[^:]*]]: memref<1x8x8xf32>, %[[DB1:[^:]*]]: memref<1x8x8xf32>
// CHECK-DAG: %[[UB0:.*]] = memref.cast %[[B0]]
// CHECK-DAG: %[[UB1:.*]] = memref.cast %[[B1]]
// CHECK-DAG: %[[UDB1:.*]] = memref.cast %[[DB1]]
// CHECK-DAG: %[[QC:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[KC:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[NB:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[MASK:.*]] = arith.constant 2 : i64
// CHECK: call @lathe_rt_chunked_attention_backward_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[UB0]], %[[UB1]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[UDB1]], %{{.*}}, %[[QC]], %[[KC]], %[[NB]], %[[MASK]])
// CHECK-NOT: memred.attention_grad
func.func @grad(%q: memref<2x8x4xf32>, %l: memref<2x8xf32>, %b0: memref<1x1x8xf32>, %b1: memref<1x8x8xf32>, %db1: memref<1x8x8xf32>) {
  memred.attention_grad ins(%q, %q, %q, %q, %q, %l : memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8xf32>)
    biases(%b0, %b1 : memref<1x1x8xf32>, memref<1x8x8xf32>)
    outs(%q, %q, %q : memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>)
    bias_grads [1] (%db1 : memref<1x8x8xf32>) scale(0.5) chunks(0, 0)
  return
}

// CHECK-LABEL: func.func @reduce
// CHECK-DAG: %[[R:.*]] = arith.constant 2.000000e-01 : f64
// CHECK-DAG: %[[KEEP:.*]] = arith.constant 2.500000e-01 : f64
// CHECK: call @lathe_rt_cross_modal_reduce_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[R]], %[[KEEP]], %{{.*}})
func.func @reduce(%q: memref<1x2x4xf32>, %k: memref<1x10x4xf32>, %t: memref<10x3xf32>, %o: memref<4x3xf32>) {
  memred.cross_modal_reduce queries(%q : memref<1x2x4xf32>) keys(%k : memref<1x10x4xf32>) ins(%t : memref<10x3xf32>) outs(%o : memref<4x3xf32>) recent(0.2) keep(0.25) scale(1.0)
  return
}

// Tensor-level ops are left for bufferization.
// CHECK-LABEL: func.func @tensors
// CHECK: memred.attention
func.func @tensors(%q: tensor<1x8x4xf32>) -> tensor<1x8x4xf32> {
  %o = memred.attention ins(%q, %q, %q : tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<1x8x4xf32>) outs(%q : tensor<1x8x4xf32>) scale(1.0) -> tensor<1x8x4xf32>
  return %o : tensor<1x8x4xf32>
}

// The bank's kernel returns the new count (i64).
// CHECK-LABEL: func.func @bank
// CHECK-SAME: (%[[F:[^:]*]]: memref<8x24xf32>, %[[Q:[^:]*]]: memref<2x3x8xf32>, %[[B:[^:]*]]: memref<40x24xf32>, %[[N:[^:]*]]: index)
// CHECK-DAG: %[[UF:.*]] = memref.cast %[[F]] : memref<8x24xf32> to memref<*xf32>
// CHECK-DAG: %[[UQ:.*]] = memref.cast %[[Q]] : memref<2x3x8xf32> to memref<*xf32>
// CHECK-DAG: %[[UB:.*]] = memref.cast %[[B]] : memref<40x24xf32> to memref<*xf32>
// CHECK-DAG: %[[N64:.*]] = arith.index_cast %[[N]] : index to i64
// CHECK-DAG: %[[R:.*]] = arith.constant 1.000000e-01 : f64
// CHECK-DAG: %[[K:.*]] = arith.constant 2.000000e-01 : f64
// CHECK-DAG: %[[S:.*]] = arith.constant 3.500000e-01 : f32
// The policy (adacm2: 0), the seed and the step (none: 0).
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK: %[[C:.*]] = call @lathe_rt_bank_append_policy_f32(%[[UF]], %[[UQ]], %[[UB]], %[[N64]], %[[R]], %[[K]], %[[S]], %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) : (memref<*xf32>, memref<*xf32>, memref<*xf32>, i64, f64, f64, f32, i64, i64, i64) -> i64
// CHECK: %[[CI:.*]] = arith.index_cast %[[C]] : i64 to index
// CHECK: return %[[CI]]
func.func @bank(%f: memref<8x24xf32>, %q: memref<2x3x8xf32>, %b: memref<40x24xf32>, %n: index) -> index {
  %n1 = memred.bank_append ins(%f : memref<8x24xf32>) queries(%q : memref<2x3x8xf32>)
          outs(%b : memref<40x24xf32>) count(%n) recent(0.1) keep(0.2) scale(0.35) -> index
  return %n1 : index
}
