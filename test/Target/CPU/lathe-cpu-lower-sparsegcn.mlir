// RUN: lathe-opt %s --lathe-cpu-lower-sparsegcn | FileCheck %s

memref.global "private" constant @rp : memref<5xi64> = dense<[0, 2, 4, 5, 6]>
memref.global "private" constant @ci : memref<6xi64> = dense<[0, 1, 0, 1, 0, 3]>
memref.global "private" constant @v : memref<6xf32> = dense<1.0>

// CHECK-DAG: func.func private @lathe_rt_spmm_csr_f32(memref<*xi64>, memref<*xi64>, memref<*xf32>, memref<*xf32>, memref<*xf32>, i64, i64, i64)
// CHECK-DAG: func.func private @lathe_rt_spmm_csr_f32_i32(memref<*xi32>, memref<*xi32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, i64, i64, i64)
// CHECK-DAG: func.func private @lathe_rt_spmm_tiled_f32(memref<*xi64>, memref<*xi64>, memref<*xf32>, memref<*xi8>, memref<*xi64>, memref<*xf32>, memref<*xf32>, i64, i64, i64, i64, i64)
// CHECK-DAG: memref.global "private" constant @__sparsegcn_tile_classes : memref<4xi8> = dense<[2, 0, 1, 1]>

// Arguments: not constant, flags 0.
// CHECK-LABEL: func.func @plain
// CHECK: %[[FLAGS:.*]] = arith.constant 0 : i64
// CHECK: call @lathe_rt_spmm_csr_f32({{.*}}, %{{.*}}, %{{.*}}, %[[FLAGS]])
func.func @plain(%rp: memref<5xi64>, %ci: memref<6xi64>, %v: memref<6xf32>, %x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  sparsegcn.aggregate csr(%rp, %ci, %v : memref<5xi64>, memref<6xi64>, memref<6xf32>) [4, 4]
    ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
  return
}

// CHECK-LABEL: func.func @index32
// CHECK: call @lathe_rt_spmm_csr_f32_i32(
func.func @index32(%rp: memref<5xi32>, %ci: memref<6xi32>, %v: memref<6xf32>, %x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  sparsegcn.aggregate csr(%rp, %ci, %v : memref<5xi32>, memref<6xi32>, memref<6xf32>) [4, 4]
    ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
  return
}

// Globals: LATHE_SPMM_CONST_A (2); classes as a constant global; threshold
// in millionths.
// CHECK-LABEL: func.func @tiled_constant
// CHECK: %[[CLASSES:.*]] = memref.get_global @__sparsegcn_tile_classes : memref<4xi8>
// CHECK: %[[C:.*]] = memref.cast %[[CLASSES]] : memref<4xi8> to memref<*xi8>
// CHECK: %[[PPM:.*]] = arith.constant 250000 : i64
// CHECK: %[[FLAGS:.*]] = arith.constant 2 : i64
// CHECK: call @lathe_rt_spmm_tiled_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[C]], {{.*}}, %[[PPM]], %[[FLAGS]])
func.func @tiled_constant(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  %rp = memref.get_global @rp : memref<5xi64>
  %ci = memref.get_global @ci : memref<6xi64>
  %v = memref.get_global @v : memref<6xf32>
  sparsegcn.tiled_aggregate csr(%rp, %ci, %v : memref<5xi64>, memref<6xi64>, memref<6xf32>) [4, 4] tile 2
    ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
    {tile_classes = array<i8: 2, 0, 1, 1>, dense_threshold = 0.25 : f64, sparse_nnz = 2 : i64}
  return
}

// No classes: LATHE_SPMM_CLASSIFY (4) | CONST_A (2) | PERMUTED (8) = 14.
// CHECK-LABEL: func.func @tiled_deferred_permuted
// CHECK: memref.alloca() : memref<1xi8>
// CHECK: %[[FLAGS:.*]] = arith.constant 14 : i64
// CHECK: call @lathe_rt_spmm_tiled_f32({{.*}}, %[[FLAGS]])
func.func @tiled_deferred_permuted(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  %rp = memref.get_global @rp : memref<5xi64>
  %ci = memref.get_global @ci : memref<6xi64>
  %v = memref.get_global @v : memref<6xf32>
  %p = memref.get_global @rp : memref<5xi64>
  %perm = memref.subview %p[0] [4] [1] : memref<5xi64> to memref<4xi64, strided<[1]>>
  sparsegcn.tiled_aggregate csr(%rp, %ci, %v : memref<5xi64>, memref<6xi64>, memref<6xf32>) [4, 4] tile 2
    permutation(%perm : memref<4xi64, strided<[1]>>)
    ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>) {dense_threshold = 0.5 : f64}
  return
}

// A module without sparsegcn ops on memrefs is left alone (tensors are not
// lowered here).
// CHECK-LABEL: func.func @tensors
// CHECK: sparsegcn.aggregate
func.func @tensors(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x8xf32>, %e: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// The transpose of a 3 x 5 matrix: one call, the sizes as trailing i64s.
// CHECK-LABEL: func.func @transpose
// CHECK-DAG: %[[R:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[C:.*]] = arith.constant 5 : i64
// CHECK: call @lathe_rt_csr_transpose_i32({{.*}}, %[[R]], %[[C]]) : (memref<*xi32>, memref<*xi32>, memref<*xf32>, memref<*xi32>, memref<*xi32>, memref<*xf32>, i64, i64) -> ()
// CHECK-NOT: sparsegcn.transpose
func.func @transpose(%rp: memref<4xi32>, %ci: memref<6xi32>, %v: memref<6xf32>,
                     %trp: memref<6xi32>, %tci: memref<6xi32>, %tv: memref<6xf32>) {
  sparsegcn.transpose csr(%rp, %ci, %v : memref<4xi32>, memref<6xi32>, memref<6xf32>) [3, 5]
    outs(%trp, %tci, %tv : memref<6xi32>, memref<6xi32>, memref<6xf32>)
  return
}
