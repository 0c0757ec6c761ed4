// RUN: lathe-opt %s | FileCheck %s
// RUN: lathe-opt %s | lathe-opt | FileCheck %s
// RUN: lathe-opt %s --mlir-print-op-generic | lathe-opt | FileCheck %s

shard.grid @dp(shape = 2x2)
shard.grid @line(shape = 4)

// CHECK-LABEL: func.func @quantize
// CHECK-SAME: (%[[X:.*]]: tensor<4096xf32>, %[[SEED:.*]]: i64)
func.func @quantize(%x: tensor<4096xf32>, %seed: i64) -> (tensor<2048xi8>, tensor<32xf32>, tensor<4096xi8>, tensor<8xf32>) {
  %q0 = tensor.empty() : tensor<2048xi8>
  %s0 = tensor.empty() : tensor<32xf32>
  // CHECK: qcomm.quantize ins(%[[X]] : tensor<4096xf32>) outs(%{{.*}}, %{{.*}} : tensor<2048xi8>, tensor<32xf32>)
  // CHECK-SAME: bits = 4 group_size = 128 stochastic(%[[SEED]]) -> tensor<2048xi8>, tensor<32xf32>
  %q, %s = qcomm.quantize ins(%x : tensor<4096xf32>) outs(%q0, %s0 : tensor<2048xi8>, tensor<32xf32>)
             bits = 4 group_size = 128 stochastic(%seed) -> tensor<2048xi8>, tensor<32xf32>
  %q1 = tensor.empty() : tensor<4096xi8>
  %s1 = tensor.empty() : tensor<8xf32>
  // CHECK: qcomm.quantize ins(%[[X]] : tensor<4096xf32>) outs(%{{.*}}, %{{.*}} : tensor<4096xi8>, tensor<8xf32>)
  // CHECK-SAME: bits = 8 group_size = 512 -> tensor<4096xi8>, tensor<8xf32>
  %q8, %s8 = qcomm.quantize ins(%x : tensor<4096xf32>) outs(%q1, %s1 : tensor<4096xi8>, tensor<8xf32>)
               bits = 8 group_size = 512 -> tensor<4096xi8>, tensor<8xf32>
  return %q, %s, %q8, %s8 : tensor<2048xi8>, tensor<32xf32>, tensor<4096xi8>, tensor<8xf32>
}

// CHECK-LABEL: func.func @quantize_2d_memref
// CHECK: qcomm.quantize ins(%{{.*}} : memref<16x64xf32>) outs(%{{.*}}, %{{.*}} : memref<512xi8>, memref<8xf32>) bits = 4 group_size = 128{{$}}
func.func @quantize_2d_memref(%x: memref<16x64xf32>, %q: memref<512xi8>, %s: memref<8xf32>) {
  qcomm.quantize ins(%x : memref<16x64xf32>) outs(%q, %s : memref<512xi8>, memref<8xf32>) bits = 4 group_size = 128
  return
}

// CHECK-LABEL: func.func @dequantize
func.func @dequantize(%q: tensor<8192xi8>, %s: tensor<8xf32>, %w: tensor<16384xf32>) -> (tensor<16384xf32>, tensor<16384xf32>) {
  // CHECK: qcomm.dequantize ins(%{{.*}}, %{{.*}} : tensor<8192xi8>, tensor<8xf32>) outs(%{{.*}} : tensor<16384xf32>)
  // CHECK-SAME: bits = 4 group_size = 2048 accumulate -> tensor<16384xf32>
  %a = qcomm.dequantize ins(%q, %s : tensor<8192xi8>, tensor<8xf32>) outs(%w : tensor<16384xf32>)
         bits = 4 group_size = 2048 accumulate -> tensor<16384xf32>
  // CHECK: qcomm.dequantize
  // CHECK-SAME: bits = 4 group_size = 2048 -> tensor<16384xf32>
  %b = qcomm.dequantize ins(%q, %s : tensor<8192xi8>, tensor<8xf32>) outs(%w : tensor<16384xf32>)
         bits = 4 group_size = 2048 -> tensor<16384xf32>
  return %a, %b : tensor<16384xf32>, tensor<16384xf32>
}

