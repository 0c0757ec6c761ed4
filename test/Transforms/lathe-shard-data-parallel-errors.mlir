// What lathe-shard-data-parallel cannot shard is an error naming why.
// RUN: not lathe-opt --lathe-differentiate --lathe-make-train-step --lathe-shard-data-parallel="ranks=4 ranks-per-node=3" %S/../e2e/Inputs/grad-mlp.mlir 2>&1 | FileCheck %s --check-prefix=NODES
// NODES: error: lathe-shard-data-parallel: ranks (4) must be a positive multiple of ranks-per-node (3), and align positive
// RUN: not lathe-opt --lathe-differentiate --lathe-shard-data-parallel="ranks=2" %S/../e2e/Inputs/grad-mlp.mlir 2>&1 | FileCheck %s --check-prefix=NOSTEP
// NOSTEP: error: lathe-shard-data-parallel: no @loss_train_step; run lathe-make-train-step first
// RUN: not lathe-opt --lathe-differentiate --lathe-make-train-step --lathe-shard-data-parallel="ranks=2" --lathe-shard-data-parallel="ranks=2" %S/../e2e/Inputs/grad-mlp.mlir 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: error: lathe-shard-data-parallel: @loss_train_step is already sharded
