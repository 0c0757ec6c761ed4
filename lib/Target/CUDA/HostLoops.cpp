//===- HostLoops.cpp - Host loops and scalar reads become GPU code --------===//
//
// lathe-cuda-host-loops: what the CPU target runs as host code on host
// memory (scf.for nests of loads and stores, scalar reads of a buffer) moves
// into scf.parallel loops and kernel bodies, which the `gpu` phase maps onto
// the device.
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CUDA/Passes.h"

#include "lathe/Target/CPU/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECUDAHOSTLOOPS
#include "lathe/Target/CUDA/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// True inside code that becomes a kernel (a linalg op's body or an
/// scf.parallel loop).
bool inKernel(Operation *op) {
  for (Operation *p = op->getParentOp(); p && !isa<func::FuncOp>(p);
       p = p->getParentOp())
    if (isa<linalg::LinalgOp, scf::ParallelOp>(p))
      return true;
  return false;
}

/// The buffer `v` is a view of (through view-like ops and casts).
Value rootOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
      v = view.getViewSource();
      continue;
    }
    if (auto cast = dyn_cast<memref::CastOp>(def)) {
      v = cast.getSource();
      continue;
    }
    break;
  }
  return v;
}

bool isScalar(Type t) { return t.isIntOrIndexOrFloat(); }

/// Whether `op` may run in a kernel as part of a host loop nest: loads,
/// stores, scalar arithmetic, structured control flow, views, index checks
/// and asserts.
bool isKernelOp(Operation *op) {
  if (isa<memref::LoadOp, memref::StoreOp, scf::ForOp, scf::IfOp, scf::YieldOp,
          cf::AssertOp, memref::CastOp>(op))
    return true;
  // A global only as an index check's message (lathe-cuda-index-checks
  // reads it on the host); constants read in the loop stay host code.
  if (isa<memref::GetGlobalOp>(op)) {
    auto isCheck = [](Operation *user) {
      auto call = dyn_cast<func::CallOp>(user);
      return call && call.getCallee() == kIndexCheckFailed;
    };
    return llvm::all_of(op->getUsers(), [&](Operation *user) {
      if (isa<memref::CastOp>(user))
        return llvm::all_of(user->getUsers(), isCheck);
      return isCheck(user);
    });
  }
  if (auto call = dyn_cast<func::CallOp>(op))
    return call.getCallee() == kIndexCheckFailed;
  if (isa<ViewLikeOpInterface>(op))
    return isPure(op);
  return op->getNumRegions() == 0 && isPure(op) &&
         llvm::all_of(op->getResultTypes(), isScalar);
}

/// Whether `v` is available before `nest` (not defined inside it).
bool definedOutside(Value v, Operation *nest) {
  return !nest->isAncestor(v.getParentBlock()->getParentOp());
}

/// The perfect nest of loops without iteration arguments from `outer` down.
SmallVector<scf::ForOp> bandOf(scf::ForOp outer) {
  SmallVector<scf::ForOp> band = {outer};
  for (;;) {
    Block *body = band.back().getBody();
    if (body->getOperations().size() != 2)
      break;
    auto inner = dyn_cast<scf::ForOp>(body->front());
    if (!inner || inner.getNumRegionIterArgs() != 0)
      break;
    band.push_back(inner);
  }
  return band;
}

/// `index` is `iv` or `iv + c` with c constant or defined outside `nest`.
bool isShiftOf(Value index, Value iv, Operation *nest) {
  if (index == iv)
    return true;
  auto add = index.getDefiningOp<arith::AddIOp>();
  if (!add)
    return false;
  auto invariant = [&](Value v) {
    return definedOutside(v, nest) || matchPattern(v, m_Constant());
  };
  return (add.getLhs() == iv && invariant(add.getRhs())) ||
         (add.getRhs() == iv && invariant(add.getLhs()));
}

