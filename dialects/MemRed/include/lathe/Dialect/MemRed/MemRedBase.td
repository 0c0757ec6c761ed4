//===- MemRedBase.td - Memory-reduction dialect ------------*- tablegen -*-===//

#ifndef LATHE_DIALECT_MEMRED_MEMREDBASE
#define LATHE_DIALECT_MEMRED_MEMREDBASE

include "mlir/IR/AttrTypeBase.td"
include "lathe/Support/EnumAttr.td"
include "mlir/IR/OpBase.td"

def MemRed_Dialect : Dialect {
  let name = "memred";
  let cppNamespace = "::mlir::lathe::memred";
  let summary = "Bounded-memory attention and cross-modal memory reduction";
  let description = [{
    Two memory savings as IR. From DeepSpeed4Science (Evoformer attention):
    attention computed block by block with an online softmax, so that the
    L x L score matrix is never materialised (`memred.chunked_attention`),
    and the plain attention op that linalg patterns are raised to
    (`memred.attention`; upstream linalg has none). From AdaCM²: a bounded
    memory of cached visual tokens reduced by cross-modal relevance
    (`memred.cross_modal_reduce`: keep the newest `recent` fraction whole and
    the top `keep` fraction of the older tokens by the cross-attention they
    receive from the text queries). See docs/Dialects/MemRed.md.
  }];
  let useDefaultAttributePrinterParser = 1;
}

class MemRed_Op<string mnemonic, list<Trait> traits = []>
    : Op<MemRed_Dialect, mnemonic, traits>;

// How memred.bank_append reduces a full bank; the values are the runtime's
// codes. Printed `#memred<policy recent>` (bare `recent` in the op's format);
// other spellings do not parse.
def MemRed_BankPolicy : Lathe_I32Enum<"BankPolicy",
    "How a full memory bank is reduced", [
      I32EnumAttrCase<"adacm2", 0>,
      I32EnumAttrCase<"recent", 1>,
      I32EnumAttrCase<"random", 2>,
      I32EnumAttrCase<"merge", 3>],
    "policy", "::mlir::lathe::memred">;
def MemRed_BankPolicyAttr
    : Lathe_EnumAttr<MemRed_Dialect, MemRed_BankPolicy, "policy">;

#endif // LATHE_DIALECT_MEMRED_MEMREDBASE
