// RUN: lathe-opt %s --split-input-file --verify-diagnostics

func.func @bits(%x: tensor<64xf32>, %q: tensor<16xi8>, %s: tensor<2xf32>) {
  // expected-error @+1 {{expects bits to be 4 or 8, got 2}}
  %a, %b = qcomm.quantize ins(%x : tensor<64xf32>) outs(%q, %s : tensor<16xi8>, tensor<2xf32>) bits = 2 group_size = 32 -> tensor<16xi8>, tensor<2xf32>
  return
}

// -----

func.func @group_zero(%q: tensor<32xi8>, %s: tensor<2xf32>, %y: tensor<64xf32>) {
  // expected-error @+1 {{expects a positive group size, got 0}}
  %a = qcomm.dequantize ins(%q, %s : tensor<32xi8>, tensor<2xf32>) outs(%y : tensor<64xf32>) bits = 4 group_size = 0 -> tensor<64xf32>
  return
}

// -----

func.func @group_odd(%q: tensor<33xi8>, %s: tensor<2xf32>, %y: tensor<66xf32>) {
  // expected-error @+1 {{expects an even group size with 4 bits (two values per byte), got 33}}
  %a = qcomm.dequantize ins(%q, %s : tensor<33xi8>, tensor<2xf32>) outs(%y : tensor<66xf32>) bits = 4 group_size = 33 -> tensor<66xf32>
  return
}

// -----

func.func @mixed(%x: tensor<64xf32>, %y: memref<64xf32>) {
  // expected-error @+1 {{expects all operands to be tensors or all to be memrefs}}
  qcomm.hadamard ins(%x : tensor<64xf32>) outs(%y : memref<64xf32>)
  return
}

// -----

func.func @memref_results(%x: memref<64xf32>, %y: memref<64xf32>) {
  // expected-error @+1 {{on memrefs has no results}}
  %a = qcomm.hadamard ins(%x : memref<64xf32>) outs(%y : memref<64xf32>) -> tensor<64xf32>
  return
}

// -----

func.func @tensor_results(%x: tensor<64xf32>, %q: tensor<32xi8>, %s: tensor<2xf32>) {
  // expected-error @+1 {{on tensors returns one result per init, of its type}}
  %a = qcomm.quantize ins(%x : tensor<64xf32>) outs(%q, %s : tensor<32xi8>, tensor<2xf32>) bits = 4 group_size = 32 -> tensor<32xi8>
  return
}

// -----

func.func @input_type(%x: tensor<64xf16>, %q: tensor<32xi8>, %s: tensor<2xf32>) {
  // expected-error @+1 {{expects 'f32' elements in input, got 'tensor<64xf16>'}}
  %a, %b = qcomm.quantize ins(%x : tensor<64xf16>) outs(%q, %s : tensor<32xi8>, tensor<2xf32>) bits = 4 group_size = 32 -> tensor<32xi8>, tensor<2xf32>
  return
}

// -----

func.func @q_type(%x: tensor<64xf32>, %q: tensor<32xui8>, %s: tensor<2xf32>) {
  // expected-error @+1 {{expects 'i8' elements in q, got 'tensor<32xui8>'}}
  %a, %b = qcomm.quantize ins(%x : tensor<64xf32>) outs(%q, %s : tensor<32xui8>, tensor<2xf32>) bits = 4 group_size = 32 -> tensor<32xui8>, tensor<2xf32>
  return
}

// -----

func.func @scales_type(%q: memref<64xi8>, %s: memref<2xf16>, %y: memref<64xf32>) {
  // expected-error @+1 {{expects 'f32' elements in scales, got 'memref<2xf16>'}}
  qcomm.dequantize ins(%q, %s : memref<64xi8>, memref<2xf16>) outs(%y : memref<64xf32>) bits = 8 group_size = 32
  return
}

// -----

