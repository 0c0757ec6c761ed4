func.func @main() -> tensor<4xf32> {
  %w = lathe.weight #lathe.external<"does_not_exist.h5", "/w"> : tensor<4xf32>
  return %w : tensor<4xf32>
}
