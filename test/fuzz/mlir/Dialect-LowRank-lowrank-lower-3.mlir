func.func @tucker(%x: tensor<2x16x9x9xf32>, %uin: tensor<4x16xf32>,
                  %core: tensor<4x4x3x3xf32>, %uout: tensor<8x4xf32>,
                  %b: tensor<8xf32>) -> tensor<2x8x4x4xf32> {
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout bias(%b) {strides = array<i64: 2, 2>}
         : (tensor<2x16x9x9xf32>, tensor<4x16xf32>, tensor<4x4x3x3xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<2x8x4x4xf32>
  return %y : tensor<2x8x4x4xf32>
}
