func.func @aggregate(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>,
                     %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
func.func @aggregate_i32_memref(%rp: memref<5xi32>, %ci: memref<6xi32>, %v: memref<6xf32>,
                                %x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  sparsegcn.aggregate csr(%rp, %ci, %v : memref<5xi32>, memref<6xi32>, memref<6xf32>) [4, 4]
    ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
  return
}
func.func @tiled(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>,
                 %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>)
         {tile_classes = array<i8: 2, 0, 1, 1>, dense_threshold = 0.25 : f64, sparse_nnz = 2 : i64} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
func.func @tiled_deferred_permuted(%rp: tensor<5xi32>, %ci: tensor<6xi32>, %v: tensor<6xf32>, %p: tensor<4xi32>,
                                   %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi32>, tensor<6xi32>, tensor<6xf32>) [4, 4] tile 3
         permutation(%p : tensor<4xi32>)
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {dense_threshold = 0.4 : f64} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
