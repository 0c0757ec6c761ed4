func.func @perm(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>, %p: tensor<4xi32>) {
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2 permutation(%p : tensor<4xi32>) ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}
