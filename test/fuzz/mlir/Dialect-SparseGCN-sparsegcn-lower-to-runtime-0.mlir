memref.global "private" constant @rp : memref<5xi64> = dense<[0, 2, 4, 5, 6]>
memref.global "private" constant @ci : memref<6xi64> = dense<[0, 1, 0, 1, 0, 3]>
memref.global "private" constant @v : memref<6xf32> = dense<1.0>
func.func @plain(%rp: memref<5xi64>, %ci: memref<6xi64>, %v: memref<6xf32>, %x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  sparsegcn.aggregate csr(%rp, %ci, %v : memref<5xi64>, memref<6xi64>, memref<6xf32>) [4, 4]
    ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
  return
}
func.func @index32(%rp: memref<5xi32>, %ci: memref<6xi32>, %v: memref<6xf32>, %x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  sparsegcn.aggregate csr(%rp, %ci, %v : memref<5xi32>, memref<6xi32>, memref<6xf32>) [4, 4]
    ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
  return
}
func.func @tiled_constant(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  %rp = memref.get_global @rp : memref<5xi64>
  %ci = memref.get_global @ci : memref<6xi64>
  %v = memref.get_global @v : memref<6xf32>
  sparsegcn.tiled_aggregate csr(%rp, %ci, %v : memref<5xi64>, memref<6xi64>, memref<6xf32>) [4, 4] tile 2
    ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
    {tile_classes = array<i8: 2, 0, 1, 1>, dense_threshold = 0.25 : f64, sparse_nnz = 2 : i64}
  return
}
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
func.func @tensors(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x8xf32>, %e: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
