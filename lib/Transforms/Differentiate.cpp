//===- Differentiate.cpp - Reverse-mode AD of tensor-level functions ------===//
//
// `lathe-differentiate` turns a function that computes a scalar loss
// (`tensor<f32>` or `f32`) from parameters (arguments marked `lathe.param`)
// and a batch into `@<name>_grad`, which returns the loss and then the
// gradient of each parameter, in argument order. It works on linalg/tensor IR
// before kernel formation, so the backward graph is compiled by the same
// pipeline as the forward one.
//
// Structure: an activity analysis (values that depend on a parameter), then a
// reverse sweep over the function's top-level ops. Every linalg structured op
// (named or generic) is differentiated from its indexing maps and its scalar
// body, by one rule: the gradient of input i is a linalg.generic over the
// forward iteration space whose output is indexed by input i's map; the loops
// that map does not use become reductions (so broadcasts sum, and a matmul's
// backward is a matmul, with the reduction innermost as kernel formation
// wants), and the body is the forward body followed by its scalar reverse
// sweep (derivatives of arith/math ops). Reductions must combine with addf
// (sum) or max/min (the gradient goes to the elements equal to the result).
// linalg.softmax, the tensor reshaping/slicing ops and memred attention
// (memred.attention_grad, scores recomputed block by block) have their own
// rules.
// An op the pass cannot differentiate is an error naming it, never a wrong
// gradient.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/MemRed/MemRedOps.h"
#include "lathe/Transforms/Passes.h"

#include "lathe/Dialect/SeqShard/SeqShardOps.h"
#include "lathe/Dialect/SparseGCN/SparseGCNOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/TypeSwitch.h"

#include "llvm/Support/MathExtras.h"
#include <cmath>
#include <cstring>

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHEDIFFERENTIATE
#include "lathe/Transforms/Passes.h.inc"
} // namespace mlir::lathe

#define DEBUG_TYPE "lathe-differentiate"

using namespace mlir;

namespace {

constexpr StringLiteral kParamAttr = "lathe.param";

bool isFloatTensor(Type t) {
  auto tt = dyn_cast<RankedTensorType>(t);
  return tt && isa<FloatType>(tt.getElementType());
}

Value floatConst(OpBuilder &b, Location loc, Type t, double v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, v));
}

/// Zeros shaped like `like` (a ranked tensor).
Value zerosLike(OpBuilder &b, Location loc, Value like) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  Value zero = floatConst(b, loc, type.getElementType(), 0.0);
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// a + b, element-wise, for two tensors of one type.
Value addTensors(OpBuilder &b, Location loc, Value x, Value y) {
  auto type = cast<RankedTensorType>(x.getType());
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> it(type.getRank(),
                                      utils::IteratorType::parallel);
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x),
                                       type.getElementType());
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{x, y}, ValueRange{init},
             SmallVector<AffineMap>{id, id, id}, it,
             [](OpBuilder &nb, Location nl, ValueRange a) {
               linalg::YieldOp::create(
                   nb, nl,
                   arith::AddFOp::create(nb, nl, a[0], a[1]).getResult());
             })
      .getResult(0);
}

/// The extract of `scf.if %ok -> T { tensor.extract ...; yield } else {
/// yield constant }`: a read guarded by an index check, as the ONNX importer
/// writes gathers. Null for any other scf.if.
tensor::ExtractOp guardedExtract(scf::IfOp ifOp) {
  if (ifOp.getNumResults() != 1 || ifOp.getElseRegion().empty())
    return {};
  Block &thenBlock = ifOp.getThenRegion().front();
  Block &elseBlock = ifOp.getElseRegion().front();
  // The else branch's constant may have been hoisted out of the body (by a
  // greedy rewrite's folding).
  if (!llvm::hasNItems(thenBlock, 2) ||
      !(llvm::hasNItems(elseBlock, 2) || llvm::hasNItems(elseBlock, 1)))
    return {};
  auto extract = dyn_cast<tensor::ExtractOp>(thenBlock.front());
  auto thenYield = cast<scf::YieldOp>(thenBlock.getTerminator());
  auto elseYield = cast<scf::YieldOp>(elseBlock.getTerminator());
  if (!extract || thenYield.getOperand(0) != extract.getResult() ||
      !isa_and_nonnull<arith::ConstantOp>(
          elseYield.getOperand(0).getDefiningOp()))
    return {};
  return extract;
}

/// Reverse-mode differentiation of the scalar ops of one linalg body.
class ScalarAdjoints {
public:
  ScalarAdjoints(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  /// Propagates `seed` (the adjoint of `root`) back through `ops` (in
  /// program order, already in the builder's block). Fails, naming the op,
  /// on a scalar op without a derivative rule.
  LogicalResult run(ArrayRef<Operation *> ops, Value root, Value seed) {
    add(root, seed);
    for (Operation *op : llvm::reverse(ops)) {
      if (op->getNumResults() != 1)
        continue;
      Value r = op->getResult(0);
      auto it = adj.find(r);
      if (it == adj.end() || !isa<FloatType>(r.getType()))
        continue;
      if (failed(backprop(op, it->second)))
        return failure();
    }
    return success();
  }

  /// The adjoint of `v`, or null when nothing flowed into it.
  Value get(Value v) const { return adj.lookup(v); }

private:
  void add(Value v, Value g) {
    if (!isa<FloatType>(v.getType()))
      return;
    auto [it, inserted] = adj.try_emplace(v, g);
    if (!inserted)
      it->second = arith::AddFOp::create(b, loc, it->second, g);
  }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value neg(Value x) { return arith::NegFOp::create(b, loc, x); }
  Value cst(Value like, double v) {
    return floatConst(b, loc, like.getType(), v);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value cmp(arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, loc, p, x, y);
  }

  LogicalResult backprop(Operation *op, Value g) {
    Value r = op->getResult(0);
    auto operand = [&](unsigned i) { return op->getOperand(i); };
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case<arith::AddFOp>([&](auto) {
          add(operand(0), g);
          add(operand(1), g);
          return success();
        })
        .Case<arith::SubFOp>([&](auto) {
          add(operand(0), g);
          add(operand(1), neg(g));
          return success();
        })
        .Case<arith::MulFOp>([&](auto) {
          add(operand(0), mul(g, operand(1)));
          add(operand(1), mul(g, operand(0)));
          return success();
        })
        .Case<arith::DivFOp>([&](auto) {
          Value q = div(g, operand(1));
          add(operand(0), q);
          add(operand(1), neg(mul(q, r)));
          return success();
        })
        .Case<arith::NegFOp>([&](auto) {
          add(operand(0), neg(g));
          return success();
        })
        .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](auto) {
          // The first operand wins only where it is strictly greater, so
          // relu = max(x, 0) has gradient 0 at 0, as in PyTorch.
          Value zero = cst(g, 0.0);
          Value first = cmp(arith::CmpFPredicate::OGT, operand(0), operand(1));
          add(operand(0), select(first, g, zero));
          add(operand(1), select(first, zero, g));
          return success();
        })
        .Case<arith::MinimumFOp, arith::MinNumFOp>([&](auto) {
          Value zero = cst(g, 0.0);
          Value first = cmp(arith::CmpFPredicate::OLT, operand(0), operand(1));
          add(operand(0), select(first, g, zero));
          add(operand(1), select(first, zero, g));
          return success();
        })
        .Case<arith::SelectOp>([&](auto) {
          Value zero = cst(g, 0.0);
          add(operand(1), select(operand(0), g, zero));
          add(operand(2), select(operand(0), zero, g));
          return success();
        })
        .Case<arith::ExtFOp, arith::TruncFOp>([&](auto) {
          Type t = operand(0).getType();
          Value c = isa<arith::ExtFOp>(op)
                        ? arith::TruncFOp::create(b, loc, t, g).getResult()
                        : arith::ExtFOp::create(b, loc, t, g).getResult();
          add(operand(0), c);
          return success();
        })
        .Case<math::ExpOp>([&](auto) {
          add(operand(0), mul(g, r));
          return success();
        })
        .Case<math::Exp2Op>([&](auto) {
          add(operand(0), mul(g, mul(r, cst(g, llvm::numbers::ln2))));
          return success();
        })
        .Case<math::ExpM1Op>([&](auto) {
          add(operand(0), mul(g, arith::AddFOp::create(b, loc, r, cst(g, 1))));
          return success();
        })
        .Case<math::LogOp>([&](auto) {
          add(operand(0), div(g, operand(0)));
          return success();
        })
        .Case<math::Log1pOp>([&](auto) {
          add(operand(0),
              div(g, arith::AddFOp::create(b, loc, operand(0), cst(g, 1))));
          return success();
        })
        .Case<math::TanhOp>([&](auto) {
          Value one = cst(g, 1.0);
          add(operand(0),
              mul(g, arith::SubFOp::create(b, loc, one, mul(r, r))));
          return success();
        })
        .Case<math::SqrtOp>([&](auto) {
          add(operand(0), div(mul(g, cst(g, 0.5)), r));
          return success();
        })
        .Case<math::RsqrtOp>([&](auto) {
          add(operand(0), mul(g, mul(cst(g, -0.5), mul(r, mul(r, r)))));
          return success();
        })
        .Case<math::ErfOp>([&](auto) {
          Value x = operand(0);
          Value e = math::ExpOp::create(b, loc, neg(mul(x, x)));
          add(operand(0),
              mul(g, mul(cst(g, llvm::numbers::inv_sqrtpi * 2.0), e)));
          return success();
        })
        .Case<math::AbsFOp>([&](auto) {
          Value negative =
              cmp(arith::CmpFPredicate::OLT, operand(0), cst(g, 0.0));
          add(operand(0), select(negative, neg(g), g));
          return success();
        })
        .Case<math::PowFOp>([&](auto) {
          Value x = operand(0), y = operand(1);
          Value ym1 = arith::SubFOp::create(b, loc, y, cst(g, 1.0));
          add(x, mul(g, mul(y, math::PowFOp::create(b, loc, x, ym1))));
          add(y, mul(g, mul(r, math::LogOp::create(b, loc, x))));
          return success();
        })
        .Case<math::FmaOp>([&](auto) {
          add(operand(0), mul(g, operand(1)));
          add(operand(1), mul(g, operand(0)));
          add(operand(2), g);
          return success();
        })
        .Case<math::SinOp>([&](auto) {
          add(operand(0), mul(g, math::CosOp::create(b, loc, operand(0))));
          return success();
        })
        .Case<math::CosOp>([&](auto) {
          add(operand(0), neg(mul(g, math::SinOp::create(b, loc, operand(0)))));
          return success();
        })
        .Case<arith::ConstantOp, arith::SIToFPOp, arith::UIToFPOp,
              tensor::ExtractOp>([&](auto) {
          // No float operand to reach: a read of a captured tensor is
          // differentiated by the caller (a scatter into its gradient).
          return success();
        })
        .Case<scf::IfOp>([&](scf::IfOp ifOp) {
          if (guardedExtract(ifOp))
            return success(); // A guarded read: as tensor.extract.
          return LogicalResult(ifOp.emitError(
              "lathe-differentiate: no derivative for an 'scf.if' other than "
              "a guarded read in the body of a linalg op"));
        })
        .Default([&](Operation *other) {
          return other->emitError("lathe-differentiate: no derivative for '")
                 << other->getName()
                 << "' in the body of a linalg op (supported: arith "
                    "add/sub/mul/div/neg/max/min/select/extf/truncf, math "
                    "exp/exp2/expm1/log/log1p/tanh/sqrt/rsqrt/erf/absf/powf/"
                    "fma/sin/cos)";
        });
  }

  OpBuilder &b;
  Location loc;
  DenseMap<Value, Value> adj;
};

