// Execution through lathe-run: i32 row_ptr / col_idx through the _i32
// runtime entry points, untiled and tiled with compile-time classes, equal to
// the i64 result; below, a reordered plan (permutation operand).
// RUN: %python -c "import numpy as np,sys; np.save(sys.argv[1], np.arange(24, dtype=np.float32).reshape(6, 4))" %t.x.npy
// RUN: lathe-run %s --input=%t.x.npy --output=%t.ref.npy --output=%t.a.npy
// RUN: %python %scripts/compare_npy.py %t.a.npy %t.ref.npy
// RUN: lathe-opt %s --sparsegcn-tile="tile-size=3 dense-threshold=0.5" -o %t.tiled.mlir
// RUN: lathe-run %t.tiled.mlir --input=%t.x.npy --output=%t.ref2.npy --output=%t.b.npy --report=%t.json
// RUN: %python %scripts/compare_npy.py %t.b.npy %t.ref.npy
// RUN: %python -c "import json,sys; k=json.load(open(sys.argv[1]))['kernels']; assert k['spmm_tiled']['calls'] == 2, k" %t.json
// RUN: lathe-opt %s --sparsegcn-tile="tile-size=3 dense-threshold=0.5 reorder=degree" -o %t.perm.mlir
// RUN: lathe-run %t.perm.mlir --input=%t.x.npy --output=%t.ref3.npy --output=%t.c.npy
// RUN: %python %scripts/compare_npy.py %t.c.npy %t.ref.npy

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

// Reordered execution: degree ordering packs the clique of Inputs/clique_graph.py
// into one dense tile; the permuted plan gives the original-order result.
// RUN: %python %S/Inputs/clique_graph.py > %t.clique.mlir
// RUN: lathe-opt %t.clique.mlir --sparsegcn-tile="tile-size=32 reorder=degree" -o %t.clique-perm.mlir
// RUN: grep -q "permutation(" %t.clique-perm.mlir
// RUN: %python -c "import numpy as np,sys; np.save(sys.argv[1], np.random.default_rng(0).standard_normal((64, 256)).astype(np.float32))" %t.cx.npy
// RUN: lathe-run %t.clique.mlir --entry=clique --input=%t.cx.npy --output=%t.cref.npy
// RUN: lathe-run %t.clique-perm.mlir --entry=clique --input=%t.cx.npy --output=%t.cout.npy
// RUN: %python %scripts/compare_npy.py %t.cout.npy %t.cref.npy
