func.func @attention(%q: tensor<4x128x64xf32>, %k: tensor<4x128x64xf32>,
                     %v: tensor<4x128x32xf32>) -> tensor<4x128x32xf32> {
  %e = tensor.empty() : tensor<4x128x32xf32>
  %o = memred.attention ins(%q, %k, %v : tensor<4x128x64xf32>, tensor<4x128x64xf32>, tensor<4x128x32xf32>)
         outs(%e : tensor<4x128x32xf32>) scale(0.125) -> tensor<4x128x32xf32>
  return %o : tensor<4x128x32xf32>
}
func.func @chunked_two_biases(%q: tensor<2x4x1024x32xf32>, %k: tensor<2x4x1024x32xf32>,
                              %v: tensor<2x4x1024x32xf32>, %mask: tensor<2x1x1x1024xf32>,
                              %pair: tensor<1x4x1024x1024xf32>) -> tensor<2x4x1024x32xf32> {
  %e = tensor.empty() : tensor<2x4x1024x32xf32>
  %o = memred.chunked_attention ins(%q, %k, %v : tensor<2x4x1024x32xf32>, tensor<2x4x1024x32xf32>, tensor<2x4x1024x32xf32>)
         biases(%mask, %pair : tensor<2x1x1x1024xf32>, tensor<1x4x1024x1024xf32>)
         outs(%e : tensor<2x4x1024x32xf32>) scale(0.176776695) chunks(64, 512) -> tensor<2x4x1024x32xf32>
  return %o : tensor<2x4x1024x32xf32>
}
func.func @on_memrefs(%q: memref<1x8192x64xf32>, %b: memref<1x1x8192xf32>, %o: memref<1x8192x64xf32>) {
  memred.chunked_attention ins(%q, %q, %q : memref<1x8192x64xf32>, memref<1x8192x64xf32>, memref<1x8192x64xf32>)
    biases(%b : memref<1x1x8192xf32>) outs(%o : memref<1x8192x64xf32>) scale(0.125) chunks(128, 512)
  return
}
func.func @reduce(%q: tensor<8x32x32xf32>, %k: tensor<8x320x32xf32>,
                  %t: tensor<320x256xf32>) -> tensor<61x256xf32> {
  %e = tensor.empty() : tensor<61x256xf32>
  %r = memred.cross_modal_reduce queries(%q : tensor<8x32x32xf32>) keys(%k : tensor<8x320x32xf32>)
         ins(%t : tensor<320x256xf32>) outs(%e : tensor<61x256xf32>)
         recent(0.1) keep(0.1) scale(0.176776695) -> tensor<61x256xf32>
  return %r : tensor<61x256xf32>
}
func.func @bank_append(%f: tensor<16x32xf32>, %q: tensor<4x32xf32>, %b: tensor<96x32xf32>,
                       %n: index) -> (tensor<96x32xf32>, index) {
  %b1, %n1 = memred.bank_append ins(%f : tensor<16x32xf32>) queries(%q : tensor<4x32xf32>)
               outs(%b : tensor<96x32xf32>) count(%n) recent(0.25) keep(0.25) scale(0.176776695)
               -> tensor<96x32xf32>, index
  return %b1, %n1 : tensor<96x32xf32>, index
}
func.func @bank_append_memref(%f: memref<8x24xf32>, %q: memref<2x3x8xf32>, %b: memref<40x24xf32>,
                              %n: index) -> index {
  %n1 = memred.bank_append ins(%f : memref<8x24xf32>) queries(%q : memref<2x3x8xf32>)
          outs(%b : memref<40x24xf32>) count(%n) recent(0.1) keep(0.1) scale(0.35) -> index
  return %n1 : index
}
