//===- RuntimeChecks.cpp - Guards for data-dependent accesses and asserts -===//
//
// lathe-cpu-guard-indices: a tensor.extract or tensor.insert whose index is
// data (a token id read from an input, a Gather index) is checked against the
// size of its dimension. A failure calls lathe_rt_index_check_failed, which
// makes "<op> at <location>: index I out of range [0, n)" the pending error,
// and the access is skipped (an extract gives zero, an insert leaves the
// tensor as it is), so generated code never reads or writes out of bounds.
//
// lathe-cpu-lower-asserts: cf.assert becomes a call to lathe_rt_assert_failed
// on failure (upstream's lowering calls abort(): a signal, no message).
//
//===----------------------------------------------------------------------===//

#include "lathe/Target/CPU/Passes.h"

#include "lathe/Target/CPU/MessageTable.h"
#include "lathe/Target/CPU/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPUGUARDINDICES
#define GEN_PASS_DEF_LATHECPULOWERASSERTS
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

constexpr StringLiteral kAssertFailed = "lathe_rt_assert_failed";

//===----------------------------------------------------------------------===//
// Index guards
//===----------------------------------------------------------------------===//

/// True when `v` is computed from constants, sizes (tensor.dim, memref.dim),
/// loop indices (linalg.index, scf loop induction variables) and pure
/// arithmetic on them only: an index that does not depend on the data.
/// Whatever else (a value read from a tensor, a function argument, a call)
/// counts as data.
bool isDataIndependent(Value v, DenseMap<Value, bool> &memo, int depth = 0) {
  if (depth > 64)
    return false;
  auto it = memo.find(v);
  if (it != memo.end())
    return it->second;
  bool result = false;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    Operation *owner = arg.getOwner()->getParentOp();
    if (auto forOp = dyn_cast_or_null<scf::ForOp>(owner))
      result = arg == forOp.getInductionVar();
    else if (auto par = dyn_cast_or_null<scf::ParallelOp>(owner))
      result = llvm::is_contained(par.getInductionVars(), arg);
    else if (auto forall = dyn_cast_or_null<scf::ForallOp>(owner))
      result = llvm::is_contained(forall.getInductionVars(), arg);
  } else {
    Operation *def = v.getDefiningOp();
    if (matchPattern(v, m_Constant()) ||
        isa<linalg::IndexOp, tensor::DimOp, memref::DimOp>(def)) {
      result = true;
    } else if (isPure(def) && def->getNumRegions() == 0) {
      // Arithmetic on scalars; no tensor operand, so no read of data.
      result = llvm::all_of(def->getOperands(), [&](Value operand) {
        return !isa<ShapedType>(operand.getType()) &&
               isDataIndependent(operand, memo, depth + 1);
      });
    }
  }
  memo[v] = result;
  return result;
}

/// True when `n` is at most the size of dimension `k` of `tensor`: a
/// constant no larger than a static size, or `tensor.dim` of that dimension.
bool isAtMostSize(Value n, Value tensor, int64_t k) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(k))
    if (std::optional<int64_t> c = getConstantIntValue(n))
      return *c <= type.getDimSize(k);
  if (auto dim = n.getDefiningOp<tensor::DimOp>())
    return dim.getSource() == tensor && dim.getConstantIndex() == k;
  return false;
}

/// True when `cond` holding implies 0 <= `index` < size k of `tensor`: one of
/// its conjuncts (arith.andi) is `index ult n` (or `n ugt index`) with `n` at
/// most that size.
bool boundsIndex(Value cond, Value index, Value tensor, int64_t k) {
  if (auto andOp = cond.getDefiningOp<arith::AndIOp>())
    return boundsIndex(andOp.getLhs(), index, tensor, k) ||
           boundsIndex(andOp.getRhs(), index, tensor, k);
  auto cmp = cond.getDefiningOp<arith::CmpIOp>();
  if (!cmp)
    return false;
  if (cmp.getPredicate() == arith::CmpIPredicate::ult && cmp.getLhs() == index)
    return isAtMostSize(cmp.getRhs(), tensor, k);
  if (cmp.getPredicate() == arith::CmpIPredicate::ugt && cmp.getRhs() == index)
    return isAtMostSize(cmp.getLhs(), tensor, k);
  return false;
}

