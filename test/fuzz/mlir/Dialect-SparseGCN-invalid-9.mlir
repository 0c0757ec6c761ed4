func.func @row_ptr_size(%rp: tensor<4xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<4xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}
