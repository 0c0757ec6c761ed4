"""Prints a 64-node graph for sparsegcn-tile.mlir: the even nodes form a clique (every node
also has a self loop), so the non-zeros are spread over four 32x32 tiles in the given order
and packed into one by a degree ordering."""
n = 64
rows = []
for i in range(n):
    cols = sorted(set([i] + ([j for j in range(0, n, 2)] if i % 2 == 0 else [])))
    rows.append(cols)
rp = [0]
ci = []
for cols in rows:
    ci += cols
    rp.append(len(ci))
nnz = len(ci)
print(f"""func.func @clique(%x: tensor<{n}x256xf32>) -> tensor<{n}x256xf32> {{
  %rp = arith.constant dense<{rp}> : tensor<{n + 1}xi64>
  %ci = arith.constant dense<{ci}> : tensor<{nnz}xi64>
  %v = arith.constant dense<1.0> : tensor<{nnz}xf32>
  %e = tensor.empty() : tensor<{n}x256xf32>
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<{n + 1}xi64>, tensor<{nnz}xi64>, tensor<{nnz}xf32>) [{n}, {n}]
         ins(%x : tensor<{n}x256xf32>) outs(%e : tensor<{n}x256xf32>) -> tensor<{n}x256xf32>
  return %y : tensor<{n}x256xf32>
}}""")