/// Which loops of `band` can run in parallel: every buffer the nest writes
/// is a local allocation, all its accesses use one memref value and one
/// index list, and that list holds the loop's induction variable (shifted
/// by an invariant) at a position of its own; the loop's bounds are
/// invariant. Empty when any write breaks the rule.
SmallVector<bool> parallelLoops(ArrayRef<scf::ForOp> band) {
  Operation *nest = band.front();
  SmallVector<bool> parallel(band.size(), false);
  // The one (memref, indices) each written root is accessed with.
  llvm::MapVector<Value, Operation *> access;
  bool ok = true;
  nest->walk([&](memref::StoreOp store) {
    Value root = rootOf(store.getMemref());
    if (!root.getDefiningOp<memref::AllocOp>())
      ok = false;
    access.insert({root, store});
  });
  nest->walk([&](Operation *op) {
    if (isa<memref::AtomicRMWOp>(op))
      ok = false;
    Value memref;
    ValueRange indices;
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      memref = load.getMemref();
      indices = load.getIndices();
    } else if (auto store = dyn_cast<memref::StoreOp>(op)) {
      memref = store.getMemref();
      indices = store.getIndices();
    } else {
      return;
    }
    auto it = access.find(rootOf(memref));
    if (it == access.end())
      return;
    auto first = cast<memref::StoreOp>(it->second);
    if (first.getMemref() != memref ||
        !llvm::equal(first.getIndices(), indices))
      ok = false;
  });
  if (!ok)
    return {};
  for (auto [i, constLoop] : llvm::enumerate(band)) {
    scf::ForOp loop = constLoop;
    bool invariant = llvm::all_of(
        ValueRange{loop.getLowerBound(), loop.getUpperBound(), loop.getStep()},
        [&](Value v) {
          return definedOutside(v, nest) || matchPattern(v, m_Constant());
        });
    parallel[i] = invariant;
  }
  // Each parallel loop owns a position of every written index list that
  // holds its variable (shifted): iterations that differ in it differ there.
  for (auto &entry : access) {
    auto store = cast<memref::StoreOp>(entry.second);
    SmallVector<int> owner(store.getIndices().size(), -1);
    for (auto [i, constLoop] : llvm::enumerate(band)) {
      scf::ForOp loop = constLoop;
      if (!parallel[i])
        continue;
      bool own = false;
      for (auto [pos, index] : llvm::enumerate(store.getIndices()))
        if (owner[pos] == -1 &&
            isShiftOf(index, loop.getInductionVar(), nest)) {
          owner[pos] = int(i);
          own = true;
          break;
        }
      parallel[i] = own;
    }
  }
  return parallel;
}

/// `v` at the builder's point: itself, or a clone of the constant defining
/// it inside the nest.
Value hoisted(OpBuilder &b, Value v, Operation *nest) {
  if (definedOutside(v, nest))
    return v;
  return b.clone(*v.getDefiningOp())->getResult(0);
}

/// Makes the nest at `outer` an scf.parallel over its independent loops (or
/// one iteration when there is none).
void parallelize(scf::ForOp outer, IRRewriter &rewriter) {
  SmallVector<scf::ForOp> band = bandOf(outer);
  SmallVector<bool> parallel = parallelLoops(band);
  Location loc = outer.getLoc();
  rewriter.setInsertionPoint(outer);
  SmallVector<Value> lbs, ubs, steps;
  SmallVector<scf::ForOp> loops;
  for (auto [i, loop] : llvm::enumerate(band)) {
    if (parallel.empty() || !parallel[i])
      continue;
    loops.push_back(loop);
    lbs.push_back(hoisted(rewriter, loop.getLowerBound(), outer));
    ubs.push_back(hoisted(rewriter, loop.getUpperBound(), outer));
    steps.push_back(hoisted(rewriter, loop.getStep(), outer));
  }
  if (loops.empty()) {
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    lbs = {c0};
    ubs = steps = {c1};
  }
  auto par = scf::ParallelOp::create(rewriter, loc, lbs, ubs, steps);
  outer->moveBefore(par.getBody()->getTerminator());
  for (auto [k, loop] : llvm::enumerate(loops)) {
    Block *body = loop.getBody();
    rewriter.eraseOp(body->getTerminator());
    rewriter.inlineBlockBefore(body, loop,
                               ValueRange{par.getInductionVars()[k]});
    rewriter.eraseOp(loop);
  }
}