/// How a structured op combines its body's value with the output.
enum class Combiner { None, Add, Max, Min };

/// A read of a captured tensor inside a linalg body, possibly guarded.
struct Read {
  mutable tensor::ExtractOp extract;
  mutable scf::IfOp guard;
};

class Differentiator {
public:
  Differentiator(func::FuncOp fn) : fn(fn), b(fn.getContext()) {}

  LogicalResult run() {
    Block &body = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    markActive(body);
    Value loss = ret.getOperand(0);
    b.setInsertionPoint(ret);
    Location loc = ret.getLoc();
    Value seed;
    if (auto t = dyn_cast<RankedTensorType>(loss.getType()))
      seed = arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(t, b.getFloatAttr(t.getElementType(), 1.0)));
    else
      seed = floatConst(b, loc, loss.getType(), 1.0);
    adjoints[loss] = seed;
    SmallVector<Operation *> forward;
    for (Operation &op : body.without_terminator())
      forward.push_back(&op);
    for (Operation *op : llvm::reverse(forward)) {
      if (llvm::none_of(op->getResults(),
                        [&](Value r) { return adjoints.count(r); }))
        continue;
      // Operands, and values the op's regions capture (a gather's table).
      bool readsActive = false;
      op->walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          readsActive |= active.contains(v);
      });
      if (!readsActive)
        continue;
      if (failed(backprop(op)))
        return failure();
    }
    SmallVector<Value> results = {loss};
    for (BlockArgument arg : fn.getArguments()) {
      if (!fn.getArgAttr(arg.getArgNumber(), kParamAttr))
        continue;
      Value g = adjoints.lookup(arg);
      results.push_back(g ? g : zerosLike(b, loc, arg));
    }
    if (failed(sumOverRanks(body, forward, results)))
      return failure();
    func::ReturnOp::create(b, loc, results);
    ret.erase();
    for (Operation *op : replacedForward)
      op->erase();
    SmallVector<Type> types;
    for (Value v : results)
      types.push_back(v.getType());
    fn.setFunctionType(
        FunctionType::get(fn.getContext(), fn.getArgumentTypes(), types));
    return success();
  }

  int64_t numBackwardOps = 0;

