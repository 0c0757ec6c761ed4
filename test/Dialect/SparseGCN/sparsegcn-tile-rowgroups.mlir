// The row-group engine: a graph whose rows come in runs of 2-4 consecutive
// rows sharing their 30 columns (Inputs/group_graph.py: 60 runs, 180 rows),
// separated by rows of their own random columns, goes to the row-group
// engine with the cost model's threshold: exactly the planted runs become
// groups (a run never merges with its neighbours, whose columns it barely
// shares), the other rows stay the CSR kernel's.
// RUN: %python %S/Inputs/group_graph.py --width 64 | lathe-opt --sparsegcn-tile | FileCheck %s --check-prefix=GROUPS
// GROUPS-LABEL: func.func @groups
// GROUPS: sparsegcn.tiled_aggregate {{.*}} tile 4 ins
// GROUPS-SAME: dense_engine = #sparsegcn<dense_engine row_groups>
// GROUPS-SAME: lathe.decision = #sparsegcn.decision<
// GROUPS-SAME: dense_engine = "row_groups"
// GROUPS-SAME: result = "row-group engine on groups of rows with nearly equal columns, CSR on the other rows"
// GROUPS-SAME: row_group_max = 4,
// GROUPS-SAME: row_group_nnz = 5400,
// GROUPS-SAME: row_group_rows = 180,
// GROUPS-SAME: row_groups = 60,
// GROUPS-NOT: tile_classes

// With a third of each run's entries dropped (nearly) no group reaches the
// threshold (84-100 % full at the calibrated widths): the op stays the CSR
// kernel's.
// RUN: %python %S/Inputs/group_graph.py --width 64 --fill 0.67 | lathe-opt --sparsegcn-tile | FileCheck %s --check-prefix=SPARSE
// SPARSE-LABEL: func.func @groups
// SPARSE: sparsegcn.aggregate
// SPARSE-SAME: lathe.decision = #sparsegcn.decision<
// SPARSE-SAME: predicted_us_row_group_hybrid
// SPARSE-SAME: result = "kept sparsegcn.aggregate: no tile reaches the dense threshold"

// row-groups=false, or a tile size given on the command line, leaves the
// engine out.
// RUN: %python %S/Inputs/group_graph.py --width 64 | lathe-opt --sparsegcn-tile=row-groups=false | FileCheck %s --check-prefix=OFF
// RUN: %python %S/Inputs/group_graph.py --width 64 | lathe-opt --sparsegcn-tile=tile-size=32 | FileCheck %s --check-prefix=OFF
// OFF-LABEL: func.func @groups
// OFF-NOT: row_groups

// lathe-run (the CPU pipeline runs sparsegcn-tile) executes it through the
// tiled kernel with LATHE_SPMM_ROW_GROUPS and matches scipy, also with 90 %-
// full runs at F = 16 (groups with padded zeros, whatever the pass chose)
// and with NaN and Inf in a row of x that a padded entry would multiply:
// they reach only the rows that store an entry of that row.
// RUN: rm -rf %t && %python %S/Inputs/group_graph.py --width 64 --npy %t > %t.mlir
// RUN: lathe-run %t.mlir --entry=groups --input=%t/x.npy --output=%t/y.npy --report=%t/r.json
// RUN: %python %scripts/compare_npy.py %t/y.npy %t/ref.npy
// RUN: %python -c "import json,sys; k=json.load(open(sys.argv[1]))['kernels']; assert k['spmm_tiled']['calls'] == 1, k" %t/r.json
// RUN: lathe-run %t.mlir --entry=groups --compile-to=llvm | FileCheck %s --check-prefix=LOWER
// LOWER: llvm.call @lathe_rt_spmm_tiled_f32_i32
// RUN: rm -rf %t.nan && %python %S/Inputs/group_graph.py --width 16 --fill 0.9 --nan --npy %t.nan > %t.nan.mlir
// RUN: lathe-opt %t.nan.mlir --sparsegcn-tile="row-groups=true" | FileCheck %s --check-prefix=NAN16
// NAN16: dense_engine = #sparsegcn<dense_engine row_groups>
// RUN: lathe-run %t.nan.mlir --entry=groups --input=%t.nan/x.npy --output=%t.nan/y.npy
// RUN: %python -c "import numpy as np,sys; y=np.load(sys.argv[1]); r=np.load(sys.argv[2]); assert (np.isnan(y)==np.isnan(r)).all() and (np.isinf(y)==np.isinf(r)).all() and np.isnan(r).any(); f=np.isfinite(r); assert np.allclose(y[f], r[f], rtol=1e-4, atol=1e-4*abs(r[f]).max())" %t.nan/y.npy %t.nan/ref.npy
