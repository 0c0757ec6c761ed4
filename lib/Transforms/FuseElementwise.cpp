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
// One more fusion: a `linalg.transpose` read only by an input of a generic
// (upstream fuses generic producers only) folds into that input's indexing
// map, so the transposed copy is never written. A reduction generic that
// reads more elements than it writes (a CNN's global average pooling of a
// channel-blocked convolution output) then iterates in the order the
// transposed source is stored (its loops interchanged), so it reads the
// source contiguously with the channels innermost.
//
//===----------------------------------------------------------------------===//

#include "lathe/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <optional>

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHEFUSEELEMENTWISE
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;

namespace {

/// Elements of a statically shaped tensor type, or nullopt.
std::optional<int64_t> staticElements(Type type) {
  auto shaped = dyn_cast<RankedTensorType>(type);
  if (!shaped || !shaped.hasStaticShape())
    return std::nullopt;
  return shaped.getNumElements();
}

/// generic(ins(transpose(%x), ...)) -> generic(ins(%x, ...)) with the
/// transpose folded into that input's indexing map (the transpose has no
/// other use). Where the folded map is a permutation of the loops, %x has
/// more elements than every output and its outermost dimension is a
/// parallel loop, the loops are interchanged so that %x is read in its
/// storage order.
struct FoldTransposeIntoGeneric : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp generic,
                                PatternRewriter &rewriter) const override {
    if (!generic.hasPureTensorSemantics())
      return failure();
    for (OpOperand *input : generic.getDpsInputOperands()) {
      auto transpose = input->get().getDefiningOp<linalg::TransposeOp>();
      if (!transpose || !transpose->hasOneUse() ||
          !transpose.hasPureTensorSemantics())
        continue;
      // The transpose's input map (result dims -> source dims) composed
      // with how the generic reads the transposed result.
      AffineMap folded = transpose.getIndexingMapsArray()[0].compose(
          generic.getMatchingIndexingMap(input));
      SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
      maps[input->getOperandNumber()] = folded;
      Value source = transpose.getInput();
      rewriter.modifyOpInPlace(generic, [&] {
        input->set(source);
        generic.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
      });
      rewriter.eraseOp(transpose);

      std::optional<int64_t> read = staticElements(source.getType());
      bool readsMore =
          read && llvm::all_of(generic.getDpsInits(), [&](Value init) {
            std::optional<int64_t> written = staticElements(init.getType());
            return written && *written < *read;
          });
      if (!readsMore || !folded.isPermutation() || folded.isIdentity())
        return success();
      SmallVector<unsigned> order;
      for (AffineExpr expr : folded.getResults())
        order.push_back(cast<AffineDimExpr>(expr).getPosition());
      // The outermost loop stays parallel (it is what runs on the threads).
      if (!linalg::isParallelIterator(
              generic.getIteratorTypesArray()[order.front()]))
        return success();
      (void)linalg::interchangeGenericOp(rewriter, generic, order);
      return success();
    }
    return failure();
  }
};

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
    patterns.add<FoldTransposeIntoGeneric>(context);
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