private:
  /// In a function sharded over a grid (seqshard-ulysses), each rank's
  /// computation before the all-gather covers its own positions, so the
  /// gradient of a parameter read there is a partial sum: add the ranks'
  /// partial sums. A value is rank-varying when it derives from the process
  /// index or an all-to-all, and replicated after an all-gather or
  /// all-reduce; gradients computed from replicated values only are already
  /// whole on every rank and are left alone. A parameter read by both kinds
  /// of computation is rejected: its replicated part would be counted P
  /// times.
  LogicalResult sumOverRanks(Block &body, ArrayRef<Operation *> forward,
                             MutableArrayRef<Value> results) {
    FlatSymbolRefAttr grid;
    body.walk([&](Operation *op) {
      if (auto p = dyn_cast<shard::ProcessLinearIndexOp>(op))
        grid = p.getGridAttr();
    });
    if (!grid)
      return success();
    auto gridOp = SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(fn, grid);
    if (!gridOp || gridOp.getRank() != 1)
      return fn.emitError("lathe-differentiate: summing gradients over the "
                          "ranks needs a one-dimensional grid, got @")
             << grid.getValue();
    DenseSet<Value> varying;
    for (Operation &op : body) {
      if (isa<shard::AllGatherOp, shard::AllReduceOp>(op))
        continue;
      bool any =
          isa<shard::ProcessLinearIndexOp, shard::ProcessMultiIndexOp,
              lathe::seqshard::ScatterHeadsOp, lathe::seqshard::GatherHeadsOp>(
              op);
      op.walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          any |= varying.contains(v);
      });
      if (any)
        varying.insert(op.getResults().begin(), op.getResults().end());
    }
    for (BlockArgument arg : fn.getArguments()) {
      if (!fn.getArgAttr(arg.getArgNumber(), kParamAttr))
        continue;
      bool inSharded = false, inReplicated = false;
      for (Operation *user : arg.getUsers()) {
        Operation *top = body.findAncestorOpInBlock(*user);
        if (!top || top->getNumResults() == 0 ||
            !llvm::is_contained(forward, top))
          continue;
        (varying.contains(top->getResult(0)) ? inSharded : inReplicated) = true;
      }
      if (inSharded && inReplicated)
        return fn.emitError("lathe-differentiate: parameter #")
               << arg.getArgNumber()
               << " is read both by sequence-sharded and by replicated "
                  "computation; its gradient cannot be summed over the ranks";
    }
    Location loc = fn.getLoc();
    for (Value &g : llvm::drop_begin(results))
      if (varying.contains(g))
        g = shard::AllReduceOp::create(b, loc, g.getType(), grid.getValue(),
                                       ArrayRef<int16_t>{0}, g,
                                       shard::ReductionKind::Sum)
                .getResult();
    return success();
  }

  void markActive(Block &body) {
    for (BlockArgument arg : body.getArguments())
      if (fn.getArgAttr(arg.getArgNumber(), kParamAttr))
        active.insert(arg);
    for (Operation &op : body) {
      bool any = false;
      op.walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          any |= active.contains(v);
      });
      if (any)
        for (Value r : op.getResults())
          if (isa<FloatType>(getElementTypeOrSelf(r.getType())))
            active.insert(r);
    }
  }

  void addAdjoint(Value v, Value g) {
    if (!active.contains(v))
      return;
    auto [it, inserted] = adjoints.try_emplace(v, g);
    if (!inserted)
      it->second = addTensors(b, g.getLoc(), it->second, g);
  }

  LogicalResult unsupported(Operation *op, const Twine &why) {
    return op->emitError("lathe-differentiate: cannot differentiate '")
           << op->getName() << "': " << why;
  }

  LogicalResult backprop(Operation *op) {
    Location loc = op->getLoc();
    if (auto sm = dyn_cast<linalg::SoftmaxOp>(op))
      return backpropSoftmax(sm);
    if (auto attn = dyn_cast<lathe::memred::AttentionOp>(op))
      return backpropAttention(attn, 0, 0);
    if (auto attn = dyn_cast<lathe::memred::ChunkedAttentionOp>(op))
      return backpropAttention(attn, attn.getQChunkSize(),
                               attn.getKvChunkSize());
    if (isa<linalg::FillOp>(op))
      return success(); // Gradient of a fill value: not a tensor parameter.
    if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op);
        conv && convRuleApplies(conv))
      return backpropConv(conv);
    if (auto pool = dyn_cast<linalg::PoolingNchwMaxOp>(op);
        pool && maxPoolRuleApplies(pool))
      return backpropMaxPool(pool);
    if (auto lop = dyn_cast<linalg::LinalgOp>(op))
      return backpropLinalg(lop);
    if (isa<lathe::sparsegcn::AggregateOp, lathe::sparsegcn::TiledAggregateOp>(
            op))
      return backpropAggregate(op);
    Value g =
        op->getNumResults() == 1 ? adjoints.lookup(op->getResult(0)) : Value();
    if (auto cast = dyn_cast<tensor::CastOp>(op)) {
      addAdjoint(cast.getSource(),
                 tensor::CastOp::create(b, loc, cast.getSource().getType(), g));
      return success();
    }
    if (auto ex = dyn_cast<tensor::ExpandShapeOp>(op)) {
      addAdjoint(ex.getSrc(),
                 tensor::CollapseShapeOp::create(b, loc, ex.getSrcType(), g,
                                                 ex.getReassociationIndices()));
      return success();
    }
    if (auto co = dyn_cast<tensor::CollapseShapeOp>(op)) {
      SmallVector<OpFoldResult> sizes =
          tensor::getMixedSizes(b, loc, co.getSrc());
      addAdjoint(co.getSrc(), tensor::ExpandShapeOp::create(
                                  b, loc, co.getSrcType(), g,
                                  co.getReassociationIndices(), sizes));
      return success();
    }
    if (auto ex = dyn_cast<tensor::ExtractSliceOp>(op)) {
      Value zeros = zerosLike(b, loc, ex.getSource());
      addAdjoint(ex.getSource(), tensor::InsertSliceOp::create(
                                     b, loc, g, zeros, ex.getMixedOffsets(),
                                     ex.getMixedSizes(), ex.getMixedStrides()));
      return success();
    }
    if (auto ins = dyn_cast<tensor::InsertSliceOp>(op)) {
      if (active.contains(ins.getSource()))
        addAdjoint(ins.getSource(),
                   tensor::ExtractSliceOp::create(
                       b, loc, ins.getSourceType(), g, ins.getMixedOffsets(),
                       ins.getMixedSizes(), ins.getMixedStrides()));
      if (active.contains(ins.getDest()))
        addAdjoint(ins.getDest(),
                   tensor::InsertSliceOp::create(
                       b, loc, zerosLike(b, loc, ins.getSource()), g,
                       ins.getMixedOffsets(), ins.getMixedSizes(),
                       ins.getMixedStrides()));
      return success();
    }
    // Every rank holds the whole gathered value and computes the same loss
    // from it; its own block of the gradient is what flows back into its
    // (sequence-sharded) computation.
    if (auto ag = dyn_cast<shard::AllGatherOp>(op)) {
      auto gridOp = SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(
          op, ag.getGridAttr());
      if (!gridOp || gridOp.getRank() != 1 ||
          ag.getGridAxes() != ArrayRef<int16_t>{0})
        return unsupported(op, "only an all-gather over a one-dimensional "
                               "grid is supported");
      auto inType = cast<RankedTensorType>(ag.getInput().getType());
      int64_t axis = ag.getGatherAxis().getSExtValue();
      Value rank =
          shard::ProcessLinearIndexOp::create(b, loc, ag.getGridAttr());
      SmallVector<OpFoldResult> offsets(inType.getRank(), b.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes,
          ones(inType.getRank(), b.getIndexAttr(1));
      for (int64_t d : inType.getShape())
        sizes.push_back(b.getIndexAttr(d));
      offsets[axis] =
          arith::MulIOp::create(
              b, loc, rank,
              arith::ConstantIndexOp::create(b, loc, inType.getDimSize(axis)))
              .getResult();
      addAdjoint(ag.getInput(), tensor::ExtractSliceOp::create(
                                    b, loc, inType, g, offsets, sizes, ones));
      return success();
    }
    // The Ulysses all-to-alls permute data across the ranks: the adjoint of
    // a permutation is its inverse, the all-to-all with the axes swapped.
    if (auto sc = dyn_cast<lathe::seqshard::ScatterHeadsOp>(op)) {
      if (sc.getQueryHeads())
        return unsupported(op, "grouped-query key/value heads");
      addAdjoint(sc.getInput(),
                 lathe::seqshard::GatherHeadsOp::create(
                     b, loc, sc.getInput().getType(), g, sc.getGridAttr(),
                     sc.getGridAxesAttr(), sc.getLayoutAttr(), IntegerAttr()));
      return success();
    }
    if (auto ga = dyn_cast<lathe::seqshard::GatherHeadsOp>(op)) {
      addAdjoint(ga.getInput(),
                 lathe::seqshard::ScatterHeadsOp::create(
                     b, loc, ga.getInput().getType(), g, ga.getGridAttr(),
                     ga.getGridAxesAttr(), ga.getLayoutAttr(), IntegerAttr()));
      return success();
    }
    if (auto pad = dyn_cast<tensor::PadOp>(op)) {
      if (active.contains(pad.getConstantPaddingValue()))
        return unsupported(op, "the padding value depends on a parameter");
      if (!pad.getConstantPaddingValue())
        return unsupported(op, "only constant padding is supported");
      SmallVector<OpFoldResult> sizes =
          tensor::getMixedSizes(b, loc, pad.getSource());
      SmallVector<OpFoldResult> ones(sizes.size(), b.getIndexAttr(1));
      addAdjoint(pad.getSource(), tensor::ExtractSliceOp::create(
                                      b, loc, pad.getSourceType(), g,
                                      pad.getMixedLowPad(), sizes, ones));
      return success();
    }
    if (auto concat = dyn_cast<tensor::ConcatOp>(op)) {
      int64_t dim = concat.getDim();
      OpFoldResult offset = b.getIndexAttr(0);
      for (Value in : concat.getInputs()) {
        SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, in);
        SmallVector<OpFoldResult> offsets(sizes.size(), b.getIndexAttr(0));
        SmallVector<OpFoldResult> ones(sizes.size(), b.getIndexAttr(1));
        offsets[dim] = offset;
        if (active.contains(in))
          addAdjoint(in, tensor::ExtractSliceOp::create(
                             b, loc, cast<RankedTensorType>(in.getType()), g,
                             offsets, sizes, ones));
        std::optional<int64_t> o = getConstantIntValue(offset),
                               s = getConstantIntValue(sizes[dim]);
        if (o && s)
          offset = b.getIndexAttr(*o + *s);
        else
          offset = arith::AddIOp::create(
                       b, loc, getValueOrCreateConstantIndexOp(b, loc, offset),
                       getValueOrCreateConstantIndexOp(b, loc, sizes[dim]))
                       .getResult();
      }
      return success();
    }
    return unsupported(op, "no derivative rule for this op (it computes a "
                           "value the loss depends on from a parameter)");
  }

  /// Y = A·X (a CSR SpMM) gives dX = Aᵀ·dY: the same op on the CSR form of
  /// Aᵀ, built at compile time for a constant adjacency (reusing A's operands
  /// when the transpose is A itself, value for value) and by
  /// sparsegcn.transpose at run time otherwise. A tiled aggregation keeps its
  /// permutation (the stored matrix is P·A·Pᵀ, whose transpose is P·Aᵀ·Pᵀ)
  /// and its tile grid, transposed.
  LogicalResult backpropAggregate(Operation *op) {
    namespace sg = lathe::sparsegcn;
    Location loc = op->getLoc();
    auto dps = cast<DestinationStyleOpInterface>(op);
    Value rp = op->getOperand(0), ci = op->getOperand(1), v = op->getOperand(2);
    Value features = dps.getDpsInputOperand(dps.getNumDpsInputs() - 1)->get();
    Value init = dps.getDpsInitOperand(0)->get();
    int64_t rows = cast<IntegerAttr>(op->getAttr("num_rows")).getInt();
    int64_t cols = cast<IntegerAttr>(op->getAttr("num_cols")).getInt();
    if (!isa<RankedTensorType>(init.getType()))
      return unsupported(op, "the op works on buffers, not tensors");
    if (active.contains(v))
      return unsupported(op, "the adjacency values depend on a parameter "
                             "(gradients with respect to them are not "
                             "implemented; keep them constant, e.g. "
                             "lathe-train --freeze=NAME)");
    if (!active.contains(features))
      return success();
    Value gout = adjoints.lookup(op->getResult(0));
    Value trp, tci, tv;
    // One transpose per adjacency, however many aggregations use it.
    bool cached = false;
    for (const Transposed &t : transposed)
      if (t.rp == rp && t.ci == ci && t.v == v) {
        trp = t.trp, tci = t.tci, tv = t.tv;
        cached = true;
      }
    auto constant = [](Value x) -> DenseElementsAttr {
      auto c = x.getDefiningOp<arith::ConstantOp>();
      return c ? dyn_cast<DenseElementsAttr>(c.getValue())
               : DenseElementsAttr();
    };
    DenseElementsAttr crp = constant(rp), cci = constant(ci), cv = constant(v);
    if (cached) {
      // Built for an earlier aggregation.
    } else if (crp && cci && cv) {
      SmallVector<int64_t> rowPtr, colIdx, tRowPtr, tColIdx;
      SmallVector<float> values, tValues;
      for (const APInt &x : crp.getValues<APInt>())
        rowPtr.push_back(x.getSExtValue());
      for (const APInt &x : cci.getValues<APInt>())
        colIdx.push_back(x.getSExtValue());
      for (float x : cv.getValues<float>())
        values.push_back(x);
      std::string error;
      if (failed(sg::transposeCsr(rowPtr, colIdx, values, rows, cols, tRowPtr,
                                  tColIdx, tValues, error)))
        return unsupported(op, "its constant adjacency is not a valid CSR "
                               "matrix: " +
                                   error);
      bool symmetric = tRowPtr == rowPtr && tColIdx == colIdx &&
                       std::memcmp(tValues.data(), values.data(),
                                   values.size() * sizeof(float)) == 0;
      if (symmetric) {
        trp = rp, tci = ci, tv = v;
      } else {
        auto indexConst = [&](Value like, ArrayRef<int64_t> data) -> Value {
          auto t = cast<RankedTensorType>(like.getType());
          auto type =
              RankedTensorType::get({int64_t(data.size())}, t.getElementType());
          SmallVector<APInt> ints;
          for (int64_t x : data)
            ints.push_back(APInt(t.getElementTypeBitWidth(), x, true));
          return arith::ConstantOp::create(b, loc,
                                           DenseElementsAttr::get(type, ints));
        };
        trp = indexConst(rp, tRowPtr);
        tci = indexConst(ci, tColIdx);
        auto vt =
            RankedTensorType::get({int64_t(tValues.size())}, b.getF32Type());
        tv = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(vt, ArrayRef<float>(tValues)));
      }
    } else {
      auto rpType = cast<RankedTensorType>(rp.getType());
      Value erp = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{cols + 1},
                                          rpType.getElementType());
      Value eci = tensor::EmptyOp::create(
          b, loc, tensor::getMixedSizes(b, loc, ci),
          cast<RankedTensorType>(ci.getType()).getElementType());
      Value ev = tensor::EmptyOp::create(
          b, loc, tensor::getMixedSizes(b, loc, v),
          cast<RankedTensorType>(v.getType()).getElementType());
      auto tr = sg::TransposeOp::create(
          b, loc, TypeRange{erp.getType(), eci.getType(), ev.getType()}, rp, ci,
          v, erp, eci, ev, b.getI64IntegerAttr(rows),
          b.getI64IntegerAttr(cols));
      trp = tr.getResult()[0], tci = tr.getResult()[1], tv = tr.getResult()[2];
      ++numBackwardOps;
    }
    if (!cached)
      transposed.push_back({rp, ci, v, trp, tci, tv});
    Value dinit = tensor::EmptyOp::create(
        b, loc, tensor::getMixedSizes(b, loc, features),
        cast<RankedTensorType>(features.getType()).getElementType());
    IRMapping map;
    map.map(rp, trp);
    map.map(ci, tci);
    map.map(v, tv);
    map.map(features, gout);
    map.map(init, dinit);
    Operation *back = b.clone(*op, map);
    back->setAttr("num_rows", b.getI64IntegerAttr(cols));
    back->setAttr("num_cols", b.getI64IntegerAttr(rows));
    back->getResult(0).setType(dinit.getType());
    if (auto tiled = dyn_cast<sg::TiledAggregateOp>(back)) {
      if (std::optional<ArrayRef<int8_t>> classes = tiled.getTileClasses()) {
        int64_t tr = tiled.getNumTileCols(), tc = tiled.getNumTileRows();
        SmallVector<int8_t> transposed(classes->size());
        for (int64_t i = 0; i < tr; ++i)
          for (int64_t j = 0; j < tc; ++j)
            transposed[i * tc + j] = (*classes)[j * tr + i];
        tiled.setTileClasses(transposed);
      }
    }
    ++numBackwardOps;
    addAdjoint(features, back->getResult(0));
    return success();
  }

  /// dx = y * (dy - sum_d(dy * y)) along the softmax dimension d.
  LogicalResult backpropSoftmax(linalg::SoftmaxOp sm) {
    Location loc = sm.getLoc();
    Value y = sm->getResult(0), dy = adjoints.lookup(y);
    auto type = cast<RankedTensorType>(y.getType());
    int64_t rank = type.getRank(), d = sm.getDimension();
    Type elt = type.getElementType();
    AffineMap id = b.getMultiDimIdentityMap(rank);
    AffineMap dropped = id.dropResult(d);
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, y);
    SmallVector<OpFoldResult> reducedSizes = sizes;
    reducedSizes.erase(reducedSizes.begin() + d);
    Value sumInit =
        linalg::FillOp::create(
            b, loc, floatConst(b, loc, elt, 0.0),
            tensor::EmptyOp::create(b, loc, reducedSizes, elt).getResult())
            .getResult(0);
    SmallVector<utils::IteratorType> it(rank, utils::IteratorType::parallel);
    SmallVector<utils::IteratorType> red = it;
    red[d] = utils::IteratorType::reduction;
    Value sum =
        linalg::GenericOp::create(
            b, loc, TypeRange{sumInit.getType()}, ValueRange{dy, y},
            ValueRange{sumInit}, SmallVector<AffineMap>{id, id, dropped}, red,
            [](OpBuilder &nb, Location nl, ValueRange a) {
              Value p = arith::MulFOp::create(nb, nl, a[0], a[1]);
              linalg::YieldOp::create(
                  nb, nl, arith::AddFOp::create(nb, nl, a[2], p).getResult());
            })
            .getResult(0);
    Value init = tensor::EmptyOp::create(b, loc, sizes, elt);
    Value dx =
        linalg::GenericOp::create(
            b, loc, TypeRange{type}, ValueRange{dy, y, sum}, ValueRange{init},
            SmallVector<AffineMap>{id, id, dropped, id}, it,
            [](OpBuilder &nb, Location nl, ValueRange a) {
              Value diff = arith::SubFOp::create(nb, nl, a[0], a[2]);
              linalg::YieldOp::create(
                  nb, nl,
                  arith::MulFOp::create(nb, nl, a[1], diff).getResult());
            })
            .getResult(0);
    numBackwardOps += 2;
    addAdjoint(sm.getInput(), dx);
    return success();
  }

  /// Whether backpropConv handles `conv`: tensors of one float type, static
  /// spatial sizes (the flipped filter's map and the padding are constants),
  /// every output row reached by the windows. Other convolutions take the
  /// generic rule.
  static bool convRuleApplies(linalg::Conv2DNchwFchwOp conv) {
    if (!conv.hasPureTensorSemantics())
      return false;
    auto x = dyn_cast<RankedTensorType>(conv.getDpsInputs()[0].getType());
    auto w = dyn_cast<RankedTensorType>(conv.getDpsInputs()[1].getType());
    auto y = dyn_cast<RankedTensorType>(conv.getDpsInits()[0].getType());
    if (!x || !w || !y || !isa<FloatType>(x.getElementType()) ||
        x.getElementType() != w.getElementType() ||
        x.getElementType() != y.getElementType())
      return false;
    for (int i = 2; i < 4; ++i)
      if (x.isDynamicDim(i) || w.isDynamicDim(i) || y.isDynamicDim(i))
        return false;
    auto s = llvm::to_vector(conv.getStrides().getValues<int64_t>());
    auto d = llvm::to_vector(conv.getDilations().getValues<int64_t>());
    for (int i = 0; i < 2; ++i) {
      int64_t used = (y.getDimSize(2 + i) - 1) * s[i] +
                     (w.getDimSize(2 + i) - 1) * d[i] + 1;
      if (y.getDimSize(2 + i) < 1 || used > x.getDimSize(2 + i))
        return false;
    }
    return true;
  }

  /// `x` with its first two dimensions swapped (NCHW <-> CNHW).
  Value swapLeadingDims(Location loc, Value x) {
    auto type = cast<RankedTensorType>(x.getType());
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
    std::swap(sizes[0], sizes[1]);
    Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
    return linalg::TransposeOp::create(b, loc, x, init,
                                       ArrayRef<int64_t>{1, 0, 2, 3})
        .getResult()
        .front();
  }

  /// conv_2d_nchw_fchw(x, w) with the given strides and dilations into
  /// zeros: the form kernel formation raises to lathe.conv2d (oneDNN).
  Value convNchw(Location loc, Value x, Value w,
                 ArrayRef<OpFoldResult> outSizes, ArrayRef<int64_t> strides,
                 ArrayRef<int64_t> dilations) {
    Type elem = getElementTypeOrSelf(x.getType());
    Value empty = tensor::EmptyOp::create(b, loc, outSizes, elem);
    Value zeros =
        linalg::FillOp::create(b, loc, floatConst(b, loc, elem, 0.0), empty)
            .getResult(0);
    auto attr = [&](ArrayRef<int64_t> v) {
      return DenseIntElementsAttr::get(
          RankedTensorType::get({2}, b.getI64Type()), v);
    };
    return linalg::Conv2DNchwFchwOp::create(b, loc, TypeRange{zeros.getType()},
                                            ValueRange{x, w}, ValueRange{zeros},
                                            attr(strides), attr(dilations))
        .getResult(0);
  }

  /// The gradients of a convolution (x: N,C,H,W; w: F,C,KH,KW; y: N,F,OH,OW;
  /// stride s, dilation d) as convolutions, which reach oneDNN like the
  /// forward one (the generic rule makes scalar loops of them):
  ///   dx = conv(dy dilated by s and padded by (K-1)d, w flipped in space
  ///        with F and C swapped), stride 1, dilation d;
  ///   dw = swap(conv(swap(x), swap(dy)), stride d, dilation s), where
  ///        swap exchanges the two leading dimensions (the channels act as
  ///        the batch and the batch as the reduced channel).
  LogicalResult backpropConv(linalg::Conv2DNchwFchwOp conv) {
    Location loc = conv.getLoc();
    MLIRContext *ctx = b.getContext();
    Value x = conv.getDpsInputs()[0], w = conv.getDpsInputs()[1];
    Value init = conv.getDpsInits()[0];
    Value gout = adjoints.lookup(conv->getResult(0));
    auto xType = cast<RankedTensorType>(x.getType());
    auto wType = cast<RankedTensorType>(w.getType());
    auto yType = cast<RankedTensorType>(init.getType());
    Type elem = xType.getElementType();
    auto s = llvm::to_vector(conv.getStrides().getValues<int64_t>());
    auto d = llvm::to_vector(conv.getDilations().getValues<int64_t>());
    int64_t in[2] = {xType.getDimSize(2), xType.getDimSize(3)};
    int64_t k[2] = {wType.getDimSize(2), wType.getDimSize(3)};
    int64_t out[2] = {yType.getDimSize(2), yType.getDimSize(3)};
    // The input rows and columns the windows reach.
    int64_t used[2];
    for (int i = 0; i < 2; ++i)
      used[i] = (out[i] - 1) * s[i] + (k[i] - 1) * d[i] + 1;
    // The convolution adds into its init.
    addAdjoint(init, gout);

    if (active.contains(x)) {
      // dy spread by the stride and padded by (K-1)d on both sides (and by
      // the unreached rows and columns below and to the right).
      SmallVector<OpFoldResult> gSizes = tensor::getMixedSizes(b, loc, gout);
      Value spread;
      if (s[0] == 1 && s[1] == 1) {
        SmallVector<OpFoldResult> low = {b.getIndexAttr(0), b.getIndexAttr(0),
                                         b.getIndexAttr((k[0] - 1) * d[0]),
                                         b.getIndexAttr((k[1] - 1) * d[1])};
        SmallVector<OpFoldResult> high = {
            b.getIndexAttr(0), b.getIndexAttr(0),
            b.getIndexAttr((k[0] - 1) * d[0] + in[0] - used[0]),
            b.getIndexAttr((k[1] - 1) * d[1] + in[1] - used[1])};
        spread = tensor::PadOp::create(b, loc, Type(), gout, low, high,
                                       floatConst(b, loc, elem, 0.0))
                     .getResult();
      } else {
        SmallVector<OpFoldResult> sizes = {gSizes[0], gSizes[1]};
        for (int i = 0; i < 2; ++i)
          sizes.push_back(b.getIndexAttr(in[i] + (k[i] - 1) * d[i]));
        Value empty = tensor::EmptyOp::create(b, loc, sizes, elem);
        Value zeros =
            linalg::FillOp::create(b, loc, floatConst(b, loc, elem, 0.0), empty)
                .getResult(0);
        SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0),
                                             b.getIndexAttr(0),
                                             b.getIndexAttr((k[0] - 1) * d[0]),
                                             b.getIndexAttr((k[1] - 1) * d[1])};
        SmallVector<OpFoldResult> strides = {
            b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(s[0]),
            b.getIndexAttr(s[1])};
        spread = tensor::InsertSliceOp::create(b, loc, gout, zeros, offsets,
                                               gSizes, strides);
      }
      // flipped[c, f, i, j] = w[f, c, KH-1-i, KW-1-j].
      SmallVector<OpFoldResult> wSizes = tensor::getMixedSizes(b, loc, w);
      std::swap(wSizes[0], wSizes[1]);
      Value flipInit = tensor::EmptyOp::create(b, loc, wSizes, elem);
      AffineExpr d0, d1, d2, d3;
      bindDims(ctx, d0, d1, d2, d3);
      AffineMap read =
          AffineMap::get(4, 0, {d1, d0, k[0] - 1 - d2, k[1] - 1 - d3}, ctx);
      SmallVector<utils::IteratorType> par(4, utils::IteratorType::parallel);
      Value flipped =
          linalg::GenericOp::create(
              b, loc, TypeRange{flipInit.getType()}, ValueRange{w},
              ValueRange{flipInit},
              SmallVector<AffineMap>{read, b.getMultiDimIdentityMap(4)}, par,
              [](OpBuilder &nb, Location nl, ValueRange a) {
                linalg::YieldOp::create(nb, nl, a[0]);
              })
              .getResult(0);
      Value dx = convNchw(loc, spread, flipped,
                          tensor::getMixedSizes(b, loc, x), {1, 1}, d);
      numBackwardOps += 3;
      addAdjoint(x, dx);
    }

    if (active.contains(w)) {
      Value xUsed = x;
      if (used[0] < in[0] || used[1] < in[1]) {
        SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
        sizes[2] = b.getIndexAttr(used[0]);
        sizes[3] = b.getIndexAttr(used[1]);
        SmallVector<OpFoldResult> zeros(4, b.getIndexAttr(0));
        SmallVector<OpFoldResult> ones(4, b.getIndexAttr(1));
        xUsed = tensor::ExtractSliceOp::create(b, loc, x, zeros, sizes, ones);
      }
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, w);
      std::swap(sizes[0], sizes[1]);
      Value dwSwapped =
          convNchw(loc, swapLeadingDims(loc, xUsed), swapLeadingDims(loc, gout),
                   sizes, /*strides=*/d, /*dilations=*/s);
      numBackwardOps += 4;
      addAdjoint(w, swapLeadingDims(loc, dwSwapped));
    }
    return success();
  }

  /// backpropMaxPool for windows that tile the input exactly (stride =
  /// window, no dilation, every row and column in a window): one generic
  /// over (n, c, oh, ow, i, j) writes [N, C, OH, KH, OW, KW], which is the
  /// input's shape collapsed. The window's elements are operands read at
  /// constant offsets (affine maps, no gathers), and the first maximal one
  /// does not depend on (i, j), so it is computed once per window.
  Value tiledMaxPoolGrad(Location loc, Value x, Value y, Value gout,
                         const int64_t k[2]) {
    MLIRContext *ctx = b.getContext();
    auto xType = cast<RankedTensorType>(x.getType());
    Type elem = xType.getElementType();
    AffineExpr n, c, oh, ow, i, j;
    bindDims(ctx, n, c, oh, ow, i, j);
    SmallVector<Value> ins;
    SmallVector<AffineMap> maps;
    for (int64_t wi = 0; wi < k[0]; ++wi)
      for (int64_t wj = 0; wj < k[1]; ++wj) {
        ins.push_back(x);
        maps.push_back(
            AffineMap::get(6, 0, {n, c, oh * k[0] + wi, ow * k[1] + wj}, ctx));
      }
    AffineMap window = AffineMap::get(6, 0, {n, c, oh, ow}, ctx);
    ins.push_back(y);
    maps.push_back(window);
    ins.push_back(gout);
    maps.push_back(window);
    maps.push_back(AffineMap::get(6, 0, {n, c, oh, i, ow, j}, ctx));
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
    auto ySizes = cast<RankedTensorType>(y.getType()).getShape();
    SmallVector<OpFoldResult> sizes = {xSizes[0],
                                       xSizes[1],
                                       b.getIndexAttr(ySizes[2]),
                                       b.getIndexAttr(k[0]),
                                       b.getIndexAttr(ySizes[3]),
                                       b.getIndexAttr(k[1])};
    Value init = tensor::EmptyOp::create(b, loc, sizes, elem);
    SmallVector<utils::IteratorType> par(6, utils::IteratorType::parallel);
    int64_t count = k[0] * k[1];
    Value tiles =
        linalg::GenericOp::create(
            b, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps, par,
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              auto cst = [&](int64_t v) -> Value {
                return arith::ConstantIndexOp::create(nb, nl, v);
              };
              Value yv = a[count], g = a[count + 1];
              // The first window element equal to the maximum (count if
              // none: a NaN maximum), in the forward loop order.
              Value first = cst(count);
              for (int64_t p = count - 1; p >= 0; --p) {
                Value hit = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OEQ, a[p], yv);
                first = arith::SelectOp::create(nb, nl, hit, cst(p), first);
              }
              Value here = arith::AddIOp::create(
                  nb, nl,
                  arith::MulIOp::create(
                      nb, nl, linalg::IndexOp::create(nb, nl, 4), cst(k[1])),
                  linalg::IndexOp::create(nb, nl, 5));
              Value take = arith::CmpIOp::create(
                  nb, nl, arith::CmpIPredicate::eq, first, here);
              linalg::YieldOp::create(
                  nb, nl,
                  arith::SelectOp::create(nb, nl, take, g,
                                          floatConst(nb, nl, elem, 0.0))
                      .getResult());
            })
            .getResult(0);
    return tensor::CollapseShapeOp::create(
        b, loc, xType, tiles,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4, 5}});
  }

  /// Whether backpropMaxPool handles `pool`: tensors of one float type,
  /// static spatial sizes and window, windows that do not overlap (stride
  /// >= the dilated window), at most 16 window elements, and an init that
  /// does not depend on a parameter. Other poolings take the generic rule
  /// (a scalar scatter).
  bool maxPoolRuleApplies(linalg::PoolingNchwMaxOp pool) {
    if (!pool.hasPureTensorSemantics())
      return false;
    auto x = dyn_cast<RankedTensorType>(pool.getDpsInputs()[0].getType());
    auto win = dyn_cast<RankedTensorType>(pool.getDpsInputs()[1].getType());
    auto y = dyn_cast<RankedTensorType>(pool.getDpsInits()[0].getType());
    if (!x || !win || !y || !isa<FloatType>(x.getElementType()) ||
        x.getElementType() != y.getElementType() || x.getRank() != 4 ||
        win.getRank() != 2 || !win.hasStaticShape() ||
        active.contains(pool.getDpsInits()[0]))
      return false;
    if (win.getNumElements() > 16 || win.getNumElements() < 1)
      return false;
    auto s = llvm::to_vector(pool.getStrides().getValues<int64_t>());
    auto d = llvm::to_vector(pool.getDilations().getValues<int64_t>());
    for (int i = 0; i < 2; ++i) {
      if (x.isDynamicDim(2 + i) || y.isDynamicDim(2 + i))
        return false;
      int64_t k = win.getDimSize(i);
      if (s[i] < (k - 1) * d[i] + 1 || y.getDimSize(2 + i) < 1 ||
          (y.getDimSize(2 + i) - 1) * s[i] + (k - 1) * d[i] + 1 >
              x.getDimSize(2 + i))
        return false;
    }
    return true;
  }

  /// The gradient of a max pooling whose windows do not overlap, gathered
  /// rather than scattered: one parallel element-wise op over the input.
  /// Each input element lies in at most one window; it receives the
  /// window's output gradient if it equals the window's maximum and no
  /// element before it in the window (row-major, the forward loop order)
  /// does, as the generic rule (and PyTorch, and XLA's select-and-scatter)
  /// decide. Elements in no window get zero.
  LogicalResult backpropMaxPool(linalg::PoolingNchwMaxOp pool) {
    Value x = pool.getDpsInputs()[0];
    Value y = pool->getResult(0);
    Value gout = adjoints.lookup(y);
    if (!gout || !active.contains(x))
      return success();
    Location loc = pool.getLoc();
    auto xType = cast<RankedTensorType>(x.getType());
    auto yType = cast<RankedTensorType>(y.getType());
    auto winType = cast<RankedTensorType>(pool.getDpsInputs()[1].getType());
    Type elem = xType.getElementType();
    auto s = llvm::to_vector(pool.getStrides().getValues<int64_t>());
    auto d = llvm::to_vector(pool.getDilations().getValues<int64_t>());
    int64_t k[2] = {winType.getDimSize(0), winType.getDimSize(1)};
    int64_t outSize[2] = {yType.getDimSize(2), yType.getDimSize(3)};
    if (s[0] == k[0] && s[1] == k[1] && d[0] == 1 && d[1] == 1 &&
        outSize[0] * k[0] == xType.getDimSize(2) &&
        outSize[1] * k[1] == xType.getDimSize(3)) {
      addAdjoint(x, tiledMaxPoolGrad(loc, x, y, gout, k));
      ++numBackwardOps;
      return success();
    }

    Value init =
        tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x), elem);
    AffineMap id = b.getMultiDimIdentityMap(4);
    SmallVector<utils::IteratorType> par(4, utils::IteratorType::parallel);
    Value dx =
        linalg::GenericOp::create(
            b, loc, TypeRange{xType}, ValueRange{x}, ValueRange{init},
            SmallVector<AffineMap>{id, id}, par,
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              auto cst = [&](int64_t v) -> Value {
                return arith::ConstantIndexOp::create(nb, nl, v);
              };
              Value n = linalg::IndexOp::create(nb, nl, 0);
              Value c = linalg::IndexOp::create(nb, nl, 1);
              Value inWindow;
              Value q[2], pos[2];
              for (int i = 0; i < 2; ++i) {
                Value h = linalg::IndexOp::create(nb, nl, 2 + i);
                Value qi = arith::DivUIOp::create(nb, nl, h, cst(s[i]));
                Value r = arith::RemUIOp::create(nb, nl, h, cst(s[i]));
                pos[i] = arith::DivUIOp::create(nb, nl, r, cst(d[i]));
                Value ok = arith::AndIOp::create(
                    nb, nl,
                    arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, qi,
                                          cst(outSize[i])),
                    arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                          pos[i], cst(k[i])));
                if (d[i] > 1)
                  ok = arith::AndIOp::create(
                      nb, nl, ok,
                      arith::CmpIOp::create(
                          nb, nl, arith::CmpIPredicate::eq,
                          arith::RemUIOp::create(nb, nl, r, cst(d[i])),
                          cst(0)));
                inWindow =
                    inWindow ? arith::AndIOp::create(nb, nl, inWindow, ok) : ok;
                // Clamped, so that the reads below stay in bounds for the
                // elements in no window (whose result is zero anyway).
                q[i] = arith::MinUIOp::create(nb, nl, qi, cst(outSize[i] - 1));
              }
              Value yv = tensor::ExtractOp::create(
                  nb, nl, y, ValueRange{n, c, q[0], q[1]});
              Value g = tensor::ExtractOp::create(nb, nl, gout,
                                                  ValueRange{n, c, q[0], q[1]});
              Value self = arith::CmpFOp::create(
                  nb, nl, arith::CmpFPredicate::OEQ, a[0], yv);
              Value order = arith::AddIOp::create(
                  nb, nl, arith::MulIOp::create(nb, nl, pos[0], cst(k[1])),
                  pos[1]);
              Value row0 = arith::MulIOp::create(nb, nl, q[0], cst(s[0]));
              Value col0 = arith::MulIOp::create(nb, nl, q[1], cst(s[1]));
              // An earlier element of the window that equals the maximum.
              Value earlier;
              for (int64_t i = 0; i < k[0]; ++i)
                for (int64_t j = 0; j < k[1]; ++j) {
                  if (i * k[1] + j == k[0] * k[1] - 1)
                    continue; // Nothing comes after the last element.
                  Value row =
                      arith::AddIOp::create(nb, nl, row0, cst(i * d[0]));
                  Value col =
                      arith::AddIOp::create(nb, nl, col0, cst(j * d[1]));
                  Value xv = tensor::ExtractOp::create(
                      nb, nl, x, ValueRange{n, c, row, col});
                  Value hit = arith::AndIOp::create(
                      nb, nl,
                      arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                            xv, yv),
                      arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ugt,
                                            order, cst(i * k[1] + j)));
                  earlier = earlier ? arith::OrIOp::create(nb, nl, earlier, hit)
                                    : hit;
                }
              Value take = arith::AndIOp::create(nb, nl, inWindow, self);
              if (earlier) {
                Value notEarlier = arith::XOrIOp::create(
                    nb, nl, earlier,
                    arith::ConstantOp::create(nb, nl, nb.getBoolAttr(true)));
                take = arith::AndIOp::create(nb, nl, take, notEarlier);
              }
              Value zero = floatConst(nb, nl, elem, 0.0);
              linalg::YieldOp::create(
                  nb, nl,
                  arith::SelectOp::create(nb, nl, take, g, zero).getResult());
            })
            .getResult(0);
    ++numBackwardOps;
    addAdjoint(x, dx);
    return success();
  }

  LogicalResult backpropLinalg(linalg::LinalgOp op) {
    Operation *raw = op.getOperation();
    if (!op.hasPureTensorSemantics())
      return unsupported(raw, "the op works on buffers, not tensors");
    if (op.getNumDpsInits() != 1)
      return unsupported(raw, "only ops with one output are supported");
    Block *body = op.getBlock();
    if (!body)
      return unsupported(raw, "the op has no scalar body");
    OpOperand *init = op.getDpsInitOperand(0);
    Value result = raw->getResult(0);
    Value gout = adjoints.lookup(result);
    AffineMap outMap = op.getMatchingIndexingMap(init);
    BlockArgument accArg = op.getMatchingBlockArgument(init);
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    Value yielded = yield.getOperand(0);

    // The body's value `h` and how it meets the output.
    Combiner combiner = Combiner::None;
    Value h = yielded;
    if (op.getNumReductionLoops() > 0) {
      Operation *comb = yielded.getDefiningOp();
      if (comb && comb->getNumOperands() == 2 &&
          llvm::is_contained(comb->getOperands(), Value(accArg))) {
        h = comb->getOperand(0) == accArg ? comb->getOperand(1)
                                          : comb->getOperand(0);
        if (isa<arith::AddFOp>(comb))
          combiner = Combiner::Add;
        else if (isa<arith::MaximumFOp, arith::MaxNumFOp>(comb))
          combiner = Combiner::Max;
        else if (isa<arith::MinimumFOp, arith::MinNumFOp>(comb))
          combiner = Combiner::Min;
      }
      if (combiner == Combiner::None || h == Value(accArg))
        return unsupported(raw, "a reduction must combine its body's value "
                                "with the output by addf, maximumf or "
                                "minimumf");
      bool usesAcc = false;
      for (Operation &inner : body->without_terminator())
        if (&inner != comb)
          usesAcc |= llvm::is_contained(inner.getOperands(), Value(accArg));
      if (usesAcc)
        return unsupported(raw, "the reduction's body reads the partial "
                                "result other than to combine with it");
    }
    // Reads of captured tensors in the body (gathers): their gradient is a
    // scatter-add. Ops with regions are allowed when they are guarded reads
    // or produce nothing (run-time index checks, skipped by the backward).
    SmallVector<Read> reads;
    for (Operation &inner : body->without_terminator()) {
      if (auto ex = dyn_cast<tensor::ExtractOp>(inner)) {
        if (active.contains(ex.getTensor()))
          reads.push_back({ex, nullptr});
        continue;
      }
      if (auto ifOp = dyn_cast<scf::IfOp>(inner)) {
        if (tensor::ExtractOp ex = guardedExtract(ifOp)) {
          if (active.contains(ex.getTensor()))
            reads.push_back({ex, ifOp});
          continue;
        }
      }
      if (inner.getNumRegions() == 0)
        continue;
      bool readsActive = false;
      inner.walk([&](Operation *nested) {
        for (Value v : nested->getOperands())
          readsActive |= active.contains(v);
      });
      if (inner.getNumResults() > 0 || readsActive)
        return unsupported(raw, "its body has a '" +
                                    inner.getName().getStringRef() +
                                    "' with regions other than a guarded "
                                    "read; not differentiable yet");
    }

    // Operands that need a gradient: active float tensors.
    SmallVector<OpOperand *> targets, scattered;
    for (OpOperand *in : op.getDpsInputOperands())
      if (active.contains(in->get()) && isFloatTensor(in->get().getType()))
        targets.push_back(in);
      else if (active.contains(in->get()))
        return unsupported(raw, "an input that depends on a parameter is not "
                                "a float tensor");
    bool accRead = combiner == Combiner::None && !accArg.use_empty();
    if (active.contains(init->get()) && (accRead || combiner == Combiner::Add))
      targets.push_back(init);
    if (!outMap.isProjectedPermutation())
      return unsupported(raw, "the output's indexing map is not a projected "
                              "permutation");

    for (OpOperand *target : targets) {
      // A sum's output starts from its init: d(init) = dy.
      if (target == init && combiner == Combiner::Add) {
        addAdjoint(init->get(), gout);
        continue;
      }
      // A map that is not a projected permutation (a convolution's input,
      // a window of pooling) is scattered into, below.
      if (!op.getMatchingIndexingMap(target).isProjectedPermutation()) {
        scattered.push_back(target);
        continue;
      }
      FailureOr<Value> g = backwardGeneric(op, target, gout, h, combiner);
      if (failed(g))
        return failure();
      addAdjoint(target->get(), *g);
    }
    if (scattered.empty() && reads.empty())
      return success();
    return scatterBackward(op, scattered, reads, gout, h, combiner);
  }

  /// The gradients of operands whose indexing maps are not projected
  /// permutations and of tensors the body reads (gathers), as one loop nest
  /// over the forward iteration space that adds each iteration's
  /// contribution into the gradient tensors (scf.for with tensor iter_args;
  /// in place after bufferization). Scalar loops: correct for any map, not
  /// fast (convolutions and embeddings deserve dedicated rules).
  LogicalResult scatterBackward(linalg::LinalgOp op,
                                ArrayRef<OpOperand *> scattered,
                                ArrayRef<Read> reads, Value gout, Value h,
                                Combiner combiner) {
    Location loc = op.getLoc();
    Block *fwd = op.getBlock();
    OpOperand *init = op.getDpsInitOperand(0);
    AffineMap outMap = op.getMatchingIndexingMap(init);
    Value result = op->getResult(0);
    bool needResult = combiner == Combiner::Max || combiner == Combiner::Min;
    Operation *comb = combiner == Combiner::None
                          ? nullptr
                          : fwd->getTerminator()->getOperand(0).getDefiningOp();
    SmallVector<Value> accInits;
    for (OpOperand *t : scattered)
      accInits.push_back(zerosLike(b, loc, t->get()));
    for (const Read &r : reads)
      accInits.push_back(zerosLike(b, loc, r.extract.getTensor()));
    // Max/min: the gradient of each output element goes to the first input
    // element (in loop order) equal to it, as PyTorch's max pooling and
    // XLA's select-and-scatter do; `claimed` marks the outputs served.
    if (needResult) {
      Value empty = tensor::EmptyOp::create(
          b, loc, tensor::getMixedSizes(b, loc, result), b.getI1Type());
      Value no = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
      accInits.push_back(
          linalg::FillOp::create(b, loc, ValueRange{no}, ValueRange{empty})
              .getResult(0));
    }
    SmallVector<Range> ranges = op.createLoopRanges(b, loc);
    SmallVector<Value> lbs, ubs, steps;
    for (Range &r : ranges) {
      lbs.push_back(getValueOrCreateConstantIndexOp(b, loc, r.offset));
      ubs.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
      steps.push_back(getValueOrCreateConstantIndexOp(b, loc, r.stride));
    }
    LogicalResult status = success();
    auto at = [&](OpBuilder &nb, Location nl, AffineMap map, ValueRange ivs) {
      SmallVector<Value> idx;
      for (unsigned i = 0; i < map.getNumResults(); ++i)
        idx.push_back(
            affine::AffineApplyOp::create(nb, nl, map.getSubMap({i}), ivs));
      return idx;
    };
    scf::LoopNest nest = scf::buildLoopNest(
        b, loc, lbs, ubs, steps, accInits,
        [&](OpBuilder &nb, Location nl, ValueRange ivs,
            ValueRange accs) -> scf::ValueVector {
          IRMapping map;
          for (OpOperand &operand : op->getOpOperands()) {
            if (op.isDpsInit(&operand) && combiner != Combiner::None)
              continue;
            BlockArgument arg = op.getMatchingBlockArgument(&operand);
            if (op.isDpsInit(&operand) && arg.use_empty())
              continue;
            Value v = operand.get();
            if (isa<RankedTensorType>(v.getType()))
              v = tensor::ExtractOp::create(
                  nb, nl, v,
                  at(nb, nl, op.getMatchingIndexingMap(&operand), ivs));
            map.map(arg, v);
          }
          Value g =
              tensor::ExtractOp::create(nb, nl, gout, at(nb, nl, outMap, ivs));
          SmallVector<Operation *> cloned;
          for (Operation &inner : fwd->without_terminator()) {
            if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
              map.map(index.getResult(), ivs[index.getDim()]);
              continue;
            }
            if (&inner == comb || inner.getNumResults() == 0)
              continue;
            cloned.push_back(nb.clone(inner, map));
          }
          Value hv = map.lookupOrDefault(h);
          Value seed = g;
          scf::ValueVector next(accs.begin(), accs.end());
          if (needResult) {
            SmallVector<Value> outIdx = at(nb, nl, outMap, ivs);
            Value y = tensor::ExtractOp::create(nb, nl, result, outIdx);
            Value claimed =
                tensor::ExtractOp::create(nb, nl, accs.back(), outIdx);
            Value equal =
                arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, hv, y);
            Value unclaimed = arith::XOrIOp::create(
                nb, nl, claimed,
                arith::ConstantOp::create(nb, nl, nb.getBoolAttr(true)));
            Value hit = arith::AndIOp::create(nb, nl, equal, unclaimed);
            seed = arith::SelectOp::create(
                nb, nl, hit, g, floatConst(nb, nl, g.getType(), 0.0));
            next.back() = tensor::InsertOp::create(
                nb, nl, arith::OrIOp::create(nb, nl, claimed, hit), accs.back(),
                outIdx);
          }
          ScalarAdjoints scalar(nb, nl);
          if (failed(scalar.run(cloned, hv, seed))) {
            status = failure();
            return next;
          }
          auto accumulate = [&](OpBuilder &ab, Location al, Value acc,
                                ValueRange idx, Value d) -> Value {
            Value old = tensor::ExtractOp::create(ab, al, acc, idx);
            Value sum = arith::AddFOp::create(ab, al, old, d);
            return tensor::InsertOp::create(ab, al, sum, acc, idx);
          };
          unsigned k = 0;
          for (OpOperand *t : scattered) {
            Value d =
                scalar.get(map.lookupOrDefault(op.getMatchingBlockArgument(t)));
            if (d)
              next[k] =
                  accumulate(nb, nl, next[k],
                             at(nb, nl, op.getMatchingIndexingMap(t), ivs), d);
            ++k;
          }
          for (const Read &r : reads) {
            Value read =
                r.guard ? r.guard->getResult(0) : r.extract.getResult();
            Value d = scalar.get(map.lookupOrDefault(read));
            if (d) {
              if (!r.guard) {
                auto ex = cast<tensor::ExtractOp>(
                    map.lookupOrDefault(read).getDefiningOp());
                next[k] = accumulate(nb, nl, next[k], ex.getIndices(), d);
              } else {
                // Only where the guard held; its indices are defined
                // outside the scf.if.
                SmallVector<Value> idx;
                for (Value i : r.extract.getIndices())
                  idx.push_back(map.lookupOrDefault(i));
                Value cond = map.lookupOrDefault(r.guard.getCondition());
                Value acc = next[k];
                auto ifOp = scf::IfOp::create(
                    nb, nl, cond,
                    [&](OpBuilder &tb, Location tl) {
                      scf::YieldOp::create(tb, tl,
                                           accumulate(tb, tl, acc, idx, d));
                    },
                    [&](OpBuilder &eb, Location el) {
                      scf::YieldOp::create(eb, el, acc);
                    });
                next[k] = ifOp.getResult(0);
              }
            }
            ++k;
          }
          return next;
        });
    if (failed(status))
      return failure();
    ++numBackwardOps;
    unsigned k = 0;
    for (OpOperand *t : scattered)
      addAdjoint(t->get(), nest.results[k++]);
    for (const Read &r : reads)
      addAdjoint(r.extract.getTensor(), nest.results[k++]);
    return success();
  }

  /// The gradient of one operand of a structured op (see the file comment).
  FailureOr<Value> backwardGeneric(linalg::LinalgOp op, OpOperand *target,
                                   Value gout, Value h, Combiner combiner) {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    unsigned loops = op.getNumLoops();
    AffineMap targetMap = op.getMatchingIndexingMap(target);
    // Loop order of the backward op: the target's dims, then the rest
    // (reductions innermost, as kernel formation expects of a matmul).
    SmallVector<unsigned> order;
    llvm::SmallBitVector used(loops);
    for (AffineExpr e : targetMap.getResults()) {
      unsigned d = cast<AffineDimExpr>(e).getPosition();
      if (!used.test(d)) {
        used.set(d);
        order.push_back(d);
      }
    }
    for (unsigned d = 0; d < loops; ++d)
      if (!used.test(d))
        order.push_back(d);
    // newPos[old dim] = position in the backward loop nest.
    SmallVector<AffineExpr> renumber(loops);
    for (auto [pos, d] : llvm::enumerate(order))
      renumber[d] = getAffineDimExpr(pos, ctx);
    auto remap = [&](AffineMap m) {
      return m.replaceDimsAndSymbols(renumber, {}, loops, 0);
    };
    SmallVector<utils::IteratorType> iterators;
    for (unsigned pos = 0; pos < loops; ++pos)
      iterators.push_back(pos < used.count() ? utils::IteratorType::parallel
                                             : utils::IteratorType::reduction);

    // Inputs: the forward op's operands (inputs, and the output's init when
    // the body reads it), the forward result (max/min), the output gradient.
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (OpOperand &operand : op->getOpOperands()) {
      bool isInit = op.isDpsInit(&operand);
      if (isInit && combiner != Combiner::None)
        continue;
      inputs.push_back(operand.get());
      maps.push_back(remap(op.getMatchingIndexingMap(&operand)));
    }
    AffineMap outMap =
        remap(op.getMatchingIndexingMap(op.getDpsInitOperand(0)));
    Value result = op->getResult(0);
    bool needResult = combiner == Combiner::Max || combiner == Combiner::Min;
    if (needResult) {
      inputs.push_back(result);
      maps.push_back(outMap);
    }
    inputs.push_back(gout);
    maps.push_back(outMap);
    // All-parallel backward ops (the target's map uses every loop) write
    // each element once: their output is an empty tensor, not read. Others
    // accumulate into zeros.
    bool accumulates = used.count() < loops;
    Value zeros =
        accumulates ? zerosLike(b, loc, target->get())
                    : tensor::EmptyOp::create(
                          b, loc, tensor::getMixedSizes(b, loc, target->get()),
                          getElementTypeOrSelf(target->get().getType()))
                          .getResult();
    maps.push_back(remap(targetMap));

    Block *fwd = op.getBlock();
    LogicalResult status = success();
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{zeros.getType()}, inputs, ValueRange{zeros}, maps,
        iterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
          IRMapping map;
          unsigned next = 0;
          for (OpOperand &operand : op->getOpOperands()) {
            if (op.isDpsInit(&operand) && combiner != Combiner::None)
              continue;
            map.map(op.getMatchingBlockArgument(&operand), args[next++]);
          }
          Value fwdResult = needResult ? args[next++] : Value();
          Value g = args[next++];
          Value acc = args[next];
          // The combiner (the only reader of the partial result) is not
          // needed: its derivative is the seed below.
          Operation *comb =
              combiner == Combiner::None
                  ? nullptr
                  : fwd->getTerminator()->getOperand(0).getDefiningOp();
          SmallVector<Operation *> cloned;
          // Ops that produce nothing (run-time index checks) are not
          // repeated.
          for (Operation &inner : fwd->without_terminator())
            if (&inner != comb && inner.getNumResults() > 0)
              cloned.push_back(nb.clone(inner, map));
          Value hv = map.lookupOrDefault(h);
          Value seed = g;
          if (needResult) {
            Value hit = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                              hv, fwdResult);
            seed = arith::SelectOp::create(
                nb, nl, hit, g, floatConst(nb, nl, g.getType(), 0.0));
          }
          ScalarAdjoints scalar(nb, nl);
          if (failed(scalar.run(cloned, hv, seed))) {
            status = failure();
            linalg::YieldOp::create(nb, nl, acc);
            return;
          }
          Value wrt = map.lookupOrDefault(op.getMatchingBlockArgument(target));
          Value d = scalar.get(wrt);
          if (!d)
            d = floatConst(nb, nl, acc.getType(), 0.0);
          Value sum = accumulates
                          ? arith::AddFOp::create(nb, nl, acc, d).getResult()
                          : d;
          linalg::YieldOp::create(nb, nl, sum);
        });
    if (failed(status))
      return failure();
    ++numBackwardOps;
    return compact(generic);
  }

  /// `generic` without the inputs its body does not read, the input that
  /// indexes the outermost loop first: a contraction then has the operand
  /// order of a matmul (lhs over d0), which kernel formation raises.
  Value compact(linalg::GenericOp generic) {
    Block *body = generic.getBody();
    // The clone of the forward body left ops the derivative does not use.
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*body)))
      if (isOpTriviallyDead(&op))
        op.erase();
    unsigned numInputs = generic.getNumDpsInputs();
    SmallVector<AffineMap> oldMaps = generic.getIndexingMapsArray();
    // Every loop must keep an operand whose shape gives its bound: an input
    // the body does not read stays when it is the only one spanning a loop
    // (d/da of sum_ij x_ij b_j + b_j sqrt(a_j) reads no x, but sums over i).
    llvm::SmallBitVector spanned(generic.getNumLoops());
    auto span = [&](AffineMap m) {
      bool adds = false;
      for (AffineExpr e : m.getResults())
        if (auto d = dyn_cast<AffineDimExpr>(e);
            d && !spanned.test(d.getPosition())) {
          spanned.set(d.getPosition());
          adds = true;
        }
      return adds;
    };
    span(oldMaps.back());
    SmallVector<unsigned> keep;
    for (unsigned i = 0; i < numInputs; ++i)
      if (!body->getArgument(i).use_empty()) {
        keep.push_back(i);
        span(oldMaps[i]);
      }
    for (unsigned i = 0; i < numInputs && !spanned.all(); ++i)
      if (body->getArgument(i).use_empty() && span(oldMaps[i]))
        keep.push_back(i);
    llvm::sort(keep);
    auto hasD0 = [&](unsigned i) {
      return oldMaps[i].getNumDims() > 0 && oldMaps[i].isFunctionOfDim(0);
    };
    SmallVector<unsigned> ordered;
    for (bool first : {true, false})
      for (unsigned i : keep)
        if (hasD0(i) == first)
          ordered.push_back(i);
    keep = ordered;
    if (keep.size() == numInputs &&
        llvm::equal(keep, llvm::seq<unsigned>(0, numInputs)))
      return generic.getResult(0);
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (unsigned i : keep) {
      inputs.push_back(generic.getDpsInputs()[i]);
      maps.push_back(oldMaps[i]);
    }
    maps.push_back(oldMaps.back());
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(generic);
    auto slim = linalg::GenericOp::create(
        b, generic.getLoc(), generic.getResultTypes(), inputs,
        generic.getDpsInits(), maps, generic.getIteratorTypesArray(),
        [&](OpBuilder &nb, Location, ValueRange args) {
          IRMapping map;
          for (auto [pos, i] : llvm::enumerate(keep))
            map.map(body->getArgument(i), args[pos]);
          map.map(body->getArgument(numInputs), args.back());
          for (Operation &op : *body)
            nb.clone(op, map);
        });
    generic.erase();
    return slim.getResult(0);
  }

  /// The CSR operands of Aᵀ built for (the operands of) A.
  struct Transposed {
    Value rp, ci, v, trp, tci, tv;
  };
  /// The forward attention op again, with `lseInit` as its log-sum-exp init.
  Operation *withLogSumExp(lathe::memred::AttentionOp op, Value lseInit) {
    return lathe::memred::AttentionOp::create(
        b, op.getLoc(), TypeRange{op.getInit().getType(), lseInit.getType()},
        op.getQuery(), op.getKey(), op.getValue(), op.getBiases(), op.getInit(),
        lseInit, op.getScaleAttr());
  }
  Operation *withLogSumExp(lathe::memred::ChunkedAttentionOp op,
                           Value lseInit) {
    return lathe::memred::ChunkedAttentionOp::create(
        b, op.getLoc(), TypeRange{op.getInit().getType(), lseInit.getType()},
        op.getQuery(), op.getKey(), op.getValue(), op.getBiases(), op.getInit(),
        lseInit, op.getScaleAttr(), op.getQChunkAttr(), op.getKvChunkAttr());
  }

  /// memred attention (DeepSpeed4Science's memory-efficient backward): the
  /// forward op is rebuilt with a log-sum-exp init (the softmax normaliser
  /// per row, f32) and one memred.attention_grad computes the gradients of
  /// the query, key, value and of the active biases from Q, K, V, the
  /// output, its gradient and the log-sum-exp, recomputing the scores block
  /// by block: no L x L tensor exists in the backward either.
  template <typename OpTy>
  LogicalResult backpropAttention(OpTy op, int64_t qChunk, int64_t kvChunk) {
    Operation *raw = op.getOperation();
    if (op.hasPureBufferSemantics())
      return unsupported(raw, "the op works on buffers, not tensors");
    Location loc = op.getLoc();
    Value out = raw->getResult(0);
    Value dOut = adjoints.lookup(out);
    if (op.getLse() && adjoints.lookup(raw->getResult(1)))
      return unsupported(raw, "the loss depends on its log-sum-exp result; "
                              "only the attention output is differentiated");
    if (!dOut)
      return success();
    Value lse = op.getLse() ? raw->getResult(1) : Value();
    if (!lse) {
      // The forward again, also writing the log-sum-exp. The original loses
      // its uses here and is erased after the sweep (the sweep's list of
      // forward ops still points at it).
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(op);
      SmallVector<OpFoldResult> sizes =
          tensor::getMixedSizes(b, loc, op.getQuery());
      sizes.pop_back();
      Value lseInit = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
      Operation *fwd = withLogSumExp(op, lseInit);
      fwd->setDiscardableAttrs(raw->getDiscardableAttrDictionary());
      out.replaceAllUsesWith(fwd->getResult(0));
      replacedForward.push_back(raw);
      out = fwd->getResult(0);
      lse = fwd->getResult(1);
    }
    // Inits of the gradients (overwritten by the op).
    auto emptyLike = [&](Value v) -> Value {
      return tensor::EmptyOp::create(
          b, loc, tensor::getMixedSizes(b, loc, v),
          cast<RankedTensorType>(v.getType()).getElementType());
    };
    SmallVector<Value> inits = {emptyLike(op.getQuery()),
                                emptyLike(op.getKey()),
                                emptyLike(op.getValue())};
    SmallVector<int64_t> biasIndices;
    SmallVector<Value> biasInits;
    for (auto [i, bias] : llvm::enumerate(op.getBiases()))
      if (active.contains(bias)) {
        biasIndices.push_back(i);
        biasInits.push_back(emptyLike(bias));
      }
    SmallVector<Type> types;
    for (Value v : inits)
      types.push_back(v.getType());
    for (Value v : biasInits)
      types.push_back(v.getType());
    auto grad = lathe::memred::AttentionGradOp::create(
        b, loc, types, op.getQuery(), op.getKey(), op.getValue(), out, dOut,
        lse, op.getBiases(), inits[0], inits[1], inits[2], biasInits,
        biasIndices.empty() ? DenseI64ArrayAttr()
                            : b.getDenseI64ArrayAttr(biasIndices),
        op.getScaleAttr(), b.getI64IntegerAttr(qChunk),
        b.getI64IntegerAttr(kvChunk));
    ++numBackwardOps;
    addAdjoint(op.getQuery(), grad.getResult()[0]);
    addAdjoint(op.getKey(), grad.getResult()[1]);
    addAdjoint(op.getValue(), grad.getResult()[2]);
    for (auto [pos, i] : llvm::enumerate(biasIndices))
      addAdjoint(op.getBiases()[i], grad.getResult()[3 + pos]);
    return success();
  }

  func::FuncOp fn;
  OpBuilder b;
  SmallVector<Transposed> transposed;
  DenseSet<Value> active;
  DenseMap<Value, Value> adjoints;
  /// Forward ops replaced during the sweep (erased at its end).
  SmallVector<Operation *> replacedForward;
};

