// The micro-tile engine: a graph whose tile rows of 4 nodes each hold three
// full 4x4 tiles (Inputs/micro_graph.py; 147 of them whole, three more on
// the border, which the engine runs as sparse) goes to the micro-tile engine
// at T = 4 with the cost model's threshold: 147 dense micro tiles of 16
// non-zeros each; no T >= 32 tile of it is dense.
// RUN: %python %S/Inputs/micro_graph.py --width 64 | lathe-opt --sparsegcn-tile | FileCheck %s --check-prefix=MICRO
// MICRO-LABEL: func.func @micro
// MICRO: sparsegcn.tiled_aggregate {{.*}} tile 4 ins
// MICRO-SAME: dense_engine = #sparsegcn<dense_engine micro_bsr>
// MICRO-SAME: micro_nnz_dense = 2352
// MICRO-SAME: micro_tiles_dense = 147
// MICRO-SAME: result = "micro-tile engine on dense micro tiles, CSR on the rest"
// MICRO-NOT: tile_classes

// The same structure with 30% of each planted tile's entries stored: no
// micro tile reaches the threshold, so the op stays the CSR kernel's.
// RUN: %python %S/Inputs/micro_graph.py --width 64 --fill 0.3 | lathe-opt --sparsegcn-tile | FileCheck %s --check-prefix=SPARSE
// SPARSE-LABEL: func.func @micro
// SPARSE: sparsegcn.aggregate
// SPARSE-SAME: micro_tiles_dense = 0
// SPARSE-SAME: result = "kept sparsegcn.aggregate: no tile reaches the dense threshold"

// micro-tiles=false, or a tile size or threshold given on the command line,
// leaves the engine out.
// RUN: %python %S/Inputs/micro_graph.py --width 64 | lathe-opt --sparsegcn-tile=micro-tiles=false | FileCheck %s --check-prefix=OFF
// RUN: %python %S/Inputs/micro_graph.py --width 64 | lathe-opt --sparsegcn-tile=tile-size=32 | FileCheck %s --check-prefix=OFF
// OFF-LABEL: func.func @micro
// OFF-NOT: micro_bsr
// OFF-NOT: micro_tiles_dense

// lathe-run (the CPU pipeline runs sparsegcn-tile) executes it through the
// tiled kernel with LATHE_SPMM_MICRO and matches scipy.
// RUN: rm -rf %t && %python %S/Inputs/micro_graph.py --width 64 --npy %t > %t.mlir
// RUN: lathe-run %t.mlir --entry=micro --input=%t/x.npy --output=%t/y.npy --report=%t/r.json
// RUN: %python %scripts/compare_npy.py %t/y.npy %t/ref.npy
// RUN: %python -c "import json,sys; k=json.load(open(sys.argv[1]))['kernels']; assert k['spmm_tiled']['calls'] == 1, k" %t/r.json
// RUN: lathe-run %t.mlir --entry=micro --compile-to=llvm | FileCheck %s --check-prefix=LOWER
// LOWER: llvm.call @lathe_rt_spmm_tiled_f32_i32
