// RUN: lathe-opt %s --split-input-file --lathe-cpu-lower-qcomm --cse | FileCheck %s
// RUN: lathe-opt %s --split-input-file --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --lathe-cpu-lower-qcomm | FileCheck %s --check-prefix=BUF

// CHECK-DAG: func.func private @lathe_rt_quantize_f32(memref<*xf32>, memref<*xi8>, memref<*xf32>, i64, i64, i64, i64)
// CHECK-DAG: func.func private @lathe_rt_dequantize_f32(memref<*xi8>, memref<*xf32>, memref<*xf32>, i64, i64, i64)
// CHECK-DAG: func.func private @lathe_rt_dequantize_reduce_f32(memref<*xi8>, memref<*xf32>, memref<*xf32>, i64, i64, i64, i64)
// CHECK-DAG: func.func private @lathe_rt_hadamard32_f32(memref<*xf32>, memref<*xf32>)

// CHECK-LABEL: func.func @kernels
// CHECK-SAME: (%[[X:.*]]: memref<256xf32>, %[[Q:.*]]: memref<128xi8>, %[[S:.*]]: memref<4xf32>, %[[Y:.*]]: memref<128xf32>, %[[SEED:.*]]: i64)
// CHECK-DAG: %[[UX:.*]] = memref.cast %[[X]] : memref<256xf32> to memref<*xf32>
// CHECK-DAG: %[[UQ:.*]] = memref.cast %[[Q]] : memref<128xi8> to memref<*xi8>
// CHECK-DAG: %[[US:.*]] = memref.cast %[[S]] : memref<4xf32> to memref<*xf32>
// CHECK-DAG: %[[B4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[G64:.*]] = arith.constant 64 : i64
// CHECK-DAG: %[[STOCH:.*]] = arith.constant 1 : i64
// CHECK: call @lathe_rt_quantize_f32(%[[UX]], %[[UQ]], %[[US]], %[[B4]], %[[G64]], %[[STOCH]], %[[SEED]])
// CHECK-DAG: %[[B8:.*]] = arith.constant 8 : i64
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK: call @lathe_rt_quantize_f32(%[[UX]], %{{.*}}, %[[US]], %[[B8]], %[[G64]], %[[ZERO]], %[[ZERO]])
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2 : i64
// CHECK: call @lathe_rt_dequantize_f32(%[[UQ]], %[[US]], %[[UX]], %[[B4]], %[[G64]], %[[TWO]])
// CHECK: call @lathe_rt_dequantize_reduce_f32(%[[UQ]], %[[US]], %{{.*}}, %[[TWO]], %[[B4]], %[[G64]], %[[ZERO]])
// CHECK: call @lathe_rt_hadamard32_f32(%[[UX]], %[[UX]])
// CHECK-NOT: qcomm.
func.func @kernels(%x: memref<256xf32>, %q: memref<128xi8>, %s: memref<4xf32>, %y: memref<128xf32>, %seed: i64) {
  qcomm.quantize ins(%x : memref<256xf32>) outs(%q, %s : memref<128xi8>, memref<4xf32>) bits = 4 group_size = 64 stochastic(%seed)
  %q8 = memref.alloc() : memref<256xi8>
  qcomm.quantize ins(%x : memref<256xf32>) outs(%q8, %s : memref<256xi8>, memref<4xf32>) bits = 8 group_size = 64
  qcomm.dequantize ins(%q, %s : memref<128xi8>, memref<4xf32>) outs(%x : memref<256xf32>) bits = 4 group_size = 64 accumulate
  qcomm.dequantize_reduce ins(%q, %s : memref<128xi8>, memref<4xf32>) outs(%y : memref<128xf32>) parts = 2 bits = 4 group_size = 64
  qcomm.hadamard ins(%x : memref<256xf32>) outs(%x : memref<256xf32>)
  memref.dealloc %q8 : memref<256xi8>
  return
}

// -----

// A column of a matrix is not contiguous: the kernel works on a copy, which
// is written back (init) and freed.
// CHECK-LABEL: func.func @strided
// CHECK-SAME: (%[[M:.*]]: memref<64x2xf32>)
// CHECK: %[[COL:.*]] = memref.subview %[[M]]
// CHECK: %[[IN:.*]] = memref.alloc() {{.*}}: memref<64xf32>
// CHECK: memref.copy %[[COL]], %[[IN]]
// CHECK: %[[OUT:.*]] = memref.alloc() {{.*}}: memref<64xf32>
// CHECK: memref.copy %[[COL]], %[[OUT]]
// CHECK: call @lathe_rt_hadamard32_f32
// CHECK: memref.dealloc %[[IN]]
// CHECK: memref.copy %[[OUT]], %[[COL]]
// CHECK: memref.dealloc %[[OUT]]
func.func @strided(%m: memref<64x2xf32>) {
  %col = memref.subview %m[0, 0] [64, 1] [1, 1] : memref<64x2xf32> to memref<64xf32, strided<[2]>>
  qcomm.hadamard ins(%col : memref<64xf32, strided<[2]>>) outs(%col : memref<64xf32, strided<[2]>>)
  return
}

// -----

