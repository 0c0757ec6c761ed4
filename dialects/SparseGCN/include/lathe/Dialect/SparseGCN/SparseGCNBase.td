//===- SparseGCNBase.td - Sparse graph aggregation dialect -*- tablegen -*-===//

#ifndef LATHE_DIALECT_SPARSEGCN_SPARSEGCNBASE
#define LATHE_DIALECT_SPARSEGCN_SPARSEGCNBASE

include "mlir/IR/OpBase.td"

def SparseGCN_Dialect : Dialect {
  let name = "sparsegcn";
  let cppNamespace = "::mlir::lathe::sparsegcn";
  let summary = "Graph aggregation A·X with a sparse adjacency, tiled by density";
  let description = [{
    The H-GCN idea as IR: the adjacency of a graph is split into square tiles
    that are classified by density; dense tiles go to the matrix engine
    (oneDNN GEMM on a CPU), sparse tiles to a CSR SpMM kernel, empty tiles are
    skipped. `sparsegcn.aggregate` is the untiled op that a model (or an
    importer) writes; `sparsegcn-tile` turns it into `sparsegcn.tiled_aggregate`,
    which carries the tile size, each tile's class and the engine of each
    class. See docs/Dialects/SparseGCN.md.
  }];
}

class SparseGCN_Op<string mnemonic, list<Trait> traits = []>
    : Op<SparseGCN_Dialect, mnemonic, traits>;

#endif // LATHE_DIALECT_SPARSEGCN_SPARSEGCNBASE
