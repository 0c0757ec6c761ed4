// A module compiled for a CPU target with a lowrank table (accel-attach-device.mlir).
module attributes {lathe.target = #lathe.target<name = "cpu-fast", threads = 1, features = ["avx512f"], tables = {lowrank = {peak_gflops = 100 : i64, bandwidth_gbps = 1000 : i64}}>} {
  func.func @f(%a: tensor<128x64xf32>, %b: tensor<64x128xf32>) -> tensor<128x128xf32> {
    %e = tensor.empty() : tensor<128x128xf32>
    %0 = lathe.matmul ins(%a, %b : tensor<128x64xf32>, tensor<64x128xf32>) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
    return %0 : tensor<128x128xf32>
  }
}
