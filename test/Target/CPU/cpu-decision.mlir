// RUN: lathe-opt %s --split-input-file | FileCheck %s
// RUN: lathe-opt %s --split-input-file | lathe-opt --split-input-file | FileCheck %s
// The CPU target's decision (lathe-cpu-quantize-int8): round trip.
// CHECK-LABEL: func.func @site
// CHECK: lathe.decision = #cpu.decision<input_range = [-1.500000e+00, 2.000000e+00], precision = "int8", site = 3>
func.func @site(%a: f32) -> f32 {
  %b = arith.addf %a, %a {lathe.decision = #cpu.decision<site = 3, precision = "int8", input_range = [-1.5, 2.0]>} : f32
  return %b : f32
}
