//===- ScopeRuntimeCalls.cpp - Stack scopes for runtime calls in loops ----===//
//
// Lowering a ranked-to-unranked memref.cast allocates the descriptor on the
// stack; in a loop that space is never given back before the function
// returns. Each runtime call in a region saves and restores the stack
// pointer around itself (llvm.intr.stacksave / stackrestore; not
// memref.alloca_scope, whose lowering splits blocks and so must run after
// scf is lowered to cf, while convert-scf-to-openmp's own scopes must be
// lowered before).
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPUSCOPERUNTIMECALLS
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;

namespace {

/// The casts to unranked memrefs among `call`'s operands.
SmallVector<memref::CastOp> unrankedCasts(func::CallOp call) {
  SmallVector<memref::CastOp> casts;
  for (Value operand : call.getOperands())
    if (auto cast = operand.getDefiningOp<memref::CastOp>())
      if (isa<UnrankedMemRefType>(cast.getType()) &&
          !llvm::is_contained(casts, cast))
        casts.push_back(cast);
  return casts;
}

struct LatheCPUScopeRuntimeCalls
    : public lathe::impl::LatheCPUScopeRuntimeCallsBase<
          LatheCPUScopeRuntimeCalls> {
  void runOnOperation() override {
    SmallVector<func::CallOp> calls;
    getOperation().walk([&](func::CallOp call) {
      if (!isa<func::FuncOp>(call->getParentOp()) &&
          !unrankedCasts(call).empty())
        calls.push_back(call);
    });
    IRRewriter rewriter(&getContext());
    auto ptr = LLVM::LLVMPointerType::get(&getContext());
    for (func::CallOp call : calls) {
      SmallVector<memref::CastOp> casts = unrankedCasts(call);
      rewriter.setInsertionPoint(call);
      Value sp = LLVM::StackSaveOp::create(rewriter, call.getLoc(), ptr);
      IRMapping map;
      for (memref::CastOp cast : casts)
        map.map(cast.getResult(), rewriter.clone(*cast)->getResult(0));
      Operation *inner = rewriter.clone(*call, map);
      LLVM::StackRestoreOp::create(rewriter, call.getLoc(), sp);
      rewriter.replaceOp(call, inner->getResults());
      for (memref::CastOp cast : casts)
        if (cast->use_empty())
          rewriter.eraseOp(cast);
    }
  }
};

} // namespace
