func.func @tucker_factor_ranks(%x: tensor<1x16x10x10xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x16x10x10xf32>, tensor<8x16xf32>, tensor<8x8x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}
