// FLOP counts of the aggregation ops as lathe-run reports them (counted on
// the module as given): 2·nnz·F untiled (96); 2·(sparse_nnz + dense tile
// area)·F tiled (2·(4 + 3·3)·4 = 104); 2·nnz·F when the runtime classifies
// (96). All three compute the same product.
// RUN: %python -c "import numpy as np,sys; np.save(sys.argv[1], np.arange(24, dtype=np.float32).reshape(6, 4))" %t.x.npy
// RUN: lathe-run %s --input=%t.x.npy --output=%t.0.npy --output=%t.1.npy --output=%t.2.npy --report=%t.json
// RUN: %python -c "import json,sys; f=json.load(open(sys.argv[1]))['flops']; assert f == 96 + 104 + 96, f" %t.json
// RUN: %python %scripts/compare_npy.py %t.1.npy %t.0.npy
// RUN: %python %scripts/compare_npy.py %t.2.npy %t.0.npy

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
