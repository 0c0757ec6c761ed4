// Aᵀ of a 6 x 5 CSR matrix (sparsegcn.transpose) with 64- and 32-bit
// indices; the outputs hold two slots more than nnz (zeroed). Inputs:
// row_ptr and col_idx (i64), values (f32); the i32 copies are casts.
func.func @main(%rp: tensor<7xi64>, %ci: tensor<?xi64>, %v: tensor<?xf32>)
    -> (tensor<6xi64>, tensor<?xi64>, tensor<?xf32>, tensor<6xi32>, tensor<?xi32>, tensor<?xf32>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %ci, %c0 : tensor<?xi64>
  %c2 = arith.constant 2 : index
  %m = arith.addi %n, %c2 : index
  %e0 = tensor.empty() : tensor<6xi64>
  %e1 = tensor.empty(%m) : tensor<?xi64>
  %e2 = tensor.empty(%m) : tensor<?xf32>
  %t:3 = sparsegcn.transpose csr(%rp, %ci, %v : tensor<7xi64>, tensor<?xi64>, tensor<?xf32>) [6, 5]
      outs(%e0, %e1, %e2 : tensor<6xi64>, tensor<?xi64>, tensor<?xf32>)
      -> tensor<6xi64>, tensor<?xi64>, tensor<?xf32>
  %rp32 = arith.trunci %rp : tensor<7xi64> to tensor<7xi32>
  %ci32 = arith.trunci %ci : tensor<?xi64> to tensor<?xi32>
  %f0 = tensor.empty() : tensor<6xi32>
  %f1 = tensor.empty(%m) : tensor<?xi32>
  %f2 = tensor.empty(%m) : tensor<?xf32>
  %u:3 = sparsegcn.transpose csr(%rp32, %ci32, %v : tensor<7xi32>, tensor<?xi32>, tensor<?xf32>) [6, 5]
      outs(%f0, %f1, %f2 : tensor<6xi32>, tensor<?xi32>, tensor<?xf32>)
      -> tensor<6xi32>, tensor<?xi32>, tensor<?xf32>
  return %t#0, %t#1, %t#2, %u#0, %u#1, %u#2 : tensor<6xi64>, tensor<?xi64>, tensor<?xf32>, tensor<6xi32>, tensor<?xi32>, tensor<?xf32>
}
