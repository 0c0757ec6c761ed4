//===- RaiseAttention.cpp - linalg attention to memred.attention ----------===//

#include "lathe/Dialect/MemRed/MemRedOps.h"
#include "lathe/Dialect/MemRed/Passes.h"
#include "lathe/Interfaces/Target.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::lathe::memred {
#define GEN_PASS_DEF_MEMREDRAISEATTENTION
#include "lathe/Dialect/MemRed/Passes.h.inc"
} // namespace mlir::lathe::memred

using namespace mlir;
using namespace mlir::lathe::memred;

namespace {

/// The float constant `value` is (an arith.constant, possibly defined inside
/// a linalg body), or nullopt.
std::optional<double> getFloatConstant(Value value) {
  FloatAttr attr;
  if (matchPattern(value, m_Constant(&attr)))
    return attr.getValueAsDouble();
  return std::nullopt;
}

/// The init of a DPS op when it is a linalg.fill of `expected` (checked
/// with `isExpected`), returning the filled tensor; null otherwise.
Value filledTensor(Value init, function_ref<bool(double)> isExpected) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return {};
  std::optional<double> v = getFloatConstant(fill.getInputs()[0]);
  if (!v || !isExpected(*v))
    return {};
  return fill.getOutputs()[0];
}

bool isZero(double v) { return v == 0.0; }

/// The single non-yield op of a linalg.generic body, or null.
Operation *singleBodyOp(linalg::GenericOp op, unsigned expectedOps = 1) {
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != expectedOps + 1)
    return nullptr;
  return &body.front();
}

bool allParallel(linalg::GenericOp op) {
  return op.getNumParallelLoops() == op.getNumLoops();
}

bool allIdentity(linalg::GenericOp op) {
  return llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); });
}

/// Reduction over the last loop of a rank-n generic: one input with the
/// identity map, init indexed by the leading n-1 loops. Returns the body op
/// combining (in, out) if it is the only one.
Operation *lastDimReduction(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1)
    return nullptr;
  auto iters = op.getIteratorTypesArray();
  if (iters.back() != utils::IteratorType::reduction)
    return nullptr;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned n = op.getNumLoops();
  if (!maps[0].isIdentity() || maps[1].getNumResults() != n - 1)
    return nullptr;
  for (unsigned i = 0; i + 1 < n; ++i)
    if (maps[1].getResult(i) != getAffineDimExpr(i, op.getContext()))
      return nullptr;
  Operation *combine = singleBodyOp(op);
  if (!combine || combine->getNumOperands() != 2)
    return nullptr;
  Block &body = op.getRegion().front();
  auto operands = combine->getOperands();
  bool usesBoth = (operands[0] == body.getArgument(0) &&
                   operands[1] == body.getArgument(1)) ||
                  (operands[0] == body.getArgument(1) &&
                   operands[1] == body.getArgument(0));
  return usesBoth ? combine : nullptr;
}

/// An element-wise generic with inputs (x [n-d], row [n-1 d]) and an init
/// with identity map: the (x, row-broadcast) shape of exp(x - max) and
/// e / sum.
bool isRowBroadcastBinary(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || !allParallel(op))
    return false;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned n = op.getNumLoops();
  if (!maps[0].isIdentity() || !maps[2].isIdentity() ||
      maps[1].getNumResults() != n - 1)
    return false;
  for (unsigned i = 0; i + 1 < n; ++i)
    if (maps[1].getResult(i) != getAffineDimExpr(i, op.getContext()))
      return false;
  return true;
}

