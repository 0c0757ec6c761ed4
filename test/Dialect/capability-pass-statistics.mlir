// The capability passes count what they decided (lathe-opt
// --mlir-pass-statistics): sparsegcn-tile tiles the aggregate (one dense, two
// sparse tiles); memred-bound-memory chunks one attention and keeps the one
// whose scores fit; lowrank-select-ranks factorizes the rank-2 weight.
// REQUIRES: pass-statistics
// RUN: lathe-opt %s --pass-pipeline='builtin.module(func.func(sparsegcn-tile{tile-size=2 dense-threshold=0.5}))' --mlir-pass-statistics -o /dev/null 2>&1 | FileCheck %s --check-prefix=GCN
// RUN: lathe-opt %s --pass-pipeline='builtin.module(func.func(memred-bound-memory{budget=4MiB}))' --mlir-pass-statistics -o /dev/null 2>&1 | FileCheck %s --check-prefix=MEMRED
// RUN: lathe-opt %s --lowrank-select-ranks="max-error=0.01" --mlir-pass-statistics -o /dev/null 2>&1 | FileCheck %s --check-prefix=LOWRANK

// GCN: SparseGCNTile
// GCN-DAG: (S) 1 aggregates-tiled
// GCN-DAG: (S) 1 tiles-dense
// GCN-DAG: (S) 2 tiles-sparse
func.func @gcn(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %rp = arith.constant dense<[0, 2, 4, 5, 6]> : tensor<5xi64>
  %ci = arith.constant dense<[0, 1, 0, 1, 0, 3]> : tensor<6xi64>
  %v = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x16xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4]
         ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// MEMRED: MemRedBoundMemory
// MEMRED-DAG: (S) 1 attentions-chunked
// MEMRED-DAG: (S) 1 attentions-kept
func.func @attention(%q: tensor<1x8192x64xf32>, %s: tensor<1x16x64xf32>) -> (tensor<1x8192x64xf32>, tensor<1x16x64xf32>) {
  %e = tensor.empty() : tensor<1x8192x64xf32>
  %o = memred.attention ins(%q, %q, %q : tensor<1x8192x64xf32>, tensor<1x8192x64xf32>, tensor<1x8192x64xf32>)
         outs(%e : tensor<1x8192x64xf32>) scale(0.125) -> tensor<1x8192x64xf32>
  %f = tensor.empty() : tensor<1x16x64xf32>
  %p = memred.attention ins(%s, %s, %s : tensor<1x16x64xf32>, tensor<1x16x64xf32>, tensor<1x16x64xf32>)
         outs(%f : tensor<1x16x64xf32>) scale(0.125) -> tensor<1x16x64xf32>
  return %o, %p : tensor<1x8192x64xf32>, tensor<1x16x64xf32>
}

// LOWRANK: LowRankSelectRanks
// LOWRANK-DAG: (S) 1 layers-factorized
func.func @linear(%x: tensor<?x512xf32>) -> tensor<?x128xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x512xf32>
  %w = arith.constant dense<2.0> : tensor<512x128xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<?x128xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<?x128xf32>) -> tensor<?x128xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<?x512xf32>, tensor<512x128xf32>) outs(%fill : tensor<?x128xf32>) -> tensor<?x128xf32>
  return %mm : tensor<?x128xf32>
}
