//===- SparseGCNBase.td - Sparse graph aggregation dialect -*- tablegen -*-===//

#ifndef LATHE_DIALECT_SPARSEGCN_SPARSEGCNBASE
#define LATHE_DIALECT_SPARSEGCN_SPARSEGCNBASE

include "mlir/IR/AttrTypeBase.td"
include "lathe/Support/EnumAttr.td"
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
  let useDefaultAttributePrinterParser = 1;
}

class SparseGCN_Op<string mnemonic, list<Trait> traits = []>
    : Op<SparseGCN_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Enums (printed `#sparsegcn<reorder rcm>`; other spellings do not parse)
//===----------------------------------------------------------------------===//

def SparseGCN_NodeReorder : Lathe_I32Enum<"NodeReorder",
    "Node reordering of the adjacency before tiling", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"Degree", 1, "degree">,
      I32EnumAttrCase<"RCM", 2, "rcm">,
      I32EnumAttrCase<"Cluster", 3, "cluster">,
      I32EnumAttrCase<"Auto", 4, "auto">],
    "reorder", "::mlir::lathe::sparsegcn">;
def SparseGCN_NodeReorderAttr
    : Lathe_EnumAttr<SparseGCN_Dialect, SparseGCN_NodeReorder, "reorder">;

def SparseGCN_DenseEngine : Lathe_I32Enum<"DenseEngine",
    "Kernel that runs the dense tiles", [
      I32EnumAttrCase<"OnednnSgemm", 0, "onednn_sgemm">,
      I32EnumAttrCase<"MicroBsr", 1, "micro_bsr">,
      I32EnumAttrCase<"RowGroups", 2, "row_groups">],
    "dense engine", "::mlir::lathe::sparsegcn">;
def SparseGCN_DenseEngineAttr
    : Lathe_EnumAttr<SparseGCN_Dialect, SparseGCN_DenseEngine, "dense_engine">;

def SparseGCN_SparseEngine : Lathe_I32Enum<"SparseEngine",
    "Kernel that runs the sparse tiles", [
      I32EnumAttrCase<"CsrSpmm", 0, "csr_spmm">],
    "sparse engine", "::mlir::lathe::sparsegcn">;
def SparseGCN_SparseEngineAttr
    : Lathe_EnumAttr<SparseGCN_Dialect, SparseGCN_SparseEngine, "sparse_engine">;

#endif // LATHE_DIALECT_SPARSEGCN_SPARSEGCNBASE
