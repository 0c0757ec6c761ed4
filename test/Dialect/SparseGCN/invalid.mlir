// RUN: lathe-opt %s -split-input-file -verify-diagnostics

func.func @mixed(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: memref<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects all operands to be tensors or all to be memrefs}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : memref<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @memref_result(%rp: memref<5xi64>, %ci: memref<6xi64>, %v: memref<6xf32>, %x: memref<4x16xf32>, %e: memref<4x16xf32>) {
  // expected-error @+1 {{on memrefs has no results}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : memref<5xi64>, memref<6xi64>, memref<6xf32>) [4, 4] ins(%x : memref<4x16xf32>) outs(%e : memref<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @no_result(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{on tensors returns one result of the init type}}
  sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>)
  return
}

// -----

func.func @empty_graph(%rp: tensor<1xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<0x16xf32>, %e: tensor<0x16xf32>) {
  // expected-error @+1 {{expects a non-empty graph, got a 0 x 0 adjacency}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<1xi64>, tensor<6xi64>, tensor<6xf32>) [0, 0] ins(%x : tensor<0x16xf32>) outs(%e : tensor<0x16xf32>) -> tensor<0x16xf32>
  return
}

// -----

func.func @non_square(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<5x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects a square adjacency (a graph's), got 4 x 5}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 5] ins(%x : tensor<5x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @rank(%rp: tensor<5xi64>, %ci: tensor<6x1xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects col_idx of rank 1}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6x1xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @index_type(%rp: tensor<5xf32>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects row_ptr of i32 or i64 elements}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xf32>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @mixed_index(%rp: tensor<5xi64>, %ci: tensor<6xi32>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects col_idx of row_ptr's element type 'i64'}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi32>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @values_type(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf64>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects f32 values}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf64>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @row_ptr_size(%rp: tensor<4xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects row_ptr of num_rows + 1 = 5 elements}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<4xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @nnz_mismatch(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<7xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects as many values as column indices}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<7xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @features_rank(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects f32 features of rank 2}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @init_type(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf16>) {
  // expected-error @+1 {{expects an f32 init of rank 2}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf16>) -> tensor<4x16xf16>
  return
}

// -----

func.func @feature_rows(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<3x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects features with num_cols = 4 rows (one per node)}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<3x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @init_shape(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x8xf32>) {
  // expected-error @+1 {{expects init of shape [4, 16]}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @tile_zero(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects a positive tile size, got 0}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 0 ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @tile_negative(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects a positive tile size, got -3}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile -3 ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @class_count(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects one tile class per tile (2 x 2 = 4), got 3}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2 ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {tile_classes = array<i8: 1, 1, 1>} -> tensor<4x16xf32>
  return
}

// -----

func.func @class_value(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{has tile class 3 (expected 0 = empty, 1 = sparse or 2 = dense)}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2 ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {tile_classes = array<i8: 1, 1, 3, 0>} -> tensor<4x16xf32>
  return
}

// -----

func.func @threshold(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects a non-negative dense_threshold}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2 ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {dense_threshold = -0.5 : f64} -> tensor<4x16xf32>
  return
}

// -----

func.func @perm(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>, %p: tensor<4xi32>) {
  // expected-error @+1 {{expects a permutation of 4 elements of row_ptr's element type}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2 permutation(%p : tensor<4xi32>) ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @sparse_nnz(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{expects sparse_nnz in [0, nnz], got 7}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2 ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {sparse_nnz = 7 : i64} -> tensor<4x16xf32>
  return
}

// -----

func.func @transpose_row_ptr(%rp: tensor<4xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %e0: tensor<4xi64>, %e1: tensor<6xi64>, %e2: tensor<6xf32>) {
  // expected-error @+1 {{expects t_row_ptr of num_cols + 1 = 6 elements, got 'tensor<4xi64>'}}
  %t:3 = sparsegcn.transpose csr(%rp, %ci, %v : tensor<4xi64>, tensor<6xi64>, tensor<6xf32>) [3, 5] outs(%e0, %e1, %e2 : tensor<4xi64>, tensor<6xi64>, tensor<6xf32>) -> tensor<4xi64>, tensor<6xi64>, tensor<6xf32>
  return
}

// -----

func.func @transpose_nnz(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %e0: tensor<5xi64>, %e1: tensor<6xi64>, %e2: tensor<7xf32>) {
  // expected-error @+1 {{expects col_idx, values, t_col_idx and t_values of one length (nnz)}}
  %t:3 = sparsegcn.transpose csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] outs(%e0, %e1, %e2 : tensor<5xi64>, tensor<6xi64>, tensor<7xf32>) -> tensor<5xi64>, tensor<6xi64>, tensor<7xf32>
  return
}

// -----

func.func @transpose_index_types(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %e0: tensor<5xi32>, %e1: tensor<6xi64>, %e2: tensor<6xf32>) {
  // expected-error @+1 {{expects every index operand of row_ptr's element type 'i64', got 'tensor<5xi32>'}}
  %t:3 = sparsegcn.transpose csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] outs(%e0, %e1, %e2 : tensor<5xi32>, tensor<6xi64>, tensor<6xf32>) -> tensor<5xi32>, tensor<6xi64>, tensor<6xf32>
  return
}

