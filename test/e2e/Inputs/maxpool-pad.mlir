// Max pooling of a -inf tensor.pad (PyTorch's and ONNX's padded MaxPool):
// one lathe.max_pool2d, no padded copy.

// 3x3 window, stride 2, padding 1 on every side (ResNet's stem pooling).
func.func @nchw(%x: tensor<2x5x13x11xf32>) -> tensor<2x5x7x6xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %ninf : f32
  } : tensor<2x5x13x11xf32> to tensor<2x5x15x13xf32>
  %win = tensor.empty() : tensor<3x3xf32>
  %e = tensor.empty() : tensor<2x5x7x6xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<2x5x7x6xf32>) -> tensor<2x5x7x6xf32>
  %y = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%p, %win : tensor<2x5x15x13xf32>, tensor<3x3xf32>) outs(%f : tensor<2x5x7x6xf32>) -> tensor<2x5x7x6xf32>
  return %y : tensor<2x5x7x6xf32>
}

// NHWC, 2x2 window, stride 2, padding only after (ceil_mode): 13 -> 7.
func.func @nhwc_ceil(%x: tensor<2x13x11x5xf32>) -> tensor<2x7x6x5xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %p = tensor.pad %x low[0, 0, 0, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %ninf : f32
  } : tensor<2x13x11x5xf32> to tensor<2x14x12x5xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x7x6x5xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<2x7x6x5xf32>) -> tensor<2x7x6x5xf32>
  %y = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%p, %win : tensor<2x14x12x5xf32>, tensor<2x2xf32>) outs(%f : tensor<2x7x6x5xf32>) -> tensor<2x7x6x5xf32>
  return %y : tensor<2x7x6x5xf32>
}
