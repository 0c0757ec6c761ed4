// Remarks must not present a lossy choice as lossless. A Tucker-2 rank equal to
// min(Cin, Cout) keeps every input channel but truncates the larger output mode:
// here Cin = 2, Cout = 4, and rank 2 keeps 0.6860 of the filter's energy (the two
// largest of the mode-0 unfolding's four squared singular values, 0.4023 + 0.2838,
// numpy). The remark names both modes and the energy dropped instead of
// "rank 2 of 2". max-error=0.7 admits rank 2 (error sqrt(1 - 0.6860) = 0.56) but
// not rank 1 (0.86).
// RUN: lathe-opt %s --split-input-file --lathe-attach-target=%S/Inputs/flat.json --lowrank-select-ranks="max-error=0.7" -o /dev/null 2>&1 | FileCheck %s

// CHECK: remark: lowrank-select-ranks: rank 2 (Tucker-2: 2 of 2 input channels, 2 of 4 output channels), energy kept 0.6860 (31.40 % of the weight's energy dropped), predicted latency
// CHECK-NOT: rank 2 of 2
func.func @tucker_full_input_rank(%x: tensor<1x2x6x6xf32>) -> tensor<1x4x4x4xf32> {
  %w = arith.constant dense<[[[[0.00, 0.30, -0.27], [-0.89, -0.45, -0.99], [0.06, 1.34, -0.49]], [[-0.62, 0.49, 0.36], [0.11, -0.93, -0.03], [0.70, -1.34, -0.46]]], [[[-1.90, -1.29, -1.84], [-0.24, -1.27, 0.27], [0.16, -0.19, -2.52]], [[-0.54, -0.05, 0.11], [-1.53, -0.48, -0.98], [-0.81, 1.06, -0.81]]], [[[-0.03, 0.88, -0.58], [-0.11, 0.11, 0.06], [-1.23, 0.08, 1.36]], [[-1.55, 0.86, 0.12], [-0.64, 2.00, 0.76], [-1.20, 0.07, 0.58]]], [[[-0.19, 0.68, -0.07], [0.67, 1.44, -0.68], [0.20, -0.46, 0.13]], [[-1.19, -0.58, -0.20], [0.90, 1.15, -1.32], [-0.79, 0.65, -1.99]]]]> : tensor<4x2x3x3xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) outs(%init : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// A linear layer: rank 1 of a [4, 4] weight with singular values 3, 1, 0, 0
// keeps 9 / 10 of the energy; the remark says what was dropped.
// CHECK: remark: lowrank-select-ranks: rank 1 of 4, energy kept 0.9000 (10.00 % of the weight's energy dropped), predicted latency
func.func @linear_rank_one(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %w = arith.constant dense<[[3.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<8x4xf32>) -> tensor<8x4xf32>
  %y = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x4xf32>) outs(%init : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}
