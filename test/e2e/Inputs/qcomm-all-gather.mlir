// qWD's all-gather of 4-bit weight differences added to the model copy, on
// 2 nodes x 2 ranks (docs/Dialects/QComm.md's example).
shard.grid @dp(shape = 2x2)
func.func @main(%d: tensor<4096xf32>, %w: tensor<16384xf32>) -> tensor<16384xf32> {
  %w1 = qcomm.all_gather %d on @dp grid_axes = [0, 1] bits = 4 group_size = 2048
          addend(%w : tensor<16384xf32>) : tensor<4096xf32> -> tensor<16384xf32>
  return %w1 : tensor<16384xf32>
}
