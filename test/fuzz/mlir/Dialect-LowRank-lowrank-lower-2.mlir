func.func @linear_form_weight(%x: tensor<512x16xf32>, %u: tensor<16x12xf32>, %v: tensor<12x16xf32>) -> tensor<512x16xf32> {
  %y = lowrank.linear %x, %u, %v : (tensor<512x16xf32>, tensor<16x12xf32>, tensor<12x16xf32>) -> tensor<512x16xf32>
  return %y : tensor<512x16xf32>
}
