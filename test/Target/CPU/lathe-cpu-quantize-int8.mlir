// RUN: lathe-opt %s --lathe-cpu-quantize-int8=calibrate | FileCheck %s --check-prefix=CAL
// RUN: lathe-opt %s --lathe-cpu-quantize-int8="ranges=-1.5,2.0,0.0,6.5" | FileCheck %s --check-prefix=SET
// RUN: lathe-opt %s --lathe-cpu-quantize-int8="ranges=-1.5,2.0,0.0,6.5" --lathe-cpu-lower-to-runtime | FileCheck %s --check-prefix=LOW
// RUN: not lathe-opt %s --lathe-cpu-quantize-int8="ranges=0.0,1.0" 2>&1 | FileCheck %s --check-prefix=BAD

// Sites: the convolution with a constant filter (0) and the matmul with a
// constant right operand (1), in walk order; the matmul of two arguments is
// not a site.
memref.global "private" constant @f : memref<4x3x3x3xf32> = dense<1.0>
memref.global "private" constant @w : memref<64x10xf32> = dense<0.5>

// CAL-DAG: func.func private @lathe_rt_observe_range_f32(memref<*xf32>, i64)
// CAL-LABEL: func.func @net
// CAL-SAME: (%[[X:.*]]: memref<2x3x10x10xf32>
// CAL: %[[XU:.*]] = memref.cast %[[X]] : memref<2x3x10x10xf32> to memref<*xf32>
// CAL: %[[S0:.*]] = arith.constant 0 : i64
// CAL: call @lathe_rt_observe_range_f32(%[[XU]], %[[S0]])
// CAL-NEXT: lathe.conv2d
// CAL: %[[S1:.*]] = arith.constant 1 : i64
// CAL: call @lathe_rt_observe_range_f32(%{{.*}}, %[[S1]])
// CAL-NEXT: lathe.matmul
// CAL-NOT: call @lathe_rt_observe_range_f32
// CAL: return

// SET-LABEL: func.func @net
// SET: lathe.conv2d
// SET-SAME: lathe.decision = #cpu.decision<input_range = [-1.500000e+00, 2.000000e+00], precision = "int8", site = 0>
// SET-SAME: lathe.int8_input_range = array<f32: -1.500000e+00, 2.000000e+00>, lathe.int8_site = 0 : i64
// SET: lathe.matmul
// SET-SAME: lathe.int8_input_range = array<f32: 0.000000e+00, 6.500000e+00>, lathe.int8_site = 1 : i64
// SET: lathe.matmul
// SET-NOT: lathe.int8_input_range

// LOW-DAG: func.func private @lathe_rt_conv2d_int8_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f32, f32, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// LOW-DAG: func.func private @lathe_rt_matmul_int8_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f32, f32, i64, i64)
// LOW-LABEL: func.func @net
// LOW-DAG: %[[LO:.*]] = arith.constant -1.500000e+00 : f32
// LOW-DAG: %[[HI:.*]] = arith.constant 2.000000e+00 : f32
// LOW: call @lathe_rt_conv2d_int8_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[LO]], %[[HI]],
// LOW: call @lathe_rt_matmul_int8_f32(
// LOW: call @lathe_rt_matmul_f32(

// BAD: error: lathe-cpu-quantize-int8: 1 calibrated range(s) given for 2 kernel site(s); calibrate this module again
func.func @net(%x: memref<2x3x10x10xf32>, %b: memref<4xf32>, %y: memref<2x4x8x8xf32>,
               %h: memref<8x64xf32>, %o: memref<8x10xf32>, %v: memref<64x10xf32>,
               %o2: memref<8x10xf32>) {
  %f = memref.get_global @f : memref<4x3x3x3xf32>
  lathe.conv2d ins(%x, %f : memref<2x3x10x10xf32>, memref<4x3x3x3xf32>) bias(%b : memref<4xf32>)
      outs(%y : memref<2x4x8x8xf32>) {activation = #lathe<activation relu>}
  %w = memref.get_global @w : memref<64x10xf32>
  lathe.matmul ins(%h, %w : memref<8x64xf32>, memref<64x10xf32>) outs(%o : memref<8x10xf32>)
  lathe.matmul ins(%h, %v : memref<8x64xf32>, memref<64x10xf32>) outs(%o2 : memref<8x10xf32>)
  return
}
