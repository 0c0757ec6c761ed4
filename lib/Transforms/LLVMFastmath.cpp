//===- LLVMFastmath.cpp - Floating-point freedoms, stated in the IR -------===//
//
// The JIT used to set reassociation and contraction on every floating-point
// instruction behind the IR's back; as a pass the setting is visible in
// `--compile-to=llvm` output, can be turned off, and is tested.
//
//===----------------------------------------------------------------------===//

#include "lathe/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHELLVMFASTMATH
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;

namespace {
struct LatheLLVMFastmath
    : public lathe::impl::LatheLLVMFastmathBase<LatheLLVMFastmath> {
  using Base::Base;

  void runOnOperation() override {
    LLVM::FastmathFlags added = LLVM::FastmathFlags::none;
    if (reassoc)
      added = added | LLVM::FastmathFlags::reassoc;
    if (contract)
      added = added | LLVM::FastmathFlags::contract;
    if (added == LLVM::FastmathFlags::none)
      return;
    MLIRContext *ctx = &getContext();
    getOperation().walk([&](Operation *op) {
      if (!isa<LLVM::FAddOp, LLVM::FSubOp, LLVM::FMulOp>(op))
        return;
      auto iface = cast<LLVM::FastmathFlagsInterface>(op);
      op->setAttr(iface.getFastmathAttrName(),
                  LLVM::FastmathFlagsAttr::get(
                      ctx, iface.getFastmathAttr().getValue() | added));
    });
  }
};
} // namespace