// -----

func.func @tiled_bad_reorder(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+2 {{unknown reorder 'random' (expected one of: none, degree, rcm, cluster, auto)}}
  // expected-error @+1 {{failed to parse SparseGCN_NodeReorderAttr parameter}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2 ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {reorder = #sparsegcn<reorder random>} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @tiled_reorder_with_classes(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{has a run-time reorder together with tile_classes or a permutation}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2 ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {tile_classes = array<i8: 1, 1, 1, 1>, reorder = #sparsegcn<reorder rcm>} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @unknown_dense_engine(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  // expected-error @+3 {{unknown dense engine 'cublas' (expected one of: onednn_sgemm, micro_bsr, row_groups)}}
  // expected-error @+2 {{failed to parse SparseGCN_DenseEngineAttr parameter}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2
         ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {dense_engine = #sparsegcn<dense_engine cublas>} -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @micro_engine_tile(%rp: tensor<9xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %e = tensor.empty() : tensor<8x8xf32>
  // expected-error @+1 {{runs dense tiles on the micro-tile engine, whose tiles are 4 x 4, but has tile size 8}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<9xi64>, tensor<6xi64>, tensor<6xf32>) [8, 8] tile 8
         ins(%x : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {dense_engine = #sparsegcn<dense_engine micro_bsr>} -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

// -----

func.func @decision_threshold(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{expects dense_threshold in [0, 1], got 1.5}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {lathe.decision = #sparsegcn.decision<classification = "compile-time", dense_threshold = 1.5, target = "cpu", tile_size = 2>} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @row_group_engine_tile(%rp: tensor<9xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %e = tensor.empty() : tensor<8x8xf32>
  // expected-error @+1 {{runs the row-group engine, whose groups hold at most 4 rows, but has tile size 8}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<9xi64>, tensor<6xi64>, tensor<6xf32>) [8, 8] tile 8
         ins(%x : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {dense_engine = #sparsegcn<dense_engine row_groups>} -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

// -----

func.func @decision_nnz(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{expects nnz_sparse (7) <= nnz (6)}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {lathe.decision = #sparsegcn.decision<classification = "compile-time", dense_threshold = 0.5, nnz = 6, nnz_sparse = 7, target = "cpu", tile_size = 2>} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @decision_row_group_nnz(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{expects row_group_nnz (8) <= nnz (6)}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {lathe.decision = #sparsegcn.decision<classification = "compile-time", dense_threshold = 0.5, nnz = 6, row_group_nnz = 8, target = "cpu", tile_size = 2>} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @decision_missing_tile_size(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{struct is missing required parameter: tile_size}}
  %y = sparsegcn.aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {lathe.decision = #sparsegcn.decision<classification = "compile-time", dense_threshold = 0.5, target = "cpu">} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// IR written before the enum attributes (`dense_engine = "micro_bsr"`): the
// error names the attribute and its values, in the custom form...
func.func @dense_engine_string(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x8xf32>, %e: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+2 {{attribute 'dense_engine' failed to satisfy constraint: #sparsegcn<dense_engine ...> enum attribute, one of: onednn_sgemm, micro_bsr, row_groups}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<5xi64>, tensor<6xi64>, tensor<6xf32>) [4, 4] tile 2
         ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {dense_engine = "micro_bsr"} -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @row_group_engine_classes(%rp: tensor<9xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %e = tensor.empty() : tensor<8x8xf32>
  // expected-error @+1 {{runs the row-group engine, which forms its own groups, but has tile_classes}}
  %y = sparsegcn.tiled_aggregate csr(%rp, %ci, %v : tensor<9xi64>, tensor<6xi64>, tensor<6xf32>) [8, 8] tile 4
         ins(%x : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {dense_engine = #sparsegcn<dense_engine row_groups>, tile_classes = array<i8: 1, 1, 1, 1>} -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

// -----

// ...and in the generic form's properties, with the value given.
func.func @reorder_string_generic(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'reorder' must be an #sparsegcn<reorder ...> enum attribute, one of: none, degree, rcm, cluster, auto; got "rcm"}}
  %y = "sparsegcn.tiled_aggregate"(%rp, %ci, %v, %x, %e) <{num_cols = 4 : i64, num_rows = 4 : i64, reorder = "rcm", tile_size = 2 : i64}> : (tensor<5xi64>, tensor<6xi64>, tensor<6xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @engine_string_generic(%rp: tensor<5xi64>, %ci: tensor<6xi64>, %v: tensor<6xf32>, %x: tensor<4x16xf32>, %e: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'sparse_engine' must be an #sparsegcn<sparse_engine ...> enum attribute, one of: csr_spmm; got "csr_spmm"}}
  %y = "sparsegcn.tiled_aggregate"(%rp, %ci, %v, %x, %e) <{num_cols = 4 : i64, num_rows = 4 : i64, sparse_engine = "csr_spmm", tile_size = 2 : i64}> : (tensor<5xi64>, tensor<6xi64>, tensor<6xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