/// Whether `outer` is a host nest this pass moves to the device.
bool isHostNest(scf::ForOp outer) {
  if (outer.getNumResults() != 0 || inKernel(outer))
    return false;
  bool allowed = true, touchesMemory = false;
  outer.getBody()->walk([&](Operation *op) {
    allowed = allowed && isKernelOp(op);
    touchesMemory = touchesMemory || isa<memref::LoadOp, memref::StoreOp>(op);
  });
  return allowed && touchesMemory;
}

/// Whether the function never writes the buffer `root` (only loads and views
/// of it, or reads as a linalg input).
bool isReadOnly(Value root) {
  SmallVector<Value> worklist = {root};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isa<memref::LoadOp>(user))
        continue;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == v) {
        worklist.push_back(user->getResult(0));
        continue;
      }
      if (auto cast = dyn_cast<memref::CastOp>(user)) {
        worklist.push_back(cast.getResult());
        continue;
      }
      auto linalgOp = dyn_cast<linalg::LinalgOp>(user);
      if (linalgOp && linalgOp.isDpsInput(&use))
        continue;
      return false;
    }
  }
  return true;
}

/// Clones host scalar loads of read-only buffers, and the scalar arithmetic
/// on them, into the kernels that use them.
void sinkScalarReads(func::FuncOp func, IRRewriter &rewriter) {
  // Host ops derived from such a load, in program order.
  SmallVector<Operation *> derived;
  llvm::SmallPtrSet<Operation *, 8> isDerived;
  func.walk([&](Operation *op) {
    if (inKernel(op) || op->getNumResults() != 1 ||
        !isScalar(op->getResult(0).getType()))
      return;
    bool source = false;
    if (auto load = dyn_cast<memref::LoadOp>(op))
      source = isReadOnly(rootOf(load.getMemref()));
    else if (op->getNumRegions() == 0 && isPure(op))
      source = llvm::any_of(op->getOperands(), [&](Value v) {
        return isDerived.contains(v.getDefiningOp());
      });
    if (source) {
      derived.push_back(op);
      isDerived.insert(op);
    }
  });
  for (Operation *op : llvm::reverse(derived)) {
    Value result = op->getResult(0);
    if (result.use_empty() ||
        !llvm::all_of(result.getUsers(),
                      [](Operation *u) { return inKernel(u); }))
      continue;
    // The outermost kernel op around each use, in order of first use.
    llvm::MapVector<Operation *, SmallVector<OpOperand *>> kernels;
    for (OpOperand &use : result.getUses()) {
      Operation *k = nullptr;
      for (Operation *p = use.getOwner()->getParentOp();
           p && !isa<func::FuncOp>(p); p = p->getParentOp())
        if (isa<linalg::LinalgOp, scf::ParallelOp>(p))
          k = p;
      kernels[k].push_back(&use);
    }
    for (auto &[kernel, uses] : kernels) {
      rewriter.setInsertionPointToStart(&kernel->getRegion(0).front());
      Operation *copy = rewriter.clone(*op);
      for (OpOperand *use : uses)
        use->set(copy->getResult(0));
    }
    rewriter.eraseOp(op);
  }
}

