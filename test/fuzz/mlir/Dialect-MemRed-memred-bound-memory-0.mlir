func.func @long(%q: tensor<1x8192x64xf32>, %mask: tensor<1x1x8192xf32>) -> tensor<1x8192x64xf32> {
  %e = tensor.empty() : tensor<1x8192x64xf32>
  %o = memred.attention ins(%q, %q, %q : tensor<1x8192x64xf32>, tensor<1x8192x64xf32>, tensor<1x8192x64xf32>)
         biases(%mask : tensor<1x1x8192xf32>) outs(%e : tensor<1x8192x64xf32>) scale(0.125) -> tensor<1x8192x64xf32>
  return %o : tensor<1x8192x64xf32>
}