/// Inputs of generics read through constant-0 results on unit dimensions
/// (an importer's bias broadcast: tensor<16x1x1xf32> read at (d1, 0, 0))
/// become collapse_shapes read through the remaining results ((d1) on
/// tensor<16xf32>): the same values, but a projected permutation, whose
/// gradient is a reduction generic instead of a scalar scatter loop.
void collapseUnitConstantReads(func::FuncOp fn) {
  fn.walk([](linalg::GenericOp op) {
    if (!op.hasPureTensorSemantics())
      return;
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    bool changed = false;
    OpBuilder b(op);
    for (OpOperand *in : op.getDpsInputOperands()) {
      auto type = dyn_cast<RankedTensorType>(in->get().getType());
      if (!type || type.getRank() == 0)
        continue;
      AffineMap map = maps[in->getOperandNumber()];
      SmallVector<AffineExpr> kept;
      SmallVector<int64_t> keptSizes;
      SmallVector<ReassociationIndices> groups;
      ReassociationIndices pending;
      bool dropped = false, ok = true;
      for (auto [i, e] : llvm::enumerate(map.getResults())) {
        pending.push_back(i);
        auto c = dyn_cast<AffineConstantExpr>(e);
        if (c && c.getValue() == 0 && type.getDimSize(i) == 1) {
          dropped = true;
          continue;
        }
        if (c) {
          ok = false;
          break;
        }
        kept.push_back(e);
        keptSizes.push_back(type.getDimSize(i));
        groups.push_back(pending);
        pending.clear();
      }
      if (!ok || !dropped)
        continue;
      if (!pending.empty() && !groups.empty())
        groups.back().append(pending.begin(), pending.end());
      auto collapsedType =
          RankedTensorType::get(keptSizes, type.getElementType());
      Value collapsed = tensor::CollapseShapeOp::create(
          b, op.getLoc(), collapsedType, in->get(), groups);
      in->set(collapsed);
      maps[in->getOperandNumber()] =
          AffineMap::get(map.getNumDims(), 0, kept, op.getContext());
      changed = true;
    }
    if (changed)
      op.setIndexingMapsAttr(b.getAffineMapArrayAttr(maps));
  });
}

