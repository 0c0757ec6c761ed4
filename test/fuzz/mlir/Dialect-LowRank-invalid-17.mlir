func.func @tucker_f64(%x: tensor<1x16x10x10xf64>, %uin: tensor<8x16xf32>, %core: tensor<8x8x3x3xf32>, %uout: tensor<32x8xf32>) -> tensor<1x32x8x8xf32> {
  %y = lowrank.conv2d_tucker %x, %uin, %core, %uout : (tensor<1x16x10x10xf64>, tensor<8x16xf32>, tensor<8x8x3x3xf32>, tensor<32x8xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}
