func.func @short_keys(%q: tensor<64x4096x16xf32>, %k: tensor<64x100x16xf32>) -> tensor<64x4096x16xf32> {
  %e = tensor.empty() : tensor<64x4096x16xf32>
  %o = memred.attention ins(%q, %k, %k : tensor<64x4096x16xf32>, tensor<64x100x16xf32>, tensor<64x100x16xf32>)
         outs(%e : tensor<64x4096x16xf32>) scale(0.25) -> tensor<64x4096x16xf32>
  return %o : tensor<64x4096x16xf32>
}
