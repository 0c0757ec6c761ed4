//===- UnrollLoops.cpp - Loops as straight-line engine ops ----------------===//
//
// accel-unroll-loops (include/lathe/Target/Accel/Passes.td): the engine
// program cannot execute a loop, so each scf.for with a static trip count is
// unrolled into one copy of its body per iteration, innermost first; the
// induction variable becomes a constant per copy and is folded into the
// slices' offsets, which the engine program needs static.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/Accel/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_ACCELUNROLLLOOPS
#include "lathe/Target/Accel/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// Whether `op` is index arithmetic or a slice whose offsets it may feed:
/// the only ops folded after an unroll, so nothing else in the function
/// changes form.
bool isOffsetOp(Operation *op) {
  if (isa<tensor::ExtractSliceOp, tensor::InsertSliceOp>(op))
    return true;
  return op->getDialect() && isa<arith::ArithDialect>(op->getDialect()) &&
         op->getNumResults() == 1 && op->getResult(0).getType().isIndex();
}

/// One element-wise generic per result of `g` (all loops parallel): result
/// k's generic reads the other results' initial values as inputs and keeps
/// only the body ops its yielded value needs. The engine program runs
/// single-result kernels (a peephole LSTM step yields h and c from one).
void splitResults(linalg::GenericOp g) {
  unsigned numIns = g.getNumDpsInputs();
  unsigned numOuts = g.getNumDpsInits();
  Block *body = g.getBody();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  OpBuilder b(g);
  SmallVector<Value> results;
  for (unsigned k = 0; k < numOuts; ++k) {
    // The body ops (and block arguments) result k's value depends on.
    llvm::DenseSet<Value> live{yield.getOperand(k)};
    llvm::DenseSet<Operation *> liveOps;
    for (Operation &op : llvm::reverse(body->without_terminator())) {
      if (llvm::none_of(op.getResults(),
                        [&](Value r) { return live.contains(r); }))
        continue;
      liveOps.insert(&op);
      op.walk([&](Operation *nested) {
        for (Value v : nested->getOperands())
          live.insert(v);
      });
    }
    SmallVector<Value> ins;
    SmallVector<AffineMap> newMaps;
    SmallVector<BlockArgument> oldArgs;
    for (unsigned i = 0; i < numIns + numOuts; ++i) {
      BlockArgument arg = body->getArgument(i);
      if (i == numIns + k || !live.contains(arg))
        continue;
      ins.push_back(g->getOperand(i));
      newMaps.push_back(maps[i]);
      oldArgs.push_back(arg);
    }
    oldArgs.push_back(body->getArgument(numIns + k));
    newMaps.push_back(maps[numIns + k]);
    Value init = g.getDpsInitOperand(k)->get();
    auto split = linalg::GenericOp::create(
        b, g.getLoc(), TypeRange{g->getResult(k).getType()}, ins,
        ValueRange{init}, newMaps, g.getIteratorTypesArray(),
        [&](OpBuilder &nb, Location loc, ValueRange args) {
          IRMapping map;
          for (auto [old, now] : llvm::zip(oldArgs, args))
            map.map(old, now);
          for (Operation &op : body->without_terminator())
            if (liveOps.contains(&op))
              nb.clone(op, map);
          linalg::YieldOp::create(nb, loc,
                                  map.lookupOrDefault(yield.getOperand(k)));
        });
    results.push_back(split.getResult(0));
  }
  g->replaceAllUsesWith(results);
  g.erase();
}

struct UnrollLoops
    : public mlir::lathe::impl::AccelUnrollLoopsBase<UnrollLoops> {
  using Base::Base;

  /// Unrolls `loop` and folds the constant induction variables of the copies
  /// into the slices between `before` and `after` (the loop's neighbours).
  LogicalResult unroll(scf::ForOp loop, const FrozenRewritePatternSet &fold) {
    std::optional<APInt> trips = loop.getStaticTripCount();
    if (!trips) {
      loop.emitOpError()
          << "has a trip count unknown at compile time: the accelerator's "
             "engine program cannot execute a loop, and accel-unroll-loops "
             "unrolls only loops with static bounds (give the model static "
             "shapes)";
      return failure();
    }
    if (trips->getSExtValue() > maxTripCount) {
      loop.emitOpError() << "runs " << trips->getSExtValue()
                         << " iterations, more than accel-unroll-loops "
                            "unrolls (max-trip-count = "
                         << static_cast<int64_t>(maxTripCount)
                         << "): the accelerator's engine program cannot "
                            "execute a loop";
      return failure();
    }
    if (trips->isZero()) {
      loop.replaceAllUsesWith(loop.getInitArgs());
      loop.erase();
      return success();
    }
    Block *block = loop->getBlock();
    Operation *before = loop->getPrevNode();
    Operation *after = loop->getNextNode();
    if (failed(loopUnrollFull(loop))) {
      loop.emitOpError() << "could not be unrolled for the accelerator";
      return failure();
    }
    SmallVector<Operation *> ops;
    auto begin = before ? std::next(before->getIterator()) : block->begin();
    auto end = after ? after->getIterator() : block->end();
    SmallVector<linalg::GenericOp> multiResult;
    SmallVector<linalg::CopyOp> copies;
    for (Operation &op : llvm::make_range(begin, end)) {
      // A copy on tensors is its input (the CPU's step copies h into the
      // loop-carried buffer, which unrolled steps pass on as values).
      if (auto copy = dyn_cast<linalg::CopyOp>(&op))
        if (copy.hasPureTensorSemantics() &&
            copy.getInputs()[0].getType() == copy->getResult(0).getType())
          copies.push_back(copy);
      if (isOffsetOp(&op))
        ops.push_back(&op);
      auto g = dyn_cast<linalg::GenericOp>(&op);
      if (g && g.getNumDpsInits() > 1 && g.hasPureTensorSemantics() &&
          g.getNumLoops() == g.getNumParallelLoops())
        multiResult.push_back(g);
    }
    for (linalg::GenericOp g : multiResult)
      splitResults(g);
    for (linalg::CopyOp copy : copies) {
      copy->getResult(0).replaceAllUsesWith(copy.getInputs()[0]);
      copy.erase();
    }
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    (void)applyOpPatternsGreedily(ops, fold, config);
    return success();
  }

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    tensor::ExtractSliceOp::getCanonicalizationPatterns(patterns, context);
    tensor::InsertSliceOp::getCanonicalizationPatterns(patterns, context);
    FrozenRewritePatternSet fold(std::move(patterns));

    // Innermost first (post-order); a loop in an op other than a function or
    // another loop (a kernel's payload) is not the program's.
    SmallVector<scf::ForOp> loops;
    getOperation().walk([&](scf::ForOp loop) {
      if (isa<func::FuncOp, scf::ForOp>(loop->getParentOp()))
        loops.push_back(loop);
    });
    for (scf::ForOp loop : loops)
      if (failed(unroll(loop, fold)))
        return signalPassFailure();
  }
};

} // namespace
