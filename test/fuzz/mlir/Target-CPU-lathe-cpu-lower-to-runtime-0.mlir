memref.global @w : memref<32x16xf32>
func.func @linear(%x: memref<8x16xf32>, %b: memref<32xf32>, %c: memref<8x32xf32>) {
  %w = memref.get_global @w : memref<32x16xf32>
  lathe.matmul ins(%x, %w : memref<8x16xf32>, memref<32x16xf32>) bias(%b : memref<32xf32>)
      outs(%c : memref<8x32xf32>) {transpose_rhs, activation = #lathe<activation relu>}
  return
}
func.func @softmax(%x: memref<4x16xf32>, %y: memref<4x16xf32>) {
  linalg.softmax dimension(1) ins(%x : memref<4x16xf32>) outs(%y : memref<4x16xf32>)
  return
}
func.func @conv_accumulating(%i: memref<1x3x8x8xf32>, %f: memref<4x3x3x3xf32>, %o: memref<1x4x6x6xf32>) {
  linalg.conv_2d_nchw_fchw ins(%i, %f : memref<1x3x8x8xf32>, memref<4x3x3x3xf32>) outs(%o : memref<1x4x6x6xf32>)
  return
}
func.func @conv_zeroed(%i: memref<1x3x8x8xf32>, %f: memref<4x3x3x3xf32>, %o: memref<1x4x6x6xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%o : memref<1x4x6x6xf32>)
  linalg.conv_2d_nchw_fchw ins(%i, %f : memref<1x3x8x8xf32>, memref<4x3x3x3xf32>) outs(%o : memref<1x4x6x6xf32>)
  return
}
