//===- SerializeSmallLoops.cpp - Shape of generated parallel loops --------===//
//
// lathe-cpu-nest-parallel-loops: the inner dimensions of an scf.parallel run
// as scf.for loops (convert-scf-to-openmp would collapse them into one
// linearized loop that divides to recover each index).
//
// lathe-cpu-serialize-small-loops: an omp.parallel whose loop does little
// work gets an `if` clause that runs it on the calling thread. A fork/join
// costs microseconds with idle cores and a scheduler time slice when a team
// thread is descheduled; the small element-wise regions of a training step
// (optimizer updates of a bias, adjoints of a small activation) are cheaper
// than that.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPUNESTPARALLELLOOPS
#define GEN_PASS_DEF_LATHECPUSERIALIZESMALLLOOPS
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// Trip count assumed for an inner loop whose bounds are not constants.
constexpr int64_t kUnknownTripCount = 16;

/// Saturating product, so that huge estimates stay huge.
int64_t mulSat(int64_t a, int64_t b) {
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a)
    return std::numeric_limits<int64_t>::max();
  return a * b;
}

int64_t addSat(int64_t a, int64_t b) {
  if (a > std::numeric_limits<int64_t>::max() - b)
    return std::numeric_limits<int64_t>::max();
  return a + b;
}

/// Innermost iterations of one run of `region`: 1 for straight-line code,
/// the sum over its inner scf.for loops of their trip counts times their
/// bodies' iterations. Like XLA's CPU cost model (which counts output bytes),
/// it measures the data a loop touches rather than its operations. A loop
/// with bounds `isInvariant` accepts but not constant counts 1 here and is
/// appended to `dynamicLoops` (its trip count is multiplied in at run time);
/// other non-constant loops count kUnknownTripCount.
int64_t estimateWork(Region &region, function_ref<bool(Value)> isInvariant,
                     SmallVectorImpl<scf::ForOp> &dynamicLoops) {
  int64_t work = 0;
  for (Block &block : region) {
    for (Operation &op : block) {
      if (auto loop = dyn_cast<scf::ForOp>(op)) {
        int64_t trips = kUnknownTripCount;
        APInt lb, ub, step;
        if (matchPattern(loop.getLowerBound(), m_ConstantInt(&lb)) &&
            matchPattern(loop.getUpperBound(), m_ConstantInt(&ub)) &&
            matchPattern(loop.getStep(), m_ConstantInt(&step)) &&
            step.getSExtValue() > 0) {
          trips = std::max<int64_t>(0, (ub.getSExtValue() - lb.getSExtValue() +
                                        step.getSExtValue() - 1) /
                                           step.getSExtValue());
        } else if (isInvariant(loop.getLowerBound()) &&
                   isInvariant(loop.getUpperBound()) &&
                   isInvariant(loop.getStep())) {
          trips = 1;
          dynamicLoops.push_back(loop);
        }
        work = addSat(work,
                      mulSat(trips, estimateWork(loop.getRegion(), isInvariant,
                                                 dynamicLoops)));
        continue;
      }
      for (Region &inner : op.getRegions())
        if (int64_t w = estimateWork(inner, isInvariant, dynamicLoops); w > 1)
          work = addSat(work, w);
    }
  }
  return std::max<int64_t>(work, 1);
}

