func.func @init_type(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf16>) {
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf16>) -> tensor<4x16xf16>
  return
}
