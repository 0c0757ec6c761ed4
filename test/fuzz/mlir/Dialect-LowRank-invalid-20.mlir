func.func @tucker_dynamic_factor(%x: tensor<1x16x10x10xf32>, %uin: tensor<?x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x16x10x10xf32>, tensor<?x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}
