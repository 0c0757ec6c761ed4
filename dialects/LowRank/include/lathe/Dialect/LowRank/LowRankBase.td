//===- LowRankBase.td - lowrank dialect --------------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_LOWRANK_LOWRANKBASE
#define LATHE_DIALECT_LOWRANK_LOWRANKBASE

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/OpBase.td"

def LowRank_Dialect : Dialect {
  let name = "lowrank";
  let cppNamespace = "::mlir::lowrank";
  let summary = "Weights replaced by low-rank factors (HALOC)";
  let description = [{
    A linear layer or convolution whose trained weight has been replaced by
    factors of a chosen rank: `lowrank.linear` (W ≈ U·V) and
    `lowrank.conv2d_tucker` (Tucker-2 over the channel modes, tied rank).
    `lowrank-select-ranks` introduces them from constant weights, choosing the
    ranks globally under an error budget with a per-target latency model, and
    `convert-lowrank-to-lathe` turns them into `lathe.matmul` and `linalg` convolutions.
    Each choice is recorded once, as a `#lowrank.decision` attribute (implementing
    `DecisionAttrInterface`) under the name `lathe.decision`.
  }];
  // The full-rank canonicalizations create these (upstream ops only).
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
  let useDefaultAttributePrinterParser = 1;
}

class LowRank_Op<string mnemonic, list<Trait> traits = []>
    : Op<LowRank_Dialect, mnemonic, traits>;

class LowRank_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<LowRank_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

#endif // LATHE_DIALECT_LOWRANK_LOWRANKBASE
