// RUN: lathe-opt %s --lathe-cpu-lower-to-runtime | FileCheck %s

// The mask select right before a softmax joins it in one runtime call;
// selects that are no attention mask stay generated code.

#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#pad = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#causal = affine_map<(d0, d1, d2, d3) -> (0, 0, d2, d3)>

// CHECK-DAG: func.func private @lathe_rt_masked_softmax_f32(memref<*xf32>, memref<*xi1>, memref<*xf32>, f32, i64, i64, i64)

// A padding mask [batch, keys] (true = masked with -inf): mask dimension 0
// is loop dimension 0, dimension 1 is loop dimension 3: 0 | 3 << 4 = 48.
// CHECK-LABEL: func.func @padding
// CHECK-SAME: (%[[X:.*]]: memref<2x4x8x8xf32>, %[[M:.*]]: memref<2x8xi1>, %[[Y:.*]]: memref<2x4x8x8xf32>)
// CHECK-DAG: %[[AXIS:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[DIMS:.*]] = arith.constant 48 : i64
// CHECK-DAG: %[[WHEN:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[XC:.*]] = memref.cast %[[X]]
// CHECK-DAG: %[[MC:.*]] = memref.cast %[[M]]
// CHECK-DAG: %[[YC:.*]] = memref.cast %[[Y]]
// CHECK: call @lathe_rt_masked_softmax_f32(%[[XC]], %[[MC]], %[[YC]], %{{.*}}, %[[AXIS]], %[[DIMS]], %[[WHEN]])
// CHECK-NOT: linalg.
// CHECK-NOT: lathe_rt_softmax_f32
func.func @padding(%x: memref<2x4x8x8xf32>, %m: memref<2x8xi1>, %y: memref<2x4x8x8xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %t = memref.alloc() : memref<2x4x8x8xf32>
  linalg.generic {indexing_maps = [#id, #pad, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %m : memref<2x4x8x8xf32>, memref<2x8xi1>) outs(%t : memref<2x4x8x8xf32>) {
  ^bb0(%in: f32, %mask: i1, %out: f32):
    %s = arith.select %mask, %ninf, %in : f32
    linalg.yield %s : f32
  }
  linalg.softmax dimension(3) ins(%t : memref<2x4x8x8xf32>) outs(%y : memref<2x4x8x8xf32>)
  memref.dealloc %t : memref<2x4x8x8xf32>
  return
}

// A causal mask [1, 1, L, L] that keeps where true (the tril buffer of a
// GPT-2 block), mask first among the inputs, a finite fill: unit dimensions
// 0xF, 0xF, then 2, 3: 0xFF | 2 << 8 | 3 << 12 = 13055.
// CHECK-LABEL: func.func @causal_keep_where_true
// CHECK-DAG: arith.constant -1.000000e+09 : f32
// CHECK-DAG: %[[DIMS:.*]] = arith.constant 13055 : i64
// CHECK-DAG: %[[WHEN:.*]] = arith.constant 0 : i64
// CHECK: call @lathe_rt_masked_softmax_f32({{.*}}, %[[DIMS]], %[[WHEN]])
// CHECK-NOT: linalg.
func.func @causal_keep_where_true(%x: memref<1x4x8x8xf32>, %m: memref<1x1x8x8xi1>, %y: memref<1x4x8x8xf32>) {
  %fill = arith.constant -1.0e9 : f32
  %t = memref.alloc() : memref<1x4x8x8xf32>
  linalg.generic {indexing_maps = [#causal, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%m, %x : memref<1x1x8x8xi1>, memref<1x4x8x8xf32>) outs(%t : memref<1x4x8x8xf32>) {
  ^bb0(%mask: i1, %in: f32, %out: f32):
    %s = arith.select %mask, %in, %fill : f32
    linalg.yield %s : f32
  }
  linalg.softmax dimension(3) ins(%t : memref<1x4x8x8xf32>) outs(%y : memref<1x4x8x8xf32>)
  memref.dealloc %t : memref<1x4x8x8xf32>
  return
}

// Look-alikes keep their generic and the plain softmax call: the masked
// buffer is read again after the softmax; the fill is not a constant; the
// select is followed by a scale; the select picks between two inputs.
// CHECK-LABEL: func.func @lookalikes
// CHECK-NOT: lathe_rt_masked_softmax_f32
// CHECK: linalg.generic
// CHECK: call @lathe_rt_softmax_f32
// CHECK: linalg.generic
// CHECK: call @lathe_rt_softmax_f32
// CHECK: linalg.generic
// CHECK: call @lathe_rt_softmax_f32
// CHECK: linalg.generic
// CHECK: call @lathe_rt_softmax_f32
// CHECK-NOT: lathe_rt_masked_softmax_f32
func.func @lookalikes(%x: memref<2x4x8x8xf32>, %m: memref<2x8xi1>, %f: f32, %z: memref<2x4x8x8xf32>,
                      %y: memref<2x4x8x8xf32>, %keep: memref<2x4x8x8xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %half = arith.constant 0.5 : f32
  %t0 = memref.alloc() : memref<2x4x8x8xf32>
  linalg.generic {indexing_maps = [#id, #pad, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %m : memref<2x4x8x8xf32>, memref<2x8xi1>) outs(%t0 : memref<2x4x8x8xf32>) {
  ^bb0(%in: f32, %mask: i1, %out: f32):
    %s = arith.select %mask, %ninf, %in : f32
    linalg.yield %s : f32
  }
  linalg.softmax dimension(3) ins(%t0 : memref<2x4x8x8xf32>) outs(%y : memref<2x4x8x8xf32>)
  memref.copy %t0, %keep : memref<2x4x8x8xf32> to memref<2x4x8x8xf32>
  %t1 = memref.alloc() : memref<2x4x8x8xf32>
  linalg.generic {indexing_maps = [#id, #pad, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %m : memref<2x4x8x8xf32>, memref<2x8xi1>) outs(%t1 : memref<2x4x8x8xf32>) {
  ^bb0(%in: f32, %mask: i1, %out: f32):
    %s = arith.select %mask, %f, %in : f32
    linalg.yield %s : f32
  }
  linalg.softmax dimension(3) ins(%t1 : memref<2x4x8x8xf32>) outs(%y : memref<2x4x8x8xf32>)
  %t2 = memref.alloc() : memref<2x4x8x8xf32>
  linalg.generic {indexing_maps = [#id, #pad, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %m : memref<2x4x8x8xf32>, memref<2x8xi1>) outs(%t2 : memref<2x4x8x8xf32>) {
  ^bb0(%in: f32, %mask: i1, %out: f32):
    %s = arith.select %mask, %ninf, %in : f32
    %h = arith.mulf %s, %half : f32
    linalg.yield %h : f32
  }
  linalg.softmax dimension(3) ins(%t2 : memref<2x4x8x8xf32>) outs(%y : memref<2x4x8x8xf32>)
  %t3 = memref.alloc() : memref<2x4x8x8xf32>
  linalg.generic {indexing_maps = [#id, #pad, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %m, %z : memref<2x4x8x8xf32>, memref<2x8xi1>, memref<2x4x8x8xf32>) outs(%t3 : memref<2x4x8x8xf32>) {
  ^bb0(%in: f32, %mask: i1, %other: f32, %out: f32):
    %s = arith.select %mask, %other, %in : f32
    linalg.yield %s : f32
  }
  linalg.softmax dimension(3) ins(%t3 : memref<2x4x8x8xf32>) outs(%y : memref<2x4x8x8xf32>)
  return
}
