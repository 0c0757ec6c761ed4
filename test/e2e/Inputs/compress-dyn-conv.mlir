// A dynamic-batch convolution (constant filter) and a 144 -> 10 classifier:
// lowrank-select-ranks factorizes neither (lathe-compress.test).
func.func @main(%x: tensor<?x1x8x8xf32> {lathe.name = "img"}) -> tensor<?x10xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x1x8x8xf32>
  %w = arith.constant dense<0.1> : tensor<4x1x3x3xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<?x4x6x6xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<?x4x6x6xf32>) -> tensor<?x4x6x6xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<?x1x8x8xf32>, tensor<4x1x3x3xf32>) outs(%f : tensor<?x4x6x6xf32>) -> tensor<?x4x6x6xf32>
  %flat = tensor.collapse_shape %y [[0], [1, 2, 3]] : tensor<?x4x6x6xf32> into tensor<?x144xf32>
  %v = arith.constant dense<0.01> : tensor<144x10xf32>
  %e2 = tensor.empty(%n) : tensor<?x10xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<?x10xf32>) -> tensor<?x10xf32>
  %o = linalg.matmul ins(%flat, %v : tensor<?x144xf32>, tensor<144x10xf32>) outs(%f2 : tensor<?x10xf32>) -> tensor<?x10xf32>
  return %o : tensor<?x10xf32>
}
