// REQUIRES: cuda
// RUN: lathe-opt %s --lathe-cuda-tile-parallel-loops="threads=2048" --verify-diagnostics
// RUN: not lathe-opt %s --lathe-cuda-tile-parallel-loops="elements-per-thread=0" 2>&1 | FileCheck %s --check-prefix=E0

// expected-error @below {{lathe-cuda-tile-parallel-loops: threads=2048 is outside [1, 1024]}}
func.func @f() {
  return
}
// E0: lathe-cuda-tile-parallel-loops: elements-per-thread=0 must be positive