func.func @init_type(%q: memref<64xi8>, %s: memref<2xf32>, %y: memref<64xf64>) {
  // expected-error @+1 {{expects 'f32' elements in init, got 'memref<64xf64>'}}
  qcomm.dequantize_reduce ins(%q, %s : memref<64xi8>, memref<2xf32>) outs(%y : memref<64xf64>) parts = 1 bits = 8 group_size = 32
  return
}

// -----

func.func @not_multiple(%x: tensor<48xf32>, %q: tensor<24xi8>, %s: tensor<1xf32>) {
  // expected-error @+1 {{expects the 48 values of input to be a multiple of the group size 32}}
  %a, %b = qcomm.quantize ins(%x : tensor<48xf32>) outs(%q, %s : tensor<24xi8>, tensor<1xf32>) bits = 4 group_size = 32 -> tensor<24xi8>, tensor<1xf32>
  return
}

// -----

func.func @packed_bytes(%x: tensor<64xf32>, %q: tensor<64xi8>, %s: tensor<2xf32>) {
  // expected-error @+1 {{expects q to hold n * bits / 8 = 32 bytes, got 64}}
  %a, %b = qcomm.quantize ins(%x : tensor<64xf32>) outs(%q, %s : tensor<64xi8>, tensor<2xf32>) bits = 4 group_size = 32 -> tensor<64xi8>, tensor<2xf32>
  return
}

// -----

func.func @scale_count(%q: tensor<2x32xi8>, %s: tensor<4xf32>, %y: tensor<4x16xf32>) {
  // expected-error @+1 {{expects n / group_size = 2 scales, got 4}}
  %a = qcomm.dequantize ins(%q, %s : tensor<2x32xi8>, tensor<4xf32>) outs(%y : tensor<4x16xf32>) bits = 8 group_size = 32 -> tensor<4x16xf32>
  return
}

// -----

func.func @parts_bytes(%q: tensor<64xi8>, %s: tensor<4xf32>, %y: tensor<64xf32>) {
  // expected-error @+1 {{expects q to hold parts * n * bits / 8 = 128 bytes, got 64}}
  %a = qcomm.dequantize_reduce ins(%q, %s : tensor<64xi8>, tensor<4xf32>) outs(%y : tensor<64xf32>) parts = 4 bits = 4 group_size = 64 -> tensor<64xf32>
  return
}

// -----

func.func @parts_scales(%q: tensor<128xi8>, %s: tensor<2xf32>, %y: tensor<64xf32>) {
  // expected-error @+1 {{expects parts * n / group_size = 4 scales, got 2}}
  %a = qcomm.dequantize_reduce ins(%q, %s : tensor<128xi8>, tensor<2xf32>) outs(%y : tensor<64xf32>) parts = 4 bits = 4 group_size = 64 -> tensor<64xf32>
  return
}

// -----

func.func @parts_zero(%q: tensor<64xi8>, %s: tensor<2xf32>, %y: tensor<64xf32>) {
  // expected-error @+1 {{expects at least one part, got 0}}
  %a = qcomm.dequantize_reduce ins(%q, %s : tensor<64xi8>, tensor<2xf32>) outs(%y : tensor<64xf32>) parts = 0 bits = 8 group_size = 32 -> tensor<64xf32>
  return
}

// -----

func.func @hadamard_sizes(%x: tensor<64xf32>, %y: tensor<32xf32>) {
  // expected-error @+1 {{expects input and init with the same number of values, got 64 and 32}}
  %a = qcomm.hadamard ins(%x : tensor<64xf32>) outs(%y : tensor<32xf32>) -> tensor<32xf32>
  return
}

// -----

