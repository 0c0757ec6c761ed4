func.func @tucker(%x: tensor<1x4x9x9xf32>, %uin: tensor<2x4xf32>, %core: tensor<2x2x3x3xf32>,
                  %uout: tensor<6x2xf32>) -> tensor<1x6x7x7xf32> {
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout
         : (tensor<1x4x9x9xf32>, tensor<2x4xf32>, tensor<2x2x3x3xf32>, tensor<6x2xf32>) -> tensor<1x6x7x7xf32>
  return %y : tensor<1x6x7x7xf32>
}