/// Matches softmax over the last dimension; returns its input and sets
/// `inputUses` to the number of uses of the input the softmax accounts for.
Value matchSoftmax(Value probs, unsigned &inputUses) {
  inputUses = 1;
  if (auto softmax = probs.getDefiningOp<linalg::SoftmaxOp>()) {
    auto type = cast<ShapedType>(softmax.getInput().getType());
    if (softmax.getDimension() != type.getRank() - 1 ||
        !softmax->getResult(0).hasOneUse())
      return {};
    return softmax.getInput();
  }
  // Decomposed: div(e, sum(e)), e = exp(x - max(x)).
  auto div = probs.getDefiningOp<linalg::GenericOp>();
  if (!div || !isRowBroadcastBinary(div))
    return {};
  Operation *divOp = singleBodyOp(div);
  Block &divBody = div.getRegion().front();
  if (!isa_and_nonnull<arith::DivFOp>(divOp) ||
      divOp->getOperand(0) != divBody.getArgument(0) ||
      divOp->getOperand(1) != divBody.getArgument(1))
    return {};
  Value e = div.getDpsInputs()[0];
  auto sum = div.getDpsInputs()[1].getDefiningOp<linalg::GenericOp>();
  if (!sum || sum.getDpsInputs()[0] != e ||
      !isa_and_nonnull<arith::AddFOp>(lastDimReduction(sum)) ||
      !filledTensor(sum.getDpsInits()[0], isZero))
    return {};
  auto exp = e.getDefiningOp<linalg::GenericOp>();
  if (!exp || !isRowBroadcastBinary(exp))
    return {};
  Operation *sub = singleBodyOp(exp, 2);
  Block &expBody = exp.getRegion().front();
  if (!isa_and_nonnull<arith::SubFOp>(sub) ||
      sub->getOperand(0) != expBody.getArgument(0) ||
      sub->getOperand(1) != expBody.getArgument(1) ||
      !isa<math::ExpOp>(sub->getNextNode()) ||
      sub->getNextNode()->getOperand(0) != sub->getResult(0))
    return {};
  Value x = exp.getDpsInputs()[0];
  auto max = exp.getDpsInputs()[1].getDefiningOp<linalg::GenericOp>();
  if (!max || max.getDpsInputs()[0] != x ||
      !isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp>(
          lastDimReduction(max)) ||
      !filledTensor(max.getDpsInits()[0],
                    [](double v) { return std::isinf(v) && v < 0; }))
    return {};
  // Each intermediate feeds only this softmax.
  auto uses = [](Value v) {
    return static_cast<unsigned>(std::distance(v.use_begin(), v.use_end()));
  };
  if (uses(probs) != 1 || uses(e) != 2 || uses(sum->getResult(0)) != 1 ||
      uses(max->getResult(0)) != 1 || uses(x) != 2)
    return {};
  inputUses = 2;
  return x;
}

