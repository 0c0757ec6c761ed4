func.func @class_value(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2 ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {tile_classes = array<i8: 1, 1, 3, 0>} -> tensor<4x16xf32>
  return
}
