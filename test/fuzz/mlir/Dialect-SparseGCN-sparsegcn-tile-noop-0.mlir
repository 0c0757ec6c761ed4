func.func @mlp(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %c = arith.constant dense<0.5> : tensor<16xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %m = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f : tensor<4x16xf32>) -> tensor<4x16xf32>
  %b = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
       ins(%m, %c : tensor<4x16xf32>, tensor<16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %b : tensor<4x16xf32>
}
func.func @buffers(%rp: memref<3xi64>, %ci: memref<2xi64>, %v: memref<2xf32>, %x: memref<2x4xf32>, %y: memref<2x4xf32>) {
  sparsegcn.aggregate csr(%rp, %ci, %v : memref<3xi64>, memref<2xi64>, memref<2xf32>) [2, 2]
    ins(%x : memref<2x4xf32>) outs(%y : memref<2x4xf32>)
  return
}