// CHECK-LABEL: func.func @dequantize_reduce
func.func @dequantize_reduce(%q: tensor<4096xi8>, %s: tensor<8xf32>, %y: memref<2048xf32>,
                             %qm: memref<4096xi8>, %sm: memref<8xf32>) -> tensor<2048xf32> {
  %y0 = tensor.empty() : tensor<2048xf32>
  // CHECK: qcomm.dequantize_reduce ins(%{{.*}}, %{{.*}} : tensor<4096xi8>, tensor<8xf32>) outs(%{{.*}} : tensor<2048xf32>)
  // CHECK-SAME: parts = 2 bits = 8 group_size = 512 -> tensor<2048xf32>
  %r = qcomm.dequantize_reduce ins(%q, %s : tensor<4096xi8>, tensor<8xf32>) outs(%y0 : tensor<2048xf32>)
         parts = 2 bits = 8 group_size = 512 -> tensor<2048xf32>
  // CHECK: qcomm.dequantize_reduce ins(%{{.*}}, %{{.*}} : memref<4096xi8>, memref<8xf32>) outs(%{{.*}} : memref<2048xf32>)
  // CHECK-SAME: parts = 4 bits = 4 group_size = 1024 accumulate{{$}}
  qcomm.dequantize_reduce ins(%qm, %sm : memref<4096xi8>, memref<8xf32>) outs(%y : memref<2048xf32>)
    parts = 4 bits = 4 group_size = 1024 accumulate
  return %r : tensor<2048xf32>
}

// CHECK-LABEL: func.func @dequantize_reduce_requantize
// CHECK-SAME: (%[[Q:.*]]: tensor<16384xi8>, %[[S:.*]]: tensor<32xf32>, %[[SEED:.*]]: i64
func.func @dequantize_reduce_requantize(%q: tensor<16384xi8>, %s: tensor<32xf32>, %seed: i64,
                                        %qm: memref<1024xi8>, %sm: memref<8xf32>,
                                        %qo: memref<512xi8>, %so: memref<8xf32>) -> (tensor<4096xi8>, tensor<64xf32>) {
  %q0 = tensor.empty() : tensor<4096xi8>
  %s0 = tensor.empty() : tensor<64xf32>
  // CHECK: qcomm.dequantize_reduce_requantize ins(%[[Q]], %[[S]] : tensor<16384xi8>, tensor<32xf32>) outs(%{{.*}}, %{{.*}} : tensor<4096xi8>, tensor<64xf32>)
  // CHECK-SAME: parts = 2 bits = 8 group_size = 512 out_bits = 4 out_group_size = 128 stochastic(%[[SEED]]) -> tensor<4096xi8>, tensor<64xf32>
  %r:2 = qcomm.dequantize_reduce_requantize ins(%q, %s : tensor<16384xi8>, tensor<32xf32>) outs(%q0, %s0 : tensor<4096xi8>, tensor<64xf32>)
           parts = 2 bits = 8 group_size = 512 out_bits = 4 out_group_size = 128 stochastic(%seed) -> tensor<4096xi8>, tensor<64xf32>
  // CHECK: qcomm.dequantize_reduce_requantize ins(%{{.*}}, %{{.*}} : memref<1024xi8>, memref<8xf32>) outs(%{{.*}}, %{{.*}} : memref<512xi8>, memref<8xf32>)
  // CHECK-SAME: parts = 4 bits = 4 group_size = 256 out_bits = 8 out_group_size = 64{{$}}
  qcomm.dequantize_reduce_requantize ins(%qm, %sm : memref<1024xi8>, memref<8xf32>) outs(%qo, %so : memref<512xi8>, memref<8xf32>)
    parts = 4 bits = 4 group_size = 256 out_bits = 8 out_group_size = 64
  return %r#0, %r#1 : tensor<4096xi8>, tensor<64xf32>
}

