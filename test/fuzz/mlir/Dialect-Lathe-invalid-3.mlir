func.func @memref_result(%x: memref<4x4xf32>, %c: memref<4x4xf32>) {
  %y = lathe.matmul ins(%x, %x : memref<4x4xf32>, memref<4x4xf32>) outs(%c : memref<4x4xf32>) -> tensor<4x4xf32>
  return
}
