func.func @main(%x: tensor<6x4xf32>) -> (tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>) {
  %rp = arith.constant dense<[0, 3, 6, 8, 9, 11, 12]> : tensor<7xi64>
  %ci = arith.constant dense<[0, 1, 2, 0, 1, 2, 0, 1, 3, 4, 5, 5]> : tensor<12xi64>
  %v = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]> : tensor<12xf32>
  %e = tensor.empty() : tensor<6x4xf32>
  %y0 = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<7xi64>, tensor<12xi64>, tensor<12xf32>) [6, 6]
          ins(%x : tensor<6x4xf32>) outs(%e : tensor<6x4xf32>) -> tensor<6x4xf32>
  %y1 = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<7xi64>, tensor<12xi64>, tensor<12xf32>) [6, 6] tile 3
          ins(%x : tensor<6x4xf32>) outs(%e : tensor<6x4xf32>)
          {tile_classes = array<i8: 2, 0, 0, 1>, sparse_nnz = 4 : i64} -> tensor<6x4xf32>
  %y2 = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<7xi64>, tensor<12xi64>, tensor<12xf32>) [6, 6] tile 3
          ins(%x : tensor<6x4xf32>) outs(%e : tensor<6x4xf32>) {dense_threshold = 0.5 : f64} -> tensor<6x4xf32>
  return %y0, %y1, %y2 : tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>
}