struct LatheCPUNestParallelLoops
    : public lathe::impl::LatheCPUNestParallelLoopsBase<
          LatheCPUNestParallelLoops> {
  using Base::Base;

  void runOnOperation() override {
    // A parallel loop inside another one (convert-linalg-to-parallel-loops
    // writes one for each parallel dimension that follows a reduction, as
    // in a pooling over [n, h, w, c] that sums h and w) would become an
    // OpenMP region forked on every iteration of the loops around it: it
    // runs sequentially instead. The walk is post-order, so inner loops are
    // rewritten before the loops that hold them.
    SmallVector<scf::ParallelOp> nested;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (loop.getNumResults() == 0 && loop->getParentOfType<scf::ParallelOp>())
        nested.push_back(loop);
    });
    for (scf::ParallelOp loop : nested)
      nest(loop, /*sequential=*/true);

    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (loop.getNumResults() == 0 && loop.getNumLoops() > 1)
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops)
      nest(loop, /*sequential=*/false);
  }

  /// Keeps a prefix of `loop`'s dimensions parallel (none if `sequential`)
  /// and runs the others as an scf.for nest inside.
  void nest(scf::ParallelOp loop, bool sequential) {
    unsigned n = loop.getNumLoops();
    unsigned keep = 0;
    int64_t trips = 1;
    while (!sequential && keep < n && trips < minTrips) {
      APInt lb, ub, step;
      bool known =
          matchPattern(loop.getLowerBound()[keep], m_ConstantInt(&lb)) &&
          matchPattern(loop.getUpperBound()[keep], m_ConstantInt(&ub)) &&
          matchPattern(loop.getStep()[keep], m_ConstantInt(&step)) &&
          step.getSExtValue() > 0;
      ++keep;
      if (!known)
        break; // A dynamic dimension: enough parallelism, presumably.
      trips = mulSat(
          trips, std::max<int64_t>(1, (ub.getSExtValue() - lb.getSExtValue() +
                                       step.getSExtValue() - 1) /
                                          step.getSExtValue()));
    }
    if (keep >= n)
      return;
    OpBuilder b(loop);
    Location loc = loop.getLoc();
    IRMapping map;
    Operation *outer = nullptr;
    if (keep > 0) {
      auto parallel =
          scf::ParallelOp::create(b, loc, loop.getLowerBound().take_front(keep),
                                  loop.getUpperBound().take_front(keep),
                                  loop.getStep().take_front(keep));
      b.setInsertionPointToStart(parallel.getBody());
      for (unsigned i = 0; i < keep; ++i)
        map.map(loop.getInductionVars()[i], parallel.getInductionVars()[i]);
      outer = parallel;
    }
    for (unsigned i = keep; i < n; ++i) {
      auto inner =
          scf::ForOp::create(b, loc, loop.getLowerBound()[i],
                             loop.getUpperBound()[i], loop.getStep()[i]);
      map.map(loop.getInductionVars()[i], inner.getInductionVar());
      if (!outer)
        outer = inner;
      b.setInsertionPointToStart(inner.getBody());
    }
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    if (keep > 0)
      outer->setAttrs(loop->getDiscardableAttrDictionary());
    loop.erase();
  }
};

struct LatheCPUSerializeSmallLoops
    : public lathe::impl::LatheCPUSerializeSmallLoopsBase<
          LatheCPUSerializeSmallLoops> {
  using Base::Base;

  void runOnOperation() override {
    if (minWork <= 0)
      return;
    SmallVector<omp::ParallelOp> regions;
    getOperation().walk([&](omp::ParallelOp parallel) {
      if (!parallel.getIfExpr() &&
          !parallel->getParentOfType<omp::ParallelOp>())
        regions.push_back(parallel);
    });
    for (omp::ParallelOp parallel : regions)
      serializeIfSmall(parallel);
  }

  void serializeIfSmall(omp::ParallelOp parallel) {
    omp::LoopNestOp nest;
    parallel.getRegion().walk([&](omp::LoopNestOp op) {
      if (!nest)
        nest = op;
      return WalkResult::interrupt();
    });
    if (!nest)
      return;
    Region *outside = parallel->getParentRegion();
    auto definedOutside = [&](Value v) {
      return v.getParentRegion()->isAncestor(outside) && v.getType().isIndex();
    };
    for (Value v : nest.getOperands())
      if (!definedOutside(v))
        return;
    SmallVector<scf::ForOp> dynamicLoops;
    int64_t body = estimateWork(nest.getRegion(), definedOutside, dynamicLoops);

    OpBuilder b(parallel);
    Location loc = parallel.getLoc();
    Value work = arith::ConstantIndexOp::create(b, loc, body);
    for (scf::ForOp loop : dynamicLoops) {
      Value span = b.createOrFold<arith::SubIOp>(loc, loop.getUpperBound(),
                                                 loop.getLowerBound());
      work = b.createOrFold<arith::MulIOp>(
          loc, work,
          b.createOrFold<arith::CeilDivSIOp>(loc, span, loop.getStep()));
    }
    bool inclusive = nest.getLoopInclusive();
    for (auto [lb, ub, step] :
         llvm::zip(nest.getLoopLowerBounds(), nest.getLoopUpperBounds(),
                   nest.getLoopSteps())) {
      // Trip count of a positive step: ceil((ub - lb) / step), or
      // (ub - lb) / step + 1 for an inclusive upper bound; <= 0: no work.
      Value span = b.createOrFold<arith::SubIOp>(loc, ub, lb);
      Value trips;
      if (inclusive) {
        Value q = b.createOrFold<arith::DivSIOp>(loc, span, step);
        trips = b.createOrFold<arith::AddIOp>(
            loc, q, arith::ConstantIndexOp::create(b, loc, 1));
      } else {
        trips = b.createOrFold<arith::CeilDivSIOp>(loc, span, step);
      }
      work = b.createOrFold<arith::MulIOp>(loc, work, trips);
    }
    Value big = b.createOrFold<arith::CmpIOp>(
        loc, arith::CmpIPredicate::sge, work,
        arith::ConstantIndexOp::create(b, loc, minWork));
    if (matchPattern(big, m_One()))
      return; // Always parallel: no clause.
    parallel.getIfExprMutable().assign(big);
  }
};

} // namespace
