// An all-gather over a grid of two processes (what a sequence-parallel
// model ends with): CUDA runs have one rank today.
shard.grid @g(shape = 2)
func.func @main(%x: tensor<4xf32>) -> tensor<8xf32> {
  %r = shard.all_gather %x on @g grid_axes = [0] gather_axis = 0 : tensor<4xf32> -> tensor<8xf32>
  return %r : tensor<8xf32>
}
