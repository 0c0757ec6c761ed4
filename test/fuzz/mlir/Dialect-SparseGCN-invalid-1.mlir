func.func @memref_result(%rp: memref<5xi64>, %ci: memref<6xi64>, %v: memref<6xf32>, %x: memref<4x16xf32>, %e: memref<4x16xf32>) {
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : memref<5xi64>, memref<6xi64>, memref<6xf32>) [4, 4] ins(%x : memref<4x16xf32>) outs(%e : memref<4x16xf32>) -> tensor<4x16xf32>
  return
}
