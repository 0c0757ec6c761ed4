//===- FuseElementwise.cpp - Element-wise fusion that keeps results right -===//
//
// Upstream `linalg-fuse-elementwise-ops` with one more condition on the
// producer. MLIR 22 fuses a producer whose payload reads its own output (an
// all-parallel `out = out + x`) into a consumer with more loops (one that
// broadcasts the producer's result): the fused op then keeps the producer's
// result as an extra output indexed by fewer loops than the op has, so each
// element is read and rewritten once per extra iteration and accumulates
// (test/Transforms/lathe-fuse-elementwise.mlir has the case; the result was
// silently wrong). Such producers are left unfused here; everything else is
// the upstream pass's pattern set and control (fuse a producer with one use).
//
//===----------------------------------------------------------------------===//

#include "lathe/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHEFUSEELEMENTWISE
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;

namespace {

/// True when a structured op's payload reads one of its outputs' values.
bool readsItsOutputs(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp)
    return false;
  return llvm::any_of(linalgOp.getDpsInitsMutable(), [&](OpOperand &init) {
    return linalgOp.payloadUsesValueFromOperand(&init);
  });
}

struct LatheFuseElementwise
    : public lathe::impl::LatheFuseElementwiseBase<LatheFuseElementwise> {
  void runOnOperation() override {
    Operation *op = getOperation();
    MLIRContext *context = op->getContext();
    RewritePatternSet patterns(context);
    linalg::ControlFusionFn control = [](OpOperand *fusedOperand) {
      Operation *producer = fusedOperand->get().getDefiningOp();
      return producer && producer->hasOneUse() && !readsItsOutputs(producer);
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, control);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, control);
    if (failed(applyPatternsGreedily(
            op, std::move(patterns),
            GreedyRewriteConfig().setUseTopDownTraversal())))
      return signalPassFailure();
  }
};

} // namespace
