func.func @main(%x: tensor<6x4xf32>) -> (tensor<6x4xf32>, tensor<6x4xf32>) {
  %rp64 = arith.constant dense<[0, 3, 6, 8, 9, 11, 12]> : tensor<7xi64>
  %ci64 = arith.constant dense<[0, 1, 2, 0, 1, 2, 0, 1, 3, 4, 5, 5]> : tensor<12xi64>
  %rp = arith.constant dense<[0, 3, 6, 8, 9, 11, 12]> : tensor<7xi32>
  %ci = arith.constant dense<[0, 1, 2, 0, 1, 2, 0, 1, 3, 4, 5, 5]> : tensor<12xi32>
  %v = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]> : tensor<12xf32>
  %e = tensor.empty() : tensor<6x4xf32>
  %y64 = sparsegcn.aggregate csr(%rp64, %ci64, %v : tensor<7xi64>, tensor<12xi64>, tensor<12xf32>) [6, 6]
           ins(%x : tensor<6x4xf32>) outs(%e : tensor<6x4xf32>) -> tensor<6x4xf32>
  %y32 = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<7xi32>, tensor<12xi32>, tensor<12xf32>) [6, 6]
           ins(%x : tensor<6x4xf32>) outs(%e : tensor<6x4xf32>) -> tensor<6x4xf32>
  return %y64, %y32 : tensor<6x4xf32>, tensor<6x4xf32>
}