// CHECK-LABEL: func.func @hadamard
func.func @hadamard(%x: tensor<4096xf32>, %m: memref<8x32xf32>) -> tensor<4096xf32> {
  %y0 = tensor.empty() : tensor<4096xf32>
  // CHECK: qcomm.hadamard ins(%{{.*}} : tensor<4096xf32>) outs(%{{.*}} : tensor<4096xf32>) -> tensor<4096xf32>
  %y = qcomm.hadamard ins(%x : tensor<4096xf32>) outs(%y0 : tensor<4096xf32>) -> tensor<4096xf32>
  // CHECK: qcomm.hadamard ins(%[[M:.*]] : memref<8x32xf32>) outs(%[[M]] : memref<8x32xf32>){{$}}
  qcomm.hadamard ins(%m : memref<8x32xf32>) outs(%m : memref<8x32xf32>)
  return %y : tensor<4096xf32>
}

// CHECK-LABEL: func.func @all_gather
// CHECK-SAME: (%[[D:.*]]: tensor<4096xf32>, %[[W:.*]]: tensor<16384xf32>, %[[SEED:.*]]: i64)
func.func @all_gather(%d: tensor<4096xf32>, %w: tensor<16384xf32>, %seed: i64) -> (tensor<16384xf32>, tensor<16384xf32>) {
  // CHECK: qcomm.all_gather %[[D]] on @dp grid_axes = [0, 1] bits = 4 group_size = 2048 addend(%[[W]] : tensor<16384xf32>) : tensor<4096xf32> -> tensor<16384xf32>
  %a = qcomm.all_gather %d on @dp grid_axes = [0, 1] bits = 4 group_size = 2048
         addend(%w : tensor<16384xf32>) : tensor<4096xf32> -> tensor<16384xf32>
  // CHECK: qcomm.all_gather %[[D]] on @line grid_axes = [0] bits = 8 group_size = 256 stochastic(%[[SEED]]) : tensor<4096xf32> -> tensor<16384xf32>
  %b = qcomm.all_gather %d on @line grid_axes = [0] bits = 8 group_size = 256 stochastic(%seed)
         : tensor<4096xf32> -> tensor<16384xf32>
  return %a, %b : tensor<16384xf32>, tensor<16384xf32>
}

// CHECK-LABEL: func.func @reduce_scatter
// CHECK-SAME: (%[[G:.*]]: tensor<16384xf32>, %[[SEED:.*]]: i64)
func.func @reduce_scatter(%g: tensor<16384xf32>, %seed: i64) -> (tensor<4096xf32>, tensor<8192xf32>) {
  // CHECK: qcomm.reduce_scatter %[[G]] on @dp intra(axes = [1] bits = 8 group_size = 512)
  // CHECK-SAME: inter(axes = [0] bits = 4 group_size = 128) hadamard stochastic(%[[SEED]]) : tensor<16384xf32> -> tensor<4096xf32>
  %a = qcomm.reduce_scatter %g on @dp intra(axes = [1] bits = 8 group_size = 512)
         inter(axes = [0] bits = 4 group_size = 128) hadamard stochastic(%seed)
         : tensor<16384xf32> -> tensor<4096xf32>
  // CHECK: qcomm.reduce_scatter %[[G]] on @dp intra(axes = [1] bits = 4 group_size = 128) : tensor<16384xf32> -> tensor<8192xf32>
  %b = qcomm.reduce_scatter %g on @dp intra(axes = [1] bits = 4 group_size = 128)
         : tensor<16384xf32> -> tensor<8192xf32>
  return %a, %b : tensor<4096xf32>, tensor<8192xf32>
}