// The tensor forms bufferize (DpsKernelBufferization; quantize keeps its
// scalar seed) and then lower.
// BUF-LABEL: func.func @on_tensors
// BUF-SAME: %[[SEED:[^:]*]]: i64
// BUF: call @lathe_rt_quantize_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[SEED]])
// BUF: call @lathe_rt_dequantize_reduce_f32
// BUF: call @lathe_rt_hadamard32_f32
// BUF-NOT: qcomm.
func.func @on_tensors(%x: tensor<256xf32>, %seed: i64) -> tensor<128xf32> {
  %q0 = tensor.empty() : tensor<128xi8>
  %s0 = tensor.empty() : tensor<4xf32>
  %q, %s = qcomm.quantize ins(%x : tensor<256xf32>) outs(%q0, %s0 : tensor<128xi8>, tensor<4xf32>) bits = 4 group_size = 64 stochastic(%seed) -> tensor<128xi8>, tensor<4xf32>
  %e = tensor.empty() : tensor<128xf32>
  %r = qcomm.dequantize_reduce ins(%q, %s : tensor<128xi8>, tensor<4xf32>) outs(%e : tensor<128xf32>) parts = 2 bits = 4 group_size = 64 -> tensor<128xf32>
  %h = qcomm.hadamard ins(%r : tensor<128xf32>) outs(%r : tensor<128xf32>) -> tensor<128xf32>
  return %h : tensor<128xf32>
}

// -----

// The fused dequantize-reduce-requantize: packed parts and scales in, packed
// bytes and scales out, then parts, bits, group, out bits, out group, flags
// (stochastic with a seed) and the seed.
// CHECK: func.func private @lathe_rt_dequantize_reduce_requantize_f32(memref<*xi8>, memref<*xf32>, memref<*xi8>, memref<*xf32>, i64, i64, i64, i64, i64, i64, i64)
// CHECK-LABEL: func.func @requantize
// CHECK-SAME: (%[[Q:.*]]: memref<1024xi8>, %[[S:.*]]: memref<4xf32>, %[[QO:.*]]: memref<256xi8>, %[[SO:.*]]: memref<4xf32>, %[[SEED:.*]]: i64)
// CHECK-DAG: %[[UQ:.*]] = memref.cast %[[Q]] : memref<1024xi8> to memref<*xi8>
// CHECK-DAG: %[[US:.*]] = memref.cast %[[S]] : memref<4xf32> to memref<*xf32>
// CHECK-DAG: %[[UQO:.*]] = memref.cast %[[QO]] : memref<256xi8> to memref<*xi8>
// CHECK-DAG: %[[USO:.*]] = memref.cast %[[SO]] : memref<4xf32> to memref<*xf32>
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[B8:.*]] = arith.constant 8 : i64
// CHECK-DAG: %[[G256:.*]] = arith.constant 256 : i64
// CHECK-DAG: %[[B4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[G128:.*]] = arith.constant 128 : i64
// CHECK-DAG: %[[STOCH:.*]] = arith.constant 1 : i64
// CHECK: call @lathe_rt_dequantize_reduce_requantize_f32(%[[UQ]], %[[US]], %[[UQO]], %[[USO]], %[[TWO]], %[[B8]], %[[G256]], %[[B4]], %[[G128]], %[[STOCH]], %[[SEED]])
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK: call @lathe_rt_dequantize_reduce_requantize_f32(%[[UQ]], %[[US]], %[[UQO]], %[[USO]], %[[TWO]], %[[B8]], %[[G256]], %[[B4]], %[[G128]], %[[ZERO]], %[[ZERO]])
// CHECK-NOT: qcomm.
// CHECK: return
func.func @requantize(%q: memref<1024xi8>, %s: memref<4xf32>, %qo: memref<256xi8>, %so: memref<4xf32>, %seed: i64) {
  qcomm.dequantize_reduce_requantize ins(%q, %s : memref<1024xi8>, memref<4xf32>) outs(%qo, %so : memref<256xi8>, memref<4xf32>)
    parts = 2 bits = 8 group_size = 256 out_bits = 4 out_group_size = 128 stochastic(%seed)
  qcomm.dequantize_reduce_requantize ins(%q, %s : memref<1024xi8>, memref<4xf32>) outs(%qo, %so : memref<256xi8>, memref<4xf32>)
    parts = 2 bits = 8 group_size = 256 out_bits = 4 out_group_size = 128
  return
}

// -----

// Its tensor form bufferizes like quantize's (two inits, the seed kept).
// BUF-LABEL: func.func @requantize_on_tensors
// BUF-SAME: %[[SEED:[^:]*]]: i64
// BUF: %[[QO:.*]] = memref.alloc() {{.*}}: memref<256xi8>
// BUF: %[[SO:.*]] = memref.alloc() {{.*}}: memref<4xf32>
// BUF: %[[UQO:.*]] = memref.cast %[[QO]] : memref<256xi8> to memref<*xi8>
// BUF: %[[USO:.*]] = memref.cast %[[SO]] : memref<4xf32> to memref<*xf32>
// BUF: call @lathe_rt_dequantize_reduce_requantize_f32(%{{.*}}, %{{.*}}, %[[UQO]], %[[USO]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[SEED]])
// BUF: return %[[QO]], %[[SO]]
// BUF-NOT: qcomm.
func.func @requantize_on_tensors(%q: tensor<1024xi8>, %s: tensor<4xf32>, %seed: i64) -> (tensor<256xi8>, tensor<4xf32>) {
  %q0 = tensor.empty() : tensor<256xi8>
  %s0 = tensor.empty() : tensor<4xf32>
  %r:2 = qcomm.dequantize_reduce_requantize ins(%q, %s : tensor<1024xi8>, tensor<4xf32>) outs(%q0, %s0 : tensor<256xi8>, tensor<4xf32>)
           parts = 2 bits = 8 group_size = 256 out_bits = 4 out_group_size = 128 stochastic(%seed) -> tensor<256xi8>, tensor<4xf32>
  return %r#0, %r#1 : tensor<256xi8>, tensor<4xf32>
}