/// The splat value of a constant tensor, or nullopt.
std::optional<double> getSplatConstant(Value value) {
  DenseElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// Matches x = s * c (or s / c, c * s) element-wise, with c a constant in
/// the body or a splat constant tensor read by a broadcasting map (the ONNX
/// importer's `Div` by a 0-d tensor); returns s and sets `scale`. Anything
/// else: returns `x` with scale 1.
Value matchScale(Value x, unsigned xUses, double &scale) {
  scale = 1.0;
  auto gen = x.getDefiningOp<linalg::GenericOp>();
  if (!gen || gen.getNumDpsInits() != 1 || !allParallel(gen) ||
      (gen.getNumDpsInputs() != 1 && gen.getNumDpsInputs() != 2) ||
      !gen.getIndexingMapsArray().back().isIdentity())
    return x;
  Block &body = gen.getRegion().front();
  // The scaled operand: the input with the identity map and x's type.
  std::optional<unsigned> scaled;
  std::optional<double> tensorConstant;
  for (auto [i, in] : llvm::enumerate(gen.getDpsInputs())) {
    AffineMap map = gen.getIndexingMapsArray()[i];
    if (map.isIdentity() && in.getType() == x.getType() && !scaled) {
      scaled = i;
      continue;
    }
    tensorConstant = getSplatConstant(in);
    if (!tensorConstant)
      return x;
  }
  if (!scaled)
    return x;
  // The constant may be defined inside the body.
  Operation *yield = body.getTerminator();
  auto *op = yield->getOperand(0).getDefiningOp();
  if (!op || op->getBlock() != &body)
    return x;
  Value in = body.getArgument(*scaled);
  auto constantOf = [&](Value v) -> std::optional<double> {
    if (gen.getNumDpsInputs() == 2 && v == body.getArgument(1 - *scaled))
      return tensorConstant;
    return getFloatConstant(v);
  };
  std::optional<double> c;
  if (isa<arith::MulFOp>(op)) {
    if (op->getOperand(0) == in)
      c = constantOf(op->getOperand(1));
    else if (op->getOperand(1) == in)
      c = constantOf(op->getOperand(0));
  } else if (isa<arith::DivFOp>(op) && op->getOperand(0) == in) {
    if (std::optional<double> d = constantOf(op->getOperand(1)); d && *d != 0.0)
      c = 1.0 / *d;
  }
  unsigned bodyOps = 0;
  for (Operation &o : body.without_terminator())
    bodyOps += isa<arith::ConstantOp>(o) ? 0 : 1;
  if (!c || bodyOps != 1 || std::distance(x.use_begin(), x.use_end()) != xUses)
    return x;
  scale = *c;
  return gen.getDpsInputs()[*scaled];
}

/// Matches x = s + bias element-wise, the bias read through a broadcasting
/// map (a subset of the loops, in order: a causal mask [Lq, Lk] added to
/// scores [B, H, Lq, Lk]); returns s and appends the bias and its map to
/// `biases`, or returns `x` when it is not such an add.
Value matchBiasAdd(Value x, unsigned xUses,
                   SmallVectorImpl<std::pair<Value, AffineMap>> &biases) {
  auto gen = x.getDefiningOp<linalg::GenericOp>();
  if (!gen || gen.getNumDpsInputs() != 2 || gen.getNumDpsInits() != 1 ||
      !allParallel(gen) || !gen.getIndexingMapsArray().back().isIdentity() ||
      std::distance(x.use_begin(), x.use_end()) != xUses)
    return x;
  Operation *add = singleBodyOp(gen);
  Block &body = gen.getRegion().front();
  if (!isa_and_nonnull<arith::AddFOp>(add) ||
      body.getTerminator()->getOperand(0) != add->getResult(0))
    return x;
  SmallVector<AffineMap> maps = gen.getIndexingMapsArray();
  for (unsigned scoresPos : {0u, 1u}) {
    unsigned biasPos = 1 - scoresPos;
    Value scores = gen.getDpsInputs()[scoresPos];
    Value bias = gen.getDpsInputs()[biasPos];
    if (!maps[scoresPos].isIdentity() || scores.getType() != x.getType())
      continue;
    AffineMap biasMap = maps[biasPos];
    auto biasType = dyn_cast<RankedTensorType>(bias.getType());
    if (!biasType || !biasType.hasStaticShape() || biasType.getRank() == 0 ||
        !biasType.getElementType().isF32())
      continue;
    // Either a subset of the loops in order ([Lq, Lk] of [B, H, Lq, Lk]),
    // or every loop in order with a constant 0 on size-1 dims ([B, 1, Lq,
    // Lk] read at (b, 0, i, j)).
    bool fullRank = biasType.getRank() == int64_t(biasMap.getNumDims());
    bool ok = true;
    int64_t last = -1;
    for (auto [i, e] : llvm::enumerate(biasMap.getResults())) {
      if (auto dim = dyn_cast<AffineDimExpr>(e)) {
        ok = ok && int64_t(dim.getPosition()) > last &&
             (!fullRank || dim.getPosition() == i);
        last = dim.getPosition();
        continue;
      }
      auto c = dyn_cast<AffineConstantExpr>(e);
      ok = ok && fullRank && c && c.getValue() == 0 &&
           biasType.getDimSize(i) == 1;
    }
    if (!ok)
      continue;
    bool operandsOk =
        llvm::is_contained(add->getOperands(), body.getArgument(0)) &&
        llvm::is_contained(add->getOperands(), body.getArgument(1));
    if (!operandsOk)
      return x;
    biases.push_back({bias, biasMap});
    return scores;
  }
  return x;
}

/// Looks back through tensor.collapse_shape / expand_shape ops (each result
/// used once) from `v`; returns the first value that is not such a reshape's
/// result. With static shapes that keep the last two sizes and the element
/// count, the chain only merges or splits the leading (batch) dimensions.
Value throughReshapes(Value v) {
  while (isa_and_nonnull<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(
             v.getDefiningOp()) &&
         v.hasOneUse())
    v = v.getDefiningOp()->getOperand(0);
  return v;
}

/// `a` and `b` are static, rank >= 3 and have the same last two sizes and
/// element count (row-major reshapes of each other over the leading dims).
bool sameRowsAndCount(Type a, Type b) {
  auto at = dyn_cast<RankedTensorType>(a), bt = dyn_cast<RankedTensorType>(b);
  if (!at || !bt || !at.hasStaticShape() || !bt.hasStaticShape() ||
      at.getRank() < 3 || bt.getRank() < 3)
    return false;
  return at.getShape().take_back(2) == bt.getShape().take_back(2) &&
         at.getNumElements() == bt.getNumElements();
}

/// A batched product C[b, i, j] = Σ_k A[b, i, k] · B[b, k, j] (or, with
/// `transposedRhs`, B[b, j, k]) on tensors: linalg.batch_matmul with plain or
/// transposing indexing_maps, or the matmul-shaped linalg.generic importers
/// write (ONNX MatMul).
struct BatchMatmulMatch {
  Value lhs, rhs, init;
  bool transposedRhs;
};

std::optional<BatchMatmulMatch> matchBatchMatmul(Operation *op) {
  auto linalgOp = dyn_cast_or_null<linalg::LinalgOp>(op);
  if (!linalgOp || !linalgOp.hasPureTensorSemantics() ||
      linalgOp.getNumDpsInputs() != 2 || linalgOp.getNumDpsInits() != 1 ||
      linalgOp.getNumLoops() != 4)
    return std::nullopt;
  MLIRContext *ctx = op->getContext();
  AffineExpr d0, d1, d2, d3;
  bindDims(ctx, d0, d1, d2, d3);
  auto maps = [&](ArrayRef<AffineExpr> rhs) {
    return SmallVector<AffineMap>{AffineMap::get(4, 0, {d0, d1, d3}, ctx),
                                  AffineMap::get(4, 0, rhs, ctx),
                                  AffineMap::get(4, 0, {d0, d1, d2}, ctx)};
  };
  SmallVector<AffineMap> actual = linalgOp.getIndexingMapsArray();
  bool plain = actual == maps({d0, d3, d2});
  bool transposed = actual == maps({d0, d2, d3});
  if (!plain && !transposed)
    return std::nullopt;
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    auto iters = generic.getIteratorTypesArray();
    if (iters[0] != utils::IteratorType::parallel ||
        iters[1] != utils::IteratorType::parallel ||
        iters[2] != utils::IteratorType::parallel ||
        iters[3] != utils::IteratorType::reduction)
      return std::nullopt;
    Block &body = generic.getRegion().front();
    if (body.getOperations().size() != 3)
      return std::nullopt;
    auto mul = dyn_cast<arith::MulFOp>(body.front());
    auto add = dyn_cast<arith::AddFOp>(*std::next(body.begin()));
    if (!mul || !add || body.getTerminator()->getOperand(0) != add)
      return std::nullopt;
    Value a = body.getArgument(0), b = body.getArgument(1),
          out = body.getArgument(2);
    bool mulOk = (mul.getLhs() == a && mul.getRhs() == b) ||
                 (mul.getLhs() == b && mul.getRhs() == a);
    bool addOk = (add.getLhs() == out && add.getRhs() == mul) ||
                 (add.getLhs() == mul && add.getRhs() == out);
    if (!mulOk || !addOk)
      return std::nullopt;
  } else if (!isa<linalg::BatchMatmulOp>(op)) {
    return std::nullopt;
  }
  return BatchMatmulMatch{linalgOp.getDpsInputs()[0],
                          linalgOp.getDpsInputs()[1], linalgOp.getDpsInits()[0],
                          transposed};
}

