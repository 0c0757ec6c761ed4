// Full-rank lowrank.linear layers of constant factors: canonicalization folds
// them back into one dense weight (upstream linalg), and the CPU target runs
// each as one oneDNN matmul with the bias fused.
func.func @main(%x: tensor<2x3x4xf32>, %x2: tensor<5x4xf32>) -> (tensor<2x3x4xf32>, tensor<5x4xf32>) {
  %u = arith.constant dense<[[1.0, -2.0, 0.5, 0.0], [3.0, 4.0, -1.0, 2.0], [0.0, 1.0, 1.0, -3.0], [2.0, 0.0, -0.5, 1.0]]> : tensor<4x4xf32>
  %v = arith.constant dense<[[0.5, 1.0, 0.0, -1.0], [1.0, -1.0, 2.0, 0.0], [0.0, 0.25, 1.0, 1.0], [-2.0, 0.0, 0.5, 1.5]]> : tensor<4x4xf32>
  %b = arith.constant dense<[0.1, -0.2, 0.3, -0.4]> : tensor<4xf32>
  %y = lowrank.linear %x, %u, %v bias(%b)
         : (tensor<2x3x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  %y2 = lowrank.linear %x2, %u, %v bias(%b)
         : (tensor<5x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<5x4xf32>
  return %y, %y2 : tensor<2x3x4xf32>, tensor<5x4xf32>
}
