func.func @empty_graph(%rp: tensor<1xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<0x16xf32>, %e: tensor<0x16xf32>) {
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<1xi64>, tensor<6xi64>, tensor<6xf32>) [0, 0] ins(%x : tensor<0x16xf32>) outs(%e : tensor<0x16xf32>) -> tensor<0x16xf32>
  return
}