/// `bias`, read by `map` (increasing loop dims) in a rank-`rank` iteration
/// space, as a rank-`rank` tensor with size-1 dims where the map skips a loop
/// (the memred bias convention).
Value expandBias(PatternRewriter &rewriter, Location loc, Value bias,
                 AffineMap map, int64_t rank) {
  auto bt = cast<RankedTensorType>(bias.getType());
  if (bt.getRank() == rank)
    return bias;
  SmallVector<int64_t> shape(rank, 1);
  SmallVector<ReassociationIndices> reassociation(bt.getRank());
  int64_t next = 0;
  for (auto [i, e] : llvm::enumerate(map.getResults())) {
    int64_t d = cast<AffineDimExpr>(e).getPosition();
    shape[d] = bt.getDimSize(i);
    for (int64_t j = next; j <= d; ++j)
      reassociation[i].push_back(j);
    next = d + 1;
  }
  for (int64_t j = next; j < rank; ++j)
    reassociation.back().push_back(j);
  return tensor::ExpandShapeOp::create(
      rewriter, loc, RankedTensorType::get(shape, bt.getElementType()), bias,
      reassociation);
}

/// softmax(Q·Kᵀ·s)·V anchored on the P·V product (`OpTy` is
/// linalg.batch_matmul or a matmul-shaped linalg.generic).
template <typename OpTy> struct RaiseAttention : public OpRewritePattern<OpTy> {
  RaiseAttention(MLIRContext *context, int64_t minScores)
      : OpRewritePattern<OpTy>(context), minScores(minScores) {}

  /// Attention with fewer scores per batch stays linalg (see the pass).
  int64_t minScores;

  LogicalResult matchAndRewrite(OpTy pvOp,
                                PatternRewriter &rewriter) const override {
    std::optional<BatchMatmulMatch> pv = matchBatchMatmul(pvOp);
    if (!pv || pv->transposedRhs)
      return rewriter.notifyMatchFailure(pvOp, "not a plain batched P·V");
    Value init = filledTensor(pv->init, isZero);
    if (!init)
      return rewriter.notifyMatchFailure(pvOp,
                                         "accumulates into non-zero init");
    Value probs = pv->lhs, v = pv->rhs;
    // The softmax may be on a view that splits the batch (e.g. [B, H, L, L]
    // of the [B·H, L, L] products), reached through reshapes.
    Value probsN = throughReshapes(probs);
    if (probsN != probs && !sameRowsAndCount(probs.getType(), probsN.getType()))
      return rewriter.notifyMatchFailure(pvOp, "reshape of the probabilities "
                                               "is not over the batch dims");
    unsigned xUses;
    Value x = matchSoftmax(probsN, xUses);
    if (!x)
      return rewriter.notifyMatchFailure(pvOp, "lhs is not a last-dim softmax");
    // Up to two additive biases (a mask, a pair bias), innermost first.
    SmallVector<std::pair<Value, AffineMap>> biasMatches;
    Value y = x;
    unsigned yUses = xUses;
    for (int n = 0; n < 2; ++n) {
      Value below = matchBiasAdd(y, yUses, biasMatches);
      if (below == y)
        break;
      y = below;
      yUses = 1;
    }
    std::reverse(biasMatches.begin(), biasMatches.end());
    double scale;
    Value sN = matchScale(y, yUses, scale);
    unsigned sUses = sN == y ? yUses : 1;
    Value s = throughReshapes(sN);
    if (s != sN && (sUses != 1 || !s.hasOneUse() ||
                    !sameRowsAndCount(s.getType(), sN.getType())))
      return rewriter.notifyMatchFailure(pvOp, "reshape of the scores is not "
                                               "over the batch dims");
    std::optional<BatchMatmulMatch> qk = matchBatchMatmul(s.getDefiningOp());
    if (!qk ||
        (s == sN && std::distance(s.use_begin(), s.use_end()) != sUses) ||
        !filledTensor(qk->init, isZero))
      return rewriter.notifyMatchFailure(pvOp, "scores are not Q·Kᵀ");
    // The op is built in the softmax's rank (batch dims split as there).
    auto softmaxType = cast<RankedTensorType>(probsN.getType());
    int64_t rank = softmaxType.getRank();
    if (rank > 5 ||
        (rank != 3 && (!softmaxType.hasStaticShape() ||
                       !cast<ShapedType>(qk->lhs.getType()).hasStaticShape() ||
                       !cast<ShapedType>(qk->rhs.getType()).hasStaticShape() ||
                       !cast<ShapedType>(v.getType()).hasStaticShape())))
      return rewriter.notifyMatchFailure(pvOp, "batch dims split with "
                                               "dynamic sizes");
    auto scoresType = cast<ShapedType>(s.getType());
    if (scoresType.getRank() == 3 && !scoresType.isDynamicDim(1) &&
        !scoresType.isDynamicDim(2) &&
        scoresType.getDimSize(1) * scoresType.getDimSize(2) < minScores)
      return rewriter.notifyMatchFailure(pvOp, "fewer scores than min-scores");
    Value q = qk->lhs, k;
    Location loc = pvOp.getLoc();
    for (Value operand : {q, qk->rhs, v, init})
      if (!cast<ShapedType>(operand.getType()).getElementType().isF32())
        return rewriter.notifyMatchFailure(pvOp, "not f32");
    if (qk->transposedRhs) {
      k = qk->rhs;
    } else {
      Value kt = qk->rhs;
      auto tr = kt.getDefiningOp<linalg::TransposeOp>();
      if (tr && tr.getPermutation() == ArrayRef<int64_t>{0, 2, 1}) {
        k = tr.getInput();
      } else {
        auto ktType = cast<RankedTensorType>(kt.getType());
        SmallVector<OpFoldResult> sizes =
            tensor::getMixedSizes(rewriter, loc, kt);
        std::swap(sizes[1], sizes[2]);
        Value empty = tensor::EmptyOp::create(rewriter, loc, sizes,
                                              ktType.getElementType());
        k = linalg::TransposeOp::create(rewriter, loc, kt, empty,
                                        ArrayRef<int64_t>{0, 2, 1})
                ->getResult(0);
      }
    }
    if (rank == 3) {
      SmallVector<Value> biases;
      for (auto [bias, map] : biasMatches)
        biases.push_back(expandBias(rewriter, loc, bias, map, rank));
      auto attn = AttentionOp::create(
          rewriter, loc, TypeRange{init.getType()}, q, k, v, biases, init,
          /*lse=*/Value(), rewriter.getF32FloatAttr(static_cast<float>(scale)));
      rewriter.replaceOp(pvOp, attn->getResults());
      return success();
    }
    // [N, a, b] <-> [lead..., a, b].
    ArrayRef<int64_t> lead = softmaxType.getShape().drop_back(2);
    SmallVector<ReassociationIndices> reassociation(3);
    for (int64_t d = 0; d < rank - 2; ++d)
      reassociation[0].push_back(d);
    reassociation[1] = {rank - 2};
    reassociation[2] = {rank - 1};
    auto splitType = [&](Value t) {
      auto tt = cast<RankedTensorType>(t.getType());
      SmallVector<int64_t> shape(lead);
      shape.append({tt.getDimSize(1), tt.getDimSize(2)});
      return RankedTensorType::get(shape, tt.getElementType());
    };
    auto split = [&](Value t) -> Value {
      return tensor::ExpandShapeOp::create(rewriter, loc, splitType(t), t,
                                           reassociation);
    };
    SmallVector<Value> biases;
    for (auto [bias, map] : biasMatches)
      biases.push_back(expandBias(rewriter, loc, bias, map, rank));
    RankedTensorType outType = splitType(pv->init);
    Value out = tensor::EmptyOp::create(rewriter, loc, outType.getShape(),
                                        outType.getElementType());
    auto attn = AttentionOp::create(
        rewriter, loc, TypeRange{outType}, split(q), split(k), split(v), biases,
        out, /*lse=*/Value(),
        rewriter.getF32FloatAttr(static_cast<float>(scale)));
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        pvOp, pvOp->getResult(0).getType(), attn->getResult(0), reassociation);
    return success();
  }
};

