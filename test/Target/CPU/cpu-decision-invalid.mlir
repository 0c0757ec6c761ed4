// RUN: lathe-opt %s --split-input-file --verify-diagnostics

func.func @bad_range(%a: f32) -> f32 {
  // expected-error @+1 {{expects input_range = [lo, hi] with lo <= hi}}
  %b = arith.addf %a, %a {lathe.decision = #cpu.decision<input_range = [2.0, -1.5], precision = "int8", site = 0>} : f32
  return %b : f32
}

// -----

func.func @bad_precision(%a: f32) -> f32 {
  // expected-error @+1 {{expects precision "int8", got "int4"}}
  %b = arith.addf %a, %a {lathe.decision = #cpu.decision<input_range = [-1.5, 2.0], precision = "int4", site = 0>} : f32
  return %b : f32
}
