// REQUIRES: cuda
// RUN: lathe-opt %s --split-input-file --lathe-cuda-check-contract=phase=gpu --verify-diagnostics
// RUN: not lathe-opt %s --split-input-file --lathe-cuda-check-contract=phase=ptx 2>&1 | FileCheck %s --check-prefix=PHASE
// PHASE: for the --phase option: unknown value 'ptx' (expected one of: import, kernels, bufferize, library-calls, gpu, binary)

// After the 'gpu' phase host code touches no memory.
func.func @host_load(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @below {{CUDA phase 'gpu' must leave no host access to memory (host code handles device buffers only), but memref.load remains}}
  %v = memref.load %a[%c0] : memref<4xf32>
  return %v : f32
}

// -----

// But a device scalar copied to the host stack (lathe-cuda-device-memory)
// may be read there.
func.func @host_scalar(%a: memref<f32>) -> f32 {
  %h = memref.alloca() : memref<f32>
  gpu.memcpy %h, %a : memref<f32>, memref<f32>
  %v = memref.load %h[] : memref<f32>
  return %v : f32
}

// -----

func.func @linalg_left(%a: memref<4xf32>, %b: memref<4xf32>) {
  // expected-error @below {{CUDA phase 'gpu' must leave no linalg op, but linalg.copy remains}}
  linalg.copy ins(%a : memref<4xf32>) outs(%b : memref<4xf32>)
  return
}
