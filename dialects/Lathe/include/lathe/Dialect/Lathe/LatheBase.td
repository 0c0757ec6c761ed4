//===- LatheBase.td - Lathe core dialect -------------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_LATHE_LATHEBASE
#define LATHE_DIALECT_LATHE_LATHEBASE

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/OpBase.td"

def Lathe_Dialect : Dialect {
  let name = "lathe";
  let cppNamespace = "::mlir::lathe";
  let summary = "Lathe's core dialect: weights and backend kernel ops";
  let description = [{
    The ops every backend shares: weights loaded by the runtime
    (`lathe.weight` with an `#lathe.external` source) and the library-call
    level kernels that the CPU and GPU backends lower to runtime calls
    (`lathe.matmul` with fused epilogue). The capability dialects (lowrank,
    qcomm, seqshard, memred, sparsegcn) live in their own folders.
  }];
  let useDefaultAttributePrinterParser = 1;
  // `lathe.target` on an op must be a #lathe.target.
  let hasOperationAttrVerify = 1;
}

class Lathe_Op<string mnemonic, list<Trait> traits = []>
    : Op<Lathe_Dialect, mnemonic, traits>;

class Lathe_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Lathe_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

#endif // LATHE_DIALECT_LATHE_LATHEBASE