/// True when index `index` of dimension `k` of `tensor`, used by `access`, is
/// in range whatever the data: a constant in range, or the access sits in the
/// then-region of an scf.if whose condition bounds it (what this pass and the
/// ONNX importer emit; so the pass is idempotent).
bool isProvenInRange(Operation *access, Value tensor, int64_t k, Value index) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (std::optional<int64_t> c = getConstantIntValue(index))
    if (!type.isDynamicDim(k) && *c >= 0 && *c < type.getDimSize(k))
      return true;
  for (Operation *op = access; Operation *parent = op->getParentOp();
       op = parent) {
    if (auto ifOp = dyn_cast<scf::IfOp>(parent))
      if (op->getParentRegion() == &ifOp.getThenRegion() &&
          boundsIndex(ifOp.getCondition(), index, tensor, k))
        return true;
    if (isa<FunctionOpInterface>(parent))
      break;
  }
  return false;
}

/// "<op> at <file:line:col>" naming what an index error is about: the
/// enclosing linalg.generic if any, else the access itself.
std::string describeAccess(Operation *access) {
  Operation *op = access;
  if (auto generic = access->getParentOfType<linalg::GenericOp>())
    op = generic;
  std::string what = op->getName().getStringRef().str();
  Location loc = op->getLoc();
  std::string where;
  loc->walk([&](Location l) {
    if (auto file = dyn_cast<FileLineColLoc>(l)) {
      where = (file.getFilename().getValue() + ":" + Twine(file.getLine()) +
               ":" + Twine(file.getColumn()))
                  .str();
      return WalkResult::interrupt();
    }
    if (auto name = dyn_cast<NameLoc>(l)) {
      where = ("'" + name.getName().getValue() + "'").str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (!where.empty())
    what += (where.front() == '\'' ? " " : " at ") + where;
  return what;
}

/// Guards the data-dependent indices of a tensor.extract or tensor.insert
/// (`OpTy`) that nothing proves in range: checks each (calling the runtime on
/// a failure) and performs the access only when all hold.
template <typename OpTy> struct GuardIndices : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Value tensor;
    if constexpr (std::is_same_v<OpTy, tensor::ExtractOp>)
      tensor = op.getTensor();
    else
      tensor = op.getDest();
    auto type = cast<RankedTensorType>(tensor.getType());
    DenseMap<Value, bool> memo;
    SmallVector<int64_t> unchecked;
    for (auto [k, index] : llvm::enumerate(op.getIndices()))
      if (!isDataIndependent(index, memo) &&
          !isProvenInRange(op, tensor, k, index))
        unchecked.push_back(k);
    if (unchecked.empty())
      return failure();
    Type elt = type.getElementType();
    if constexpr (std::is_same_v<OpTy, tensor::ExtractOp>)
      if (!isa<IntegerType, IndexType, FloatType>(elt))
        return rewriter.notifyMatchFailure(op, "no zero of the element type");

    Location loc = op.getLoc();
    std::string what = describeAccess(op);
    auto module = op->template getParentOfType<ModuleOp>();
    MessageTable messages(module);
    auto i64 = rewriter.getI64Type();
    Value ok;
    for (int64_t k : unchecked) {
      Value index = op.getIndices()[k];
      Value size = type.isDynamicDim(k)
                       ? (Value)tensor::DimOp::create(rewriter, loc, tensor, k)
                       : (Value)arith::ConstantIndexOp::create(
                             rewriter, loc, type.getDimSize(k));
      Value inRange = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::ult, index, size);
      Value bad = arith::XOrIOp::create(
          rewriter, loc, inRange,
          arith::ConstantOp::create(rewriter, loc, rewriter.getBoolAttr(true)));
      scf::IfOp::create(rewriter, loc, bad, [&](OpBuilder &b, Location l) {
        emitRuntimeCall(module, b, l, kIndexCheckFailed,
                        {messages.get(b, l, what),
                         arith::IndexCastOp::create(b, l, i64, index),
                         arith::ConstantIntOp::create(b, l, 0, 64),
                         arith::IndexCastOp::create(b, l, i64, size)});
        scf::YieldOp::create(b, l);
      });
      ok = ok ? arith::AndIOp::create(rewriter, loc, ok, inRange).getResult()
              : inRange;
    }

    // The access moves into the then-region, where `ok` bounds its indices.
    Type resultType = op.getResult().getType();
    auto ifOp = scf::IfOp::create(rewriter, loc, TypeRange{resultType}, ok,
                                  /*withElseRegion=*/true);
    rewriter.setInsertionPointToStart(ifOp.elseBlock());
    Value fallback;
    if constexpr (std::is_same_v<OpTy, tensor::ExtractOp>)
      fallback = arith::ConstantOp::create(
          rewriter, loc, cast<TypedAttr>(rewriter.getZeroAttr(elt)));
    else
      fallback = op.getDest();
    scf::YieldOp::create(rewriter, loc, fallback);
    rewriter.setInsertionPointToStart(ifOp.thenBlock());
    auto yield = scf::YieldOp::create(rewriter, loc, op.getResult());
    rewriter.replaceAllUsesExcept(op.getResult(), ifOp.getResult(0), yield);
    rewriter.moveOpBefore(op, yield);
    return success();
  }
};

