//===- RecordSignature.cpp - Keep the tensor signature through lowering ---===//

#include "lathe/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHERECORDSIGNATURE
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;

namespace {
struct LatheRecordSignature
    : public lathe::impl::LatheRecordSignatureBase<LatheRecordSignature> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isDeclaration() || !fn.isPublic() ||
          fn->hasAttr("lathe.signature"))
        continue;
      fn->setAttr("lathe.signature", TypeAttr::get(fn.getFunctionType()));
    }
  }
};
} // namespace