func.func @hadamard_blocks(%x: tensor<48xf32>) {
  // expected-error @+1 {{expects a multiple of 32 values (the transform's blocks), got 48}}
  %a = qcomm.hadamard ins(%x : tensor<48xf32>) outs(%x : tensor<48xf32>) -> tensor<48xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @comm_dynamic(%x: tensor<?xf32>) {
  // expected-error @+1 {{expects a static 1-D f32 tensor as input, got 'tensor<?xf32>'}}
  %a = qcomm.all_gather %x on @dp grid_axes = [0] bits = 4 group_size = 32 : tensor<?xf32> -> tensor<128xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @comm_rank(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects a static 1-D f32 tensor as result, got 'tensor<2x64xf32>'}}
  %a = qcomm.reduce_scatter %x on @dp intra(axes = [0] bits = 8 group_size = 32) : tensor<64xf32> -> tensor<2x64xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @addend_type(%x: tensor<64xf32>, %w: tensor<256xf32>) {
  // expected-error @+1 {{expects the addend of the result type 'tensor<128xf32>', got 'tensor<256xf32>'}}
  %a = qcomm.all_gather %x on @dp grid_axes = [0] bits = 4 group_size = 32 addend(%w : tensor<256xf32>) : tensor<64xf32> -> tensor<128xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @no_axes(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects at least one grid axis}}
  %a = qcomm.all_gather %x on @dp grid_axes = [] bits = 4 group_size = 32 : tensor<64xf32> -> tensor<64xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @gather_bits(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects bits to be 4 or 8, got 16}}
  %a = qcomm.all_gather %x on @dp grid_axes = [0] bits = 16 group_size = 32 : tensor<64xf32> -> tensor<128xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @gather_group(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects the input's 64 values to be a multiple of the group size 48}}
  %a = qcomm.all_gather %x on @dp grid_axes = [0] bits = 4 group_size = 48 : tensor<64xf32> -> tensor<128xf32>
  return
}

// -----

