func.func @too_small(%q: tensor<1x1024x64xf32>) -> tensor<1x1024x64xf32> {
  %e = tensor.empty() : tensor<1x1024x64xf32>
  %o = memred.attention ins(%q, %q, %q : tensor<1x1024x64xf32>, tensor<1x1024x64xf32>, tensor<1x1024x64xf32>)
         outs(%e : tensor<1x1024x64xf32>) scale(0.125) -> tensor<1x1024x64xf32>
  return %o : tensor<1x1024x64xf32>
}
