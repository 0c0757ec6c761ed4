//===- CheckContract.cpp - Verify a phase's output form -------------------===//

#include "lathe/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECHECKCONTRACT
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;

namespace {
struct LatheCheckContract
    : public lathe::impl::LatheCheckContractBase<LatheCheckContract> {
  using Base::Base;

  void runOnOperation() override {
    bool ok = true;
    if (phase == "bufferize") {
      getOperation().walk([&](Operation *op) {
        auto isTensor = [](Type t) { return isa<TensorType>(t); };
        if (llvm::any_of(op->getOperandTypes(), isTensor) ||
            llvm::any_of(op->getResultTypes(), isTensor)) {
          op->emitError("phase 'bufferize' must leave no tensor values, but ")
              << op->getName()
              << " still has one: the op has no bufferization model";
          ok = false;
        }
      });
    } else if (phase == "llvm") {
      getOperation().walk([&](Operation *op) {
        // OpenMP constructs on LLVM types are translated by the OpenMP IR
        // translation; everything else must be the llvm dialect.
        if (isa<ModuleOp>(op) ||
            isa<LLVM::LLVMDialect, omp::OpenMPDialect>(op->getDialect()))
          return;
        op->emitError("phase 'llvm' must leave only the llvm (and omp) "
                      "dialect, but ")
            << op->getName()
            << " remains: add a lowering for it to the pipeline";
        ok = false;
      });
    } else {
      getOperation().emitError("lathe-check-contract: unknown phase '")
          << phase << "' (expected bufferize or llvm)";
      ok = false;
    }
    if (!ok)
      signalPassFailure();
  }
};
} // namespace
