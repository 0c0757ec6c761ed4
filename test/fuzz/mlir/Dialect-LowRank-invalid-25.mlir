func.func @tucker_small(%x: tensor<1x16x2x2xf32>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x1x1xf32> {
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x16x2x2xf32>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x1x1xf32>
  return %y : tensor<1x32x1x1xf32>
}