struct MemRedRaiseAttention
    : public lathe::memred::impl::MemRedRaiseAttentionBase<
          MemRedRaiseAttention> {
  using Base::Base;

  void runOnOperation() override {
    FailureOr<int64_t> scores =
        minScores == -1
            ? mlir::lathe::getTargetInteger(getOperation(), "memred",
                                            "attention_min_scores",
                                            /*min=*/0)
            : FailureOr<int64_t>(minScores);
    if (failed(scores))
      return signalPassFailure();
    if (*scores < 0) {
      getOperation().emitError()
          << "memred-raise-attention: expects min-scores >= 0 (or -1: the "
             "target's), got "
          << *scores;
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateRaiseAttentionPatterns(patterns, *scores);
    // Only the raise: no folding or constant hoisting elsewhere in the
    // function (lathe-train runs this before lathe-differentiate, whose
    // rules expect the importer's forms, e.g. constants inside guarded
    // gather bodies).
    GreedyRewriteConfig config;
    config.enableFolding(false).enableConstantCSE(false);
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace

void mlir::lathe::memred::populateRaiseAttentionPatterns(
    RewritePatternSet &patterns, int64_t minScores) {
  patterns.add<RaiseAttention<linalg::BatchMatmulOp>,
               RaiseAttention<linalg::GenericOp>>(patterns.getContext(),
                                                  minScores);
}