struct LatheDifferentiate
    : public lathe::impl::LatheDifferentiateBase<LatheDifferentiate> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> todo;
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      bool hasParam = false;
      for (unsigned i = 0; i < fn.getNumArguments(); ++i)
        hasParam |= bool(fn.getArgAttr(i, kParamAttr));
      if (hasParam && (function.empty() || fn.getSymName() == function))
        todo.push_back(fn);
    }
    if (!function.empty() && todo.empty()) {
      module.emitError("lathe-differentiate: no function '")
          << function << "' with arguments marked " << kParamAttr;
      return signalPassFailure();
    }
    SymbolTable symbols(module);
    for (func::FuncOp fn : todo) {
      if (failed(checkSignature(fn)))
        return signalPassFailure();
      auto grad = cast<func::FuncOp>(fn->clone());
      grad.setSymName((fn.getSymName() + "_grad").str());
      grad->removeAttr("lathe.signature");
      symbols.insert(grad, std::next(Block::iterator(fn)));
      collapseUnitConstantReads(grad);
      Differentiator d(grad);
      if (failed(d.run()))
        return signalPassFailure();
      numFunctions++;
      numBackwardOps += d.numBackwardOps;
    }
  }

  LogicalResult checkSignature(func::FuncOp fn) {
    FunctionType type = fn.getFunctionType();
    Block &body = fn.getBody().front();
    if (!llvm::hasSingleElement(fn.getBody()))
      return fn.emitError("lathe-differentiate: @")
             << fn.getSymName() << " must be one block (straight-line code)";
    auto lossType = type.getNumResults() == 1 ? type.getResult(0) : Type();
    auto lossTensor = dyn_cast_or_null<RankedTensorType>(lossType);
    bool scalarLoss = lossType && isa<FloatType>(lossType);
    if (!scalarLoss && !(lossTensor && lossTensor.getRank() == 0 &&
                         isa<FloatType>(lossTensor.getElementType())))
      return fn.emitError("lathe-differentiate: @")
             << fn.getSymName()
             << " must return one scalar loss (tensor<f32> or f32), but "
                "returns "
             << type.getResults();
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      if (fn.getArgAttr(i, kParamAttr) &&
          !isFloatTensor(body.getArgument(i).getType()))
        return fn.emitError("lathe-differentiate: argument #")
               << i << " of @" << fn.getSymName() << " is marked " << kParamAttr
               << " but is not a float tensor";
    return success();
  }
};

} // namespace
