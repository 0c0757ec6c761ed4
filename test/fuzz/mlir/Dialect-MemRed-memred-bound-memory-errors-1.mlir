func.func @dynamic(%q: tensor<1x?x64xf32>, %e: tensor<1x?x64xf32>) -> tensor<1x?x64xf32> {
  %o = memred.attention ins(%q, %q, %q : tensor<1x?x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>)
         outs(%e : tensor<1x?x64xf32>) scale(0.125) -> tensor<1x?x64xf32>
  return %o : tensor<1x?x64xf32>
}