struct LatheCPUGuardIndices
    : public lathe::impl::LatheCPUGuardIndicesBase<LatheCPUGuardIndices> {
  void runOnOperation() override {
    auto countGuards = [&] {
      unsigned guards = 0;
      getOperation().walk([&](func::CallOp call) {
        guards += call.getCallee() == kIndexCheckFailed;
      });
      return guards;
    };
    unsigned before = countGuards();
    RewritePatternSet patterns(&getContext());
    populateGuardIndicesPatterns(patterns);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    numGuards += countGuards() - before;
  }
};

} // namespace

void mlir::lathe::populateGuardIndicesPatterns(RewritePatternSet &patterns) {
  patterns.add<GuardIndices<tensor::ExtractOp>, GuardIndices<tensor::InsertOp>>(
      patterns.getContext());
}

namespace {

//===----------------------------------------------------------------------===//
// cf.assert
//===----------------------------------------------------------------------===//

struct LatheCPULowerAsserts
    : public lathe::impl::LatheCPULowerAssertsBase<LatheCPULowerAsserts> {
  void runOnOperation() override {
    MessageTable messages(getOperation());
    SmallVector<cf::AssertOp> asserts;
    getOperation().walk([&](cf::AssertOp op) { asserts.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (cf::AssertOp op : asserts) {
      Location loc = op.getLoc();
      // A longjmp out of a parallel loop would leave the other threads of
      // the loop waiting: there the runtime prints and exits instead.
      bool inParallelLoop = op->getParentOfType<scf::ParallelOp>() ||
                            op->getParentOfType<scf::ForallOp>() ||
                            op->getParentOfType<omp::ParallelOp>() ||
                            op->getParentOfType<omp::WsloopOp>();
      rewriter.setInsertionPoint(op);
      Value bad = arith::XOrIOp::create(
          rewriter, loc, op.getArg(),
          arith::ConstantOp::create(rewriter, loc, rewriter.getBoolAttr(true)));
      scf::IfOp::create(rewriter, loc, bad, [&](OpBuilder &b, Location l) {
        emitRuntimeCall(getOperation(), b, l, kAssertFailed,
                        {messages.get(b, l, op.getMsg())}, {inParallelLoop});
        scf::YieldOp::create(b, l);
      });
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