/// memref.reshape whose shape is a buffer host code fills with stores (a
/// bufferized tensor.from_elements of sizes: dynamic ONNX Reshapes) becomes
/// a memref.reinterpret_cast with those sizes and row-major strides, so that
/// no host code reads or writes the buffer.
void foldShapeBuffers(func::FuncOp func, IRRewriter &rewriter) {
  SmallVector<memref::ReshapeOp> reshapes;
  func.walk([&](memref::ReshapeOp op) { reshapes.push_back(op); });
  for (memref::ReshapeOp op : reshapes) {
    auto alloc = op.getShape().getDefiningOp<memref::AllocOp>();
    auto type = dyn_cast<MemRefType>(op.getResult().getType());
    auto sourceType = dyn_cast<MemRefType>(op.getSource().getType());
    if (!alloc || !type || !sourceType || !type.getLayout().isIdentity() ||
        !sourceType.getLayout().isIdentity() ||
        alloc.getType().getRank() != 1 ||
        alloc.getType().getDimSize(0) != type.getRank())
      continue;
    SmallVector<Value> sizes(type.getRank());
    SmallVector<Operation *> dead;
    bool ok = true;
    for (Operation *user : alloc->getUsers()) {
      if (user == op.getOperation())
        continue;
      dead.push_back(user);
      if (isa<memref::DeallocOp>(user))
        continue;
      auto store = dyn_cast<memref::StoreOp>(user);
      APInt at;
      ok = store && store.getMemref() == alloc &&
           matchPattern(store.getIndices()[0], m_ConstantInt(&at)) &&
           at.getSExtValue() >= 0 && at.getSExtValue() < type.getRank() &&
           !sizes[at.getSExtValue()] && store->getBlock() == op->getBlock() &&
           store->isBeforeInBlock(op);
      if (!ok)
        break;
      sizes[at.getSExtValue()] = store.getValueToStore();
    }
    if (!ok || llvm::is_contained(sizes, Value()))
      continue;
    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    SmallVector<OpFoldResult> sizeOfr, strideOfr(type.getRank());
    for (auto [i, size] : llvm::enumerate(sizes)) {
      if (!type.isDynamicDim(i)) {
        sizeOfr.push_back(rewriter.getIndexAttr(type.getDimSize(i)));
        continue;
      }
      if (!size.getType().isIndex())
        size = arith::IndexCastOp::create(rewriter, loc,
                                          rewriter.getIndexType(), size);
      sizeOfr.push_back(size);
    }
    auto [strides, offset] = type.getStridesAndOffset();
    // The product of the sizes inside dimension i, made where a dynamic
    // stride needs it.
    Value running;
    for (int64_t i = type.getRank() - 1; i >= 0; --i) {
      strideOfr[i] = ShapedType::isDynamic(strides[i])
                         ? OpFoldResult(running)
                         : OpFoldResult(rewriter.getIndexAttr(strides[i]));
      if (i == 0 || !ShapedType::isDynamic(strides[i - 1]))
        continue;
      running = arith::MulIOp::create(
          rewriter, loc,
          getValueOrCreateConstantIndexOp(rewriter, loc, strideOfr[i]),
          getValueOrCreateConstantIndexOp(rewriter, loc, sizeOfr[i]));
    }
    auto cast = memref::ReinterpretCastOp::create(
        rewriter, loc, type, op.getSource(), rewriter.getIndexAttr(offset),
        sizeOfr, strideOfr);
    rewriter.replaceOp(op, cast.getResult());
    for (Operation *user : dead)
      rewriter.eraseOp(user);
    rewriter.eraseOp(alloc);
  }
}

struct LatheCUDAHostLoops
    : public lathe::impl::LatheCUDAHostLoopsBase<LatheCUDAHostLoops> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<scf::ForOp> nests;
    func.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
      if (!isHostNest(loop))
        return WalkResult::advance();
      nests.push_back(loop);
      return WalkResult::skip();
    });
    IRRewriter rewriter(&getContext());
    for (scf::ForOp loop : nests)
      parallelize(loop, rewriter);
    foldShapeBuffers(func, rewriter);
    sinkScalarReads(func, rewriter);
  }
};

} // namespace
