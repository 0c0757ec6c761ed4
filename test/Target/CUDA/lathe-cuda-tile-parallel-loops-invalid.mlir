// REQUIRES: cuda
// RUN: lathe-opt %s --lathe-cuda-tile-parallel-loops="threads=2048" --verify-diagnostics

// expected-error @below {{lathe-cuda-tile-parallel-loops: threads=2048 is outside [1, 1024]}}
func.func @f() {
  return
}