func.func @no_grid(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects @dp to name a shard.grid}}
  %a = qcomm.all_gather %x on @dp grid_axes = [0] bits = 4 group_size = 32 : tensor<64xf32> -> tensor<128xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @axis_range(%x: tensor<64xf32>) {
  // expected-error @+1 {{grid axis 2 is out of range for @dp of rank 2}}
  %a = qcomm.all_gather %x on @dp grid_axes = [2] bits = 4 group_size = 32 : tensor<64xf32> -> tensor<128xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @axis_twice(%x: tensor<64xf32>) {
  // expected-error @+1 {{grid axis 1 appears more than once}}
  %a = qcomm.all_gather %x on @dp grid_axes = [1, 1] bits = 4 group_size = 32 : tensor<64xf32> -> tensor<256xf32>
  return
}

// -----

shard.grid @dp(shape = 2x?)
func.func @axis_dynamic(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects a static size on grid axis 1 of @dp}}
  %a = qcomm.all_gather %x on @dp grid_axes = [1] bits = 4 group_size = 32 : tensor<64xf32> -> tensor<128xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @gather_size(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects a result of input x group size = 64 x 4 = 256 values, got 128}}
  %a = qcomm.all_gather %x on @dp grid_axes = [0, 1] bits = 4 group_size = 32 : tensor<64xf32> -> tensor<128xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @no_intra(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects at least one intra axis}}
  %a = qcomm.reduce_scatter %x on @dp intra(axes = [] bits = 8 group_size = 32) : tensor<64xf32> -> tensor<64xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @intra_bits(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects intra bits to be 4 or 8, got 3}}
  %a = qcomm.reduce_scatter %x on @dp intra(axes = [0] bits = 3 group_size = 32) : tensor<64xf32> -> tensor<32xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @inter_group(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects an even inter group size with 4 bits (two values per byte), got 15}}
  %a = qcomm.reduce_scatter %x on @dp intra(axes = [0] bits = 8 group_size = 32) inter(axes = [1] bits = 4 group_size = 15) : tensor<64xf32> -> tensor<16xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @inter_partial(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects inter axes, bits and group size together (or none of them for one hop)}}
  %a = "qcomm.reduce_scatter"(%x) <{grid = @dp, intra_axes = array<i16: 0>, intra_bits = 8 : i64, intra_group_size = 32 : i64, inter_bits = 4 : i64}> : (tensor<64xf32>) -> tensor<32xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @inter_empty(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects at least one inter axis (omit inter(...) for one hop)}}
  %a = qcomm.reduce_scatter %x on @dp intra(axes = [0] bits = 8 group_size = 32) inter(axes = [] bits = 4 group_size = 16) : tensor<64xf32> -> tensor<32xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @intra_inter_overlap(%x: tensor<64xf32>) {
  // expected-error @+1 {{grid axis 0 appears more than once}}
  %a = qcomm.reduce_scatter %x on @dp intra(axes = [0] bits = 8 group_size = 16) inter(axes = [0] bits = 4 group_size = 16) : tensor<64xf32> -> tensor<16xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @scatter_size(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects a result of input / group size = 64 / 4 values, got 32}}
  %a = qcomm.reduce_scatter %x on @dp intra(axes = [1] bits = 8 group_size = 16) inter(axes = [0] bits = 4 group_size = 16) : tensor<64xf32> -> tensor<32xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @hop1_chunk(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects hop 1's chunk of 64 / 2 = 32 values to be a multiple of its group size 64}}
  %a = qcomm.reduce_scatter %x on @dp intra(axes = [1] bits = 8 group_size = 64) : tensor<64xf32> -> tensor<32xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @hop2_chunk(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects hop 2's chunk of 16 values to be a multiple of its group size 32}}
  %a = qcomm.reduce_scatter %x on @dp intra(axes = [1] bits = 8 group_size = 32) inter(axes = [0] bits = 4 group_size = 32) : tensor<64xf32> -> tensor<16xf32>
  return
}

// -----

shard.grid @dp(shape = 2x2)
func.func @hadamard_chunk(%x: tensor<64xf32>) {
  // expected-error @+1 {{expects the result's 16 values to be a multiple of 32 with hadamard (blocks of the transform may not straddle ranks)}}
  %a = qcomm.reduce_scatter %x on @dp intra(axes = [1] bits = 8 group_size = 16) inter(axes = [0] bits = 4 group_size = 16) hadamard : tensor<64xf32> -> tensor<16xf32>
  return
}

// -----

func.func @requant_out_bits(%q: tensor<128xi8>, %s: tensor<4xf32>, %qo: tensor<64xi8>, %so: tensor<2xf32>) {
  // expected-error @+1 {{expects out bits to be 4 or 8, got 2}}
  %a:2 = qcomm.dequantize_reduce_requantize ins(%q, %s : tensor<128xi8>, tensor<4xf32>) outs(%qo, %so : tensor<64xi8>, tensor<2xf32>) parts = 2 bits = 8 group_size = 32 out_bits = 2 out_group_size = 32 -> tensor<64xi8>, tensor<2xf32>
  return
}

// -----

func.func @requant_out_group(%q: tensor<128xi8>, %s: tensor<4xf32>, %qo: tensor<32xi8>, %so: tensor<2xf32>) {
  // expected-error @+1 {{expects an even out group size with 4 bits (two values per byte), got 31}}
  %a:2 = qcomm.dequantize_reduce_requantize ins(%q, %s : tensor<128xi8>, tensor<4xf32>) outs(%qo, %so : tensor<32xi8>, tensor<2xf32>) parts = 2 bits = 8 group_size = 32 out_bits = 4 out_group_size = 31 -> tensor<32xi8>, tensor<2xf32>
  return
}

// -----

func.func @requant_parts(%q: tensor<128xi8>, %s: tensor<4xf32>, %qo: tensor<32xi8>, %so: tensor<2xf32>) {
  // expected-error @+1 {{expects at least one part, got 0}}
  %a:2 = qcomm.dequantize_reduce_requantize ins(%q, %s : tensor<128xi8>, tensor<4xf32>) outs(%qo, %so : tensor<32xi8>, tensor<2xf32>) parts = 0 bits = 8 group_size = 32 out_bits = 4 out_group_size = 32 -> tensor<32xi8>, tensor<2xf32>
  return
}

// -----

func.func @requant_q_init_type(%q: memref<128xi8>, %s: memref<4xf32>, %qo: memref<32xui8>, %so: memref<2xf32>) {
  // expected-error @+1 {{expects 'i8' elements in q_init, got 'memref<32xui8>'}}
  qcomm.dequantize_reduce_requantize ins(%q, %s : memref<128xi8>, memref<4xf32>) outs(%qo, %so : memref<32xui8>, memref<2xf32>) parts = 2 bits = 8 group_size = 32 out_bits = 4 out_group_size = 32
  return
}

// -----

func.func @requant_not_multiple(%q: tensor<96xi8>, %s: tensor<2xf32>, %qo: tensor<24xi8>, %so: tensor<3xf32>) {
  // expected-error @+1 {{expects the 48 summed values (scales_init * out_group_size) to be a multiple of the group size 32}}
  %a:2 = qcomm.dequantize_reduce_requantize ins(%q, %s : tensor<96xi8>, tensor<2xf32>) outs(%qo, %so : tensor<24xi8>, tensor<3xf32>) parts = 2 bits = 8 group_size = 32 out_bits = 4 out_group_size = 16 -> tensor<24xi8>, tensor<3xf32>
  return
}

// -----

func.func @requant_q_init_bytes(%q: tensor<128xi8>, %s: tensor<4xf32>, %qo: tensor<64xi8>, %so: tensor<2xf32>) {
  // expected-error @+1 {{expects q_init to hold n * out_bits / 8 = 32 bytes, got 64}}
  %a:2 = qcomm.dequantize_reduce_requantize ins(%q, %s : tensor<128xi8>, tensor<4xf32>) outs(%qo, %so : tensor<64xi8>, tensor<2xf32>) parts = 2 bits = 8 group_size = 32 out_bits = 4 out_group_size = 32 -> tensor<64xi8>, tensor<2xf32>
  return
}

// -----

func.func @requant_q_bytes(%q: tensor<64xi8>, %s: tensor<4xf32>, %qo: tensor<32xi8>, %so: tensor<2xf32>) {
  // expected-error @+1 {{expects q to hold parts * n * bits / 8 = 128 bytes, got 64}}
  %a:2 = qcomm.dequantize_reduce_requantize ins(%q, %s : tensor<64xi8>, tensor<4xf32>) outs(%qo, %so : tensor<32xi8>, tensor<2xf32>) parts = 2 bits = 8 group_size = 32 out_bits = 4 out_group_size = 32 -> tensor<32xi8>, tensor<2xf32>
  return
}

// -----

func.func @requant_scales(%q: tensor<128xi8>, %s: tensor<2xf32>, %qo: tensor<32xi8>, %so: tensor<2xf32>) {
  // expected-error @+1 {{expects parts * n / group_size = 4 scales, got 2}}
  %a:2 = qcomm.dequantize_reduce_requantize ins(%q, %s : tensor<128xi8>, tensor<2xf32>) outs(%qo, %so : tensor<32xi8>, tensor<2xf32>) parts = 2 bits = 8 group_size = 32 out_bits = 4 out_group_size = 32 -> tensor<32xi8>, tensor<2xf32>
  return
}

// -----

func.func @requant_results(%q: tensor<128xi8>, %s: tensor<4xf32>, %qo: tensor<32xi8>, %so: tensor<2xf32>) {
  // expected-error @+1 {{on tensors returns one result per init, of its type}}
  %a = qcomm.dequantize_reduce_requantize ins(%q, %s : tensor<128xi8>, tensor<4xf32>) outs(%qo, %so : tensor<32xi8>, tensor<2xf32>) parts = 2 bits = 8 group_size = 32 out_bits = 4 out_group_size = 32 -> tensor<32xi8>
  return
}
