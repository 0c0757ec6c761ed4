func.func @attention(%q: memref<4x128x64xf32>, %k: memref<4x128x64xf32>, %v: memref<4x128x64xf32>, %o: memref<4x128x64xf32>) {
  memred.attention ins(%q, %k, %v : memref<4x128x64xf32>, memref<4x128x64xf32>, memref<4x128x64xf32>) outs(%o : memref<4x128x64xf32>) scale(0.125)
  return
}
func.func @chunked(%q: memref<1x256x16xf32>, %b0: memref<1x1x256xf32>, %b1: memref<1x256x256xf32>, %o: memref<1x256x16xf32>) {
  memred.chunked_attention ins(%q, %q, %q : memref<1x256x16xf32>, memref<1x256x16xf32>, memref<1x256x16xf32>)
    biases(%b0, %b1 : memref<1x1x256xf32>, memref<1x256x256xf32>) outs(%o : memref<1x256x16xf32>) scale(0.25) chunks(32, 64)
  return
}
func.func @reduce(%q: memref<1x2x4xf32>, %k: memref<1x10x4xf32>, %t: memref<10x3xf32>, %o: memref<4x3xf32>) {
  memred.cross_modal_reduce queries(%q : memref<1x2x4xf32>) keys(%k : memref<1x10x4xf32>) ins(%t : memref<10x3xf32>) outs(%o : memref<4x3xf32>) recent(0.2) keep(0.25) scale(1.0)
  return
}
func.func @tensors(%q: tensor<1x8x4xf32>) -> tensor<1x8x4xf32> {
  %o = memred.attention ins(%q, %q, %q : tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<1x8x4xf32>) outs(%q : tensor<1x8x4xf32>) scale(1.0) -> tensor<1x8x4xf32>
  return %o : tensor<1x8x4xf32>
}
func.func @bank(%f: memref<8x24xf32>, %q: memref<2x3x8xf32>, %b: memref<40x24xf32>, %n: index) -> index {
  %n1 = memred.bank_append ins(%f : memref<8x24xf32>) queries(%q : memref<2x3x8xf32>)
          outs(%b : memref<40x24xf32>) count(%n) recent(0.1) keep(0.2) scale(0.35) -> index
  return %n1 : index
}
