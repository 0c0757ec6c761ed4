// A weights file on which libhdf5 1.10 faults (test/fuzz/known/README.md).
func.func @main() -> tensor<4xf32> {
  %w = lathe.weight #lathe.external<"../../fuzz/known/hdf5-segv-local-heap-read.h5", "w"> : tensor<4xf32>
  return %w : tensor<4xf32>
}
