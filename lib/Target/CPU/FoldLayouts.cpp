//===- FoldLayouts.cpp - Layout changes and scales into lathe.matmul ------===//
//
// Multi-head attention written on tensors splits heads with
//   expand_shape [B*S, H*D] -> [B, S, H, D], transpose -> [B, H, S, D],
//   collapse_shape -> [B*H, S, D]
// and merges them back the same way. Each transpose is a full copy once
// bufferized, although oneDNN can read and write the [B, S, H, D] layout in
// place through strides. These patterns move such layout changes into the
// matmul (rank-4 operands read through `lhs_perm` / `rhs_perm` / `init_perm`)
// and fold a constant scale of the product (attention's 1/sqrt(d)) into
// `alpha`, so the head split and merge cost nothing at run time.
//
//===----------------------------------------------------------------------===//

#include "LayoutViews.h"

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include "llvm/ADT/SmallBitVector.h"

#include <cmath>
#include <optional>
#include <set>

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::views;

namespace {

/// `value` is `tensor.collapse_shape %src [[0, 1], [2], [3]]` of a statically
/// shaped rank-4 tensor: returns %src.
static Value collapsedBatchSource(Value value) {
  auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse)
    return {};
  auto srcType = dyn_cast<RankedTensorType>(collapse.getSrc().getType());
  if (!srcType || srcType.getRank() != 4 || !srcType.hasStaticShape())
    return {};
  SmallVector<ReassociationIndices> reassoc =
      collapse.getReassociationIndices();
  if (reassoc.size() != 3 || reassoc[0] != ReassociationIndices{0, 1} ||
      reassoc[1] != ReassociationIndices{2} ||
      reassoc[2] != ReassociationIndices{3})
    return {};
  return collapse.getSrc();
}

static SmallVector<ReassociationIndices> batchReassociation() {
  return {{0, 1}, {2}, {3}};
}

/// `value` ([B1*B2, X, Y]) as [B1, B2, X, Y] (a view once bufferized).
static Value expandBatch(PatternRewriter &rewriter, Location loc, Value value,
                         int64_t b1, int64_t b2) {
  if (Value src = collapsedBatchSource(value)) {
    auto shape = cast<RankedTensorType>(src.getType()).getShape();
    if (shape[0] == b1 && shape[1] == b2)
      return src;
  }
  auto type = cast<RankedTensorType>(value.getType());
  auto expanded = RankedTensorType::get(
      {b1, b2, type.getDimSize(1), type.getDimSize(2)}, type.getElementType());
  return tensor::ExpandShapeOp::create(rewriter, loc, expanded, value,
                                       batchReassociation());
}

/// A rank-3 lathe.matmul with an operand that is the batch-collapse of a
/// transposed rank-4 tensor (heads split by transpose) becomes a rank-4
/// lathe.matmul, so the transpose can fold into it; its result is collapsed
/// back for the old users.
struct ExpandHeadBatch : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureBufferSemantics() || op.getLhsPerm() || op.getRhsPerm() ||
        op.getInitPerm())
      return rewriter.notifyMatchFailure(op, "not a plain tensor matmul");
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    if (initType.getRank() != 3 || !initType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "not a static batched matmul");
    Value lhsSrc = collapsedBatchSource(op.getLhs());
    Value rhsSrc = cast<ShapedType>(op.getRhs().getType()).getRank() == 3
                       ? collapsedBatchSource(op.getRhs())
                       : Value();
    auto fromTranspose = [](Value v) {
      return v && v.getDefiningOp<linalg::TransposeOp>();
    };
    if (!fromTranspose(lhsSrc) && !fromTranspose(rhsSrc))
      return rewriter.notifyMatchFailure(op, "no transposed head operand");
    auto batchDims = cast<RankedTensorType>(
                         (fromTranspose(lhsSrc) ? lhsSrc : rhsSrc).getType())
                         .getShape()
                         .take_front(2);
    int64_t b1 = batchDims[0], b2 = batchDims[1];

    Location loc = op.getLoc();
    Value lhs = expandBatch(rewriter, loc, op.getLhs(), b1, b2);
    Value rhs = cast<ShapedType>(op.getRhs().getType()).getRank() == 3
                    ? expandBatch(rewriter, loc, op.getRhs(), b1, b2)
                    : op.getRhs();
    Value init = expandBatch(rewriter, loc, op.getInit(), b1, b2);
    Value residual = op.getResidual()
                         ? expandBatch(rewriter, loc, op.getResidual(), b1, b2)
                         : Value();
    auto matmul =
        MatmulOp::create(rewriter, loc, TypeRange{init.getType()}, lhs, rhs,
                         op.getBias(), residual, init, op.getTransposeLhs(),
                         op.getTransposeRhs(), op.getActivation());
    matmul.setAlphaAttr(op.getAlphaAttr());
    Value collapsed = tensor::CollapseShapeOp::create(
        rewriter, loc, initType, matmul.getResult().front(),
        batchReassociation());
    rewriter.replaceOp(op, collapsed);
    return success();
  }
};

/// A rank-4 `linalg.transpose` feeding lhs or rhs of a lathe.matmul folds into
/// `lhs_perm` / `rhs_perm` (the runtime reads the strided view).
struct FoldOperandTranspose : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureBufferSemantics())
      return failure();
    auto folded = [](Value operand, DenseI64ArrayAttr perm)
        -> std::optional<std::pair<Value, SmallVector<int64_t>>> {
      auto transpose = operand.getDefiningOp<linalg::TransposeOp>();
      if (!transpose || transpose.getPermutation().size() != 4)
        return std::nullopt;
      SmallVector<int64_t> outer =
          perm ? llvm::to_vector(perm.asArrayRef()) : identityPermutation(4);
      return std::make_pair(
          transpose.getInput(),
          composePermutations(transpose.getPermutation(), outer));
    };
    auto lhs = folded(op.getLhs(), op.getLhsPermAttr());
    auto rhs = folded(op.getRhs(), op.getRhsPermAttr());
    if (!lhs && !rhs)
      return rewriter.notifyMatchFailure(op, "no rank-4 transposed operand");
    rewriter.modifyOpInPlace(op, [&] {
      if (lhs) {
        op.getLhsMutable().assign(lhs->first);
        op.setLhsPerm(lhs->second);
      }
      if (rhs) {
        op.getRhsMutable().assign(rhs->first);
        op.setRhsPerm(rhs->second);
      }
    });
    return success();
  }
};

/// A rank-4 lathe.matmul whose only user transposes its result writes the
/// transposed layout directly: the transpose's init becomes the matmul's init,
/// read through the inverse permutation.
struct FoldResultTranspose : public OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::TransposeOp transpose,
                                PatternRewriter &rewriter) const override {
    auto matmul = transpose.getInput().getDefiningOp<MatmulOp>();
    if (!matmul || !matmul->hasOneUse() || matmul.hasPureBufferSemantics() ||
        matmul.getResidual() || matmul.getInitPerm() ||
        transpose.getPermutation().size() != 4 ||
        !isa<RankedTensorType>(transpose->getResult(0).getType()))
      return rewriter.notifyMatchFailure(transpose, "no foldable matmul");
    // result = transpose(C, q)  <=>  C = transpose(result, inverse(q)).
    ArrayRef<int64_t> q = transpose.getPermutation();
    SmallVector<int64_t> inverse(q.size());
    for (size_t i = 0; i < q.size(); ++i)
      inverse[q[i]] = static_cast<int64_t>(i);
    Value init = transpose.getInit();
    auto fused =
        MatmulOp::create(rewriter, matmul.getLoc(), TypeRange{init.getType()},
                         matmul.getLhs(), matmul.getRhs(), matmul.getBias(),
                         Value(), init, matmul.getTransposeLhs(),
                         matmul.getTransposeRhs(), matmul.getActivation());
    fused.setLhsPermAttr(matmul.getLhsPermAttr());
    fused.setRhsPermAttr(matmul.getRhsPermAttr());
    fused.setInitPerm(inverse);
    fused.setAlphaAttr(matmul.getAlphaAttr());
    rewriter.replaceOp(transpose, fused.getResults());
    rewriter.eraseOp(matmul);
    return success();
  }
};

/// An element-wise generic that only multiplies (or divides) the result of a
/// single-use, bias-free lathe.matmul - possibly seen through a
/// collapse_shape - by a constant folds into the matmul's `alpha`.
struct FoldScaleIntoAlpha : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 1 ||
        op.getNumDpsInits() != 1 ||
        op.getNumParallelLoops() != op.getNumLoops() ||
        !llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); }))
      return rewriter.notifyMatchFailure(op, "not a unary element-wise op");
    Value input = op.getDpsInputs()[0];
    auto collapse = input.getDefiningOp<tensor::CollapseShapeOp>();
    if (collapse && !collapse->hasOneUse())
      return rewriter.notifyMatchFailure(op, "shared collapse");
    auto matmul =
        (collapse ? collapse.getSrc() : input).getDefiningOp<MatmulOp>();
    if (!matmul || !matmul->hasOneUse() || matmul.getBias() ||
        matmul.getResidual() || matmul.getActivation() != Activation::none)
      return rewriter.notifyMatchFailure(op, "no plain single-use matmul");
    if (op.getResult(0).getType() != input.getType())
      return rewriter.notifyMatchFailure(op, "changes the type");

    Block &body = op.getRegion().front();
    auto ops =
        llvm::to_vector(llvm::make_pointer_range(body.without_terminator()));
    if (ops.size() != 1 ||
        body.getTerminator()->getOperand(0) != ops[0]->getResult(0))
      return rewriter.notifyMatchFailure(op, "body is not one operation");
    Value arg = body.getArgument(0);
    Operation *inner = ops[0];
    FloatAttr constant;
    auto isConst = [&](Value v) {
      return matchPattern(v, m_Constant(&constant));
    };
    double factor;
    if (isa<arith::MulFOp>(inner) &&
        ((inner->getOperand(0) == arg && isConst(inner->getOperand(1))) ||
         (inner->getOperand(1) == arg && isConst(inner->getOperand(0)))))
      factor = constant.getValueAsDouble();
    else if (isa<arith::DivFOp>(inner) && inner->getOperand(0) == arg &&
             isConst(inner->getOperand(1)) &&
             constant.getValueAsDouble() != 0.0)
      factor = 1.0 / constant.getValueAsDouble();
    else
      return rewriter.notifyMatchFailure(op, "not a scale by a constant");
    if (!std::isfinite(factor))
      return rewriter.notifyMatchFailure(op, "scale is not finite");

    float alpha =
        static_cast<float>(matmul.getAlpha().convertToFloat() * factor);
    rewriter.modifyOpInPlace(
        matmul, [&] { matmul.setAlphaAttr(rewriter.getF32FloatAttr(alpha)); });
    rewriter.replaceOp(op, input);
    return success();
  }
};

/// A generic that only multiplies (or divides) one tensor element-wise by a
/// constant (an arith.constant in the body, or a constant splat input such
/// as the 0-d tensor the ONNX importer broadcasts): that tensor and the
/// factor.
static std::optional<std::pair<Value, double>>
constantScale(linalg::GenericOp op) {
  if (!op || !op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumDpsInputs() < 1 || op.getNumDpsInputs() > 2 ||
      op.getNumParallelLoops() != op.getNumLoops())
    return std::nullopt;
  Block &body = op.getRegion().front();
  auto ops =
      llvm::to_vector(llvm::make_pointer_range(body.without_terminator()));
  if (ops.size() != 1 ||
      body.getTerminator()->getOperand(0) != ops[0]->getResult(0))
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!maps.back().isIdentity())
    return std::nullopt;
  // The data input: identity map, the result's type.
  std::optional<unsigned> data;
  for (unsigned i = 0; i < op.getNumDpsInputs(); ++i)
    if (!data && maps[i].isIdentity() &&
        op.getDpsInputs()[i].getType() == op.getResult(0).getType())
      data = i;
  if (!data)
    return std::nullopt;
  Value arg = body.getArgument(*data);
  auto constantOf = [&](Value v) -> std::optional<double> {
    FloatAttr attr;
    if (matchPattern(v, m_Constant(&attr)))
      return attr.getValueAsDouble();
    auto blockArg = dyn_cast<BlockArgument>(v);
    if (!blockArg || blockArg.getOwner() != &body ||
        blockArg.getArgNumber() >= op.getNumDpsInputs() ||
        blockArg.getArgNumber() == *data)
      return std::nullopt;
    DenseElementsAttr dense;
    if (!matchPattern(op.getDpsInputs()[blockArg.getArgNumber()],
                      m_Constant(&dense)) ||
        !dense.isSplat() || !isa<FloatType>(dense.getElementType()))
      return std::nullopt;
    return dense.getSplatValue<APFloat>().convertToDouble();
  };
  Operation *inner = ops[0];
  if (inner->getNumOperands() != 2 ||
      llvm::any_of(inner->getOperands(), [&](Value v) {
        return isa<BlockArgument>(v) &&
               cast<BlockArgument>(v).getOwner() == &body &&
               cast<BlockArgument>(v).getArgNumber() >= op.getNumDpsInputs();
      }))
    return std::nullopt;
  std::optional<double> factor;
  if (isa<arith::MulFOp>(inner)) {
    if (inner->getOperand(0) == arg)
      factor = constantOf(inner->getOperand(1));
    else if (inner->getOperand(1) == arg)
      factor = constantOf(inner->getOperand(0));
  } else if (isa<arith::DivFOp>(inner) && inner->getOperand(0) == arg) {
    std::optional<double> divisor = constantOf(inner->getOperand(1));
    if (divisor && *divisor != 0.0)
      factor = 1.0 / *divisor;
  }
  // A second input that the body does not read as the constant is not a
  // scale.
  if (!factor || !std::isfinite(*factor))
    return std::nullopt;
  if (op.getNumDpsInputs() == 2 &&
      !llvm::is_contained(inner->getOperands(), body.getArgument(1 - *data)))
    return std::nullopt;
  return std::make_pair(op.getDpsInputs()[*data], *factor);
}

/// A constant scale of a bias-free matmul's lhs or rhs (PyTorch scales q
/// before the scores) folds into `alpha`.
struct FoldOperandScale : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureBufferSemantics() || op.getBias())
      return rewriter.notifyMatchFailure(op, "not a bias-free tensor matmul");
    auto scaleOf = [](Value v) -> std::optional<std::pair<Value, double>> {
      auto generic = v.getDefiningOp<linalg::GenericOp>();
      if (!generic || !generic->hasOneUse())
        return std::nullopt;
      return constantScale(generic);
    };
    auto lhs = scaleOf(op.getLhs());
    auto rhs = op.getRhs() != op.getLhs() ? scaleOf(op.getRhs()) : std::nullopt;
    if (!lhs && !rhs)
      return rewriter.notifyMatchFailure(op, "no scaled operand");
    double factor = (lhs ? lhs->second : 1.0) * (rhs ? rhs->second : 1.0);
    float alpha = static_cast<float>(op.getAlpha().convertToFloat() * factor);
    rewriter.modifyOpInPlace(op, [&] {
      if (lhs)
        op.getLhsMutable().assign(lhs->first);
      if (rhs)
        op.getRhsMutable().assign(rhs->first);
      op.setAlphaAttr(rewriter.getF32FloatAttr(alpha));
    });
    return success();
  }
};

static bool hasFoldableScale(MatmulOp op) {
  if (op.getBias())
    return false;
  for (Value v : {op.getLhs(), op.getRhs()}) {
    auto generic = v.getDefiningOp<linalg::GenericOp>();
    if (generic && generic->hasOneUse() && constantScale(generic))
      return true;
  }
  return false;
}

/// A linalg.transpose that only moves unit dimensions is a reshape (a view
/// once bufferized, not a copy).
struct TransposeOfUnitDims : public OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::TransposeOp op,
                                PatternRewriter &rewriter) const override {
    Value input = op.getInput();
    if (!isStatic(input) || !isStatic(op->getResult(0)))
      return rewriter.notifyMatchFailure(op, "not static tensors");
    View view = baseView(input);
    AtomDim all;
    for (int64_t p : op.getPermutation())
      all.append(view.dims[p].begin(), view.dims[p].end());
    all = normalized(all);
    if (all.size() > 1 || (all.size() == 1 && all[0].stride != 1))
      return rewriter.notifyMatchFailure(op, "moves data");
    auto shape = cast<RankedTensorType>(op->getResult(0).getType()).getShape();
    rewriter.replaceOp(op, reshapeTo(rewriter, op.getLoc(), input, shape));
    return success();
  }
};

static bool plainRank2(MatmulOp op) {
  return !op.hasPureBufferSemantics() && !op.getResidual() &&
         !op.getLhsPerm() && !op.getRhsPerm() && !op.getInitPerm() &&
         !op.getTransposeLhs() && isStatic(op.getInit()) &&
         isStatic(op.getLhs()) &&
         cast<RankedTensorType>(op.getInit().getType()).getRank() == 2 &&
         cast<ShapedType>(op.getRhs().getType()).getRank() == 2;
}

static MatmulOp cloneMatmul(PatternRewriter &rewriter, MatmulOp op, Value lhs,
                            Value rhs, Value init) {
  auto mm =
      MatmulOp::create(rewriter, op.getLoc(), TypeRange{init.getType()}, lhs,
                       rhs, op.getBias(), Value(), init, op.getTransposeLhs(),
                       op.getTransposeRhs(), op.getActivation());
  mm.setAlphaAttr(op.getAlphaAttr());
  return mm;
}

/// A matmul with a shared [K, N] rhs works row by row, so a permutation of
/// its lhs rows (PyTorch's [B, S, D] -> [S, B, D] before the projections)
/// can move to its result, where the next layout fold takes it.
struct MoveRowPermutationToResult : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!plainRank2(op))
      return rewriter.notifyMatchFailure(op, "not a plain 2-D matmul");
    std::optional<View> lhs = traceView(op.getLhs());
    if (!lhs || !lhs->copies || lhs->offset != 0)
      return rewriter.notifyMatchFailure(op, "lhs rows are not permuted");
    // A batched producer writes the order itself (MoveRowPermutationToLhs).
    if (lhs->source.getDefiningOp<MatmulOp>())
      return rewriter.notifyMatchFailure(op, "lhs comes from a matmul");
    // Only where data movement follows anyway, which takes the permutation
    // along (else the copy would just move to the possibly wider result).
    if (op.getResult().front().use_empty() ||
        !llvm::all_of(op.getResult().front().getUsers(), isMovement))
      return rewriter.notifyMatchFailure(op, "result is not moved further");
    AtomDim rows = normalized(lhs->dims[0]), cols = normalized(lhs->dims[1]);
    if (rows.size() < 2 || cols.size() != 1 || cols[0].stride != 1)
      return rewriter.notifyMatchFailure(op, "not a pure row permutation");
    int64_t k = cols[0].size;
    int64_t numel = numElements(lhs->source);
    auto layout = buildLayout(flatAtoms(lhs->dims), numel, 0);
    if (!layout ||
        llvm::any_of(layout->gapIndex, [](int64_t g) { return g >= 0; }))
      return rewriter.notifyMatchFailure(op, "lhs is not all of its source");
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    int64_t n = initType.getDimSize(1);
    View result;
    AtomDim resultRows;
    for (Atom a : rows)
      resultRows.push_back({a.size, a.stride / k * n});
    result.dims = {resultRows, normalized({{n, 1}})};
    if (!buildLayout(flatAtoms(result.dims), numel / k * n, 0))
      return rewriter.notifyMatchFailure(op, "result layout");

    Location loc = op.getLoc();
    Value newLhs = reshapeTo(rewriter, loc, lhs->source, {numel / k, k});
    Value init = tensor::EmptyOp::create(rewriter, loc, {numel / k, n},
                                         initType.getElementType());
    result.source = cloneMatmul(rewriter, op, newLhs, op.getRhs(), init)
                        .getResult()
                        .front();
    rewriter.replaceOp(op, materializeView(rewriter, loc, result));
    return success();
  }
};

/// The converse: when a 2-D matmul's result only has its rows permuted by
/// the data movement after it, the matmul reads its lhs rows in that order
/// and writes the final layout directly.
struct MoveRowPermutationToLhs : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!plainRank2(op) || !op.getResult().front().hasOneUse())
      return rewriter.notifyMatchFailure(op, "not a plain 2-D matmul");
    // Only towards a batched producer, which then writes the rows in this
    // order through init_perm (FoldViewsIntoBatchedMatmul).
    std::optional<View> lhsView = traceView(op.getLhs());
    auto producer =
        lhsView ? lhsView->source.getDefiningOp<MatmulOp>() : MatmulOp();
    if (!producer ||
        cast<ShapedType>(producer.getInit().getType()).getRank() < 3)
      return rewriter.notifyMatchFailure(op, "lhs is not a batched matmul's");
    Value result = op.getResult().front();
    bool transposes;
    Value end = forwardChainEnd(result, transposes);
    if (end == result || !transposes)
      return rewriter.notifyMatchFailure(op, "no permutation after it");
    std::optional<View> view = traceView(end);
    if (!view || view->source != result || view->offset != 0)
      return rewriter.notifyMatchFailure(op, "not a view of the result");
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    int64_t m = initType.getDimSize(0), n = initType.getDimSize(1);
    AtomDim flat = normalized(flatAtoms(view->dims));
    if (flat.size() < 2 || flat.back().stride != 1 || flat.back().size % n)
      return rewriter.notifyMatchFailure(op, "columns are not kept together");
    if (flat.back().size > n)
      flat.back() = {flat.back().size / n, n};
    else
      flat.pop_back();
    auto lhsType = cast<RankedTensorType>(op.getLhs().getType());
    int64_t k = lhsType.getDimSize(1);
    View lhs;
    lhs.source = op.getLhs();
    AtomDim rows;
    for (Atom a : flat) {
      if (a.stride % n)
        return rewriter.notifyMatchFailure(op, "columns are split");
      rows.push_back({a.size, a.stride / n * k});
    }
    lhs.dims = {rows, normalized({{k, 1}})};
    if (dimSize(rows) != m || !buildLayout(flatAtoms(lhs.dims), m * k, 0))
      return rewriter.notifyMatchFailure(op, "lhs layout");

    Location loc = op.getLoc();
    Value newLhs = materializeView(rewriter, loc, lhs);
    Value init = tensor::EmptyOp::create(rewriter, loc, {m, n},
                                         initType.getElementType());
    Value mm = cloneMatmul(rewriter, op, newLhs, op.getRhs(), init)
                   .getResult()
                   .front();
    auto shape = cast<RankedTensorType>(end.getType()).getShape();
    rewriter.replaceAllUsesWith(end, reshapeTo(rewriter, loc, mm, shape));
    eraseDeadChain(rewriter, end, op);
    rewriter.eraseOp(op);
    return success();
  }
};

/// A batched lathe.matmul (attention's scores and context) whose operands
/// and result reach their sources and destination through data movement is
/// rewritten as a rank-4 matmul that reads and writes those tensors in place
/// through lhs_perm / rhs_perm / init_perm, with the batch split as the
/// layouts need (the [B*H] of the spelling becomes [B, H]).
struct FoldViewsIntoBatchedMatmul : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureBufferSemantics() || op.getResidual())
      return rewriter.notifyMatchFailure(op, "not a residual-free tensor op");
    auto initType = dyn_cast<RankedTensorType>(op.getInit().getType());
    int64_t rank = initType ? initType.getRank() : 0;
    if (rank < 3 || cast<ShapedType>(op.getRhs().getType()).getRank() != rank ||
        !isStatic(op.getInit()) || !isStatic(op.getLhs()) ||
        !isStatic(op.getRhs()))
      return rewriter.notifyMatchFailure(op, "not a static batched matmul");
    if (hasFoldableScale(op))
      return rewriter.notifyMatchFailure(op, "operand scale folds first");
    std::optional<View> lhs = traceView(op.getLhs());
    std::optional<View> rhs = traceView(op.getRhs());
    if (!lhs || !rhs)
      return rewriter.notifyMatchFailure(op, "no view");
    Value result = op.getResult().front();
    bool forwardTransposes;
    Value end = forwardChainEnd(result, forwardTransposes);
    std::optional<SmallVector<AtomDim>> resultDims;
    if (end != result && forwardTransposes)
      resultDims = invertView(result, end);
    if (!resultDims) {
      end = result;
      resultDims = baseView(result).dims;
    }
    if (!lhs->copies && !rhs->copies && end == result)
      return rewriter.notifyMatchFailure(op, "nothing to fold");

    SmallVector<SmallVector<AtomDim>> views = {
        permuted(lhs->dims, permOf(op.getLhsPermAttr())),
        permuted(rhs->dims, permOf(op.getRhsPermAttr())),
        permuted(*resultDims, permOf(op.getInitPermAttr()))};
    if (!refineBatch(views, rank - 2))
      return rewriter.notifyMatchFailure(op, "batch layouts do not agree");
    auto lhsPlan = planOperand(views[0], numElements(lhs->source), lhs->offset);
    auto rhsPlan = planOperand(views[1], numElements(rhs->source), rhs->offset);
    auto initPlan = planOperand(views[2], numElements(end), 0);
    if (!lhsPlan || !rhsPlan || !initPlan)
      return rewriter.notifyMatchFailure(op,
                                         "an operand is not a strided view");

    Location loc = op.getLoc();
    Value newLhs = emitOperand(rewriter, loc, *lhs, *lhsPlan);
    Value newRhs = emitOperand(rewriter, loc, *rhs, *rhsPlan);
    Value init = tensor::EmptyOp::create(rewriter, loc, initPlan->storedShape,
                                         initType.getElementType());
    MatmulOp mm = cloneMatmul(rewriter, op, newLhs, newRhs, init);
    mm.setLhsPermAttr(permAttr(rewriter, lhsPlan->perm));
    mm.setRhsPermAttr(permAttr(rewriter, rhsPlan->perm));
    mm.setInitPermAttr(permAttr(rewriter, initPlan->perm));
    auto shape = cast<RankedTensorType>(end.getType()).getShape();
    Value replacement = reshapeTo(rewriter, loc, mm.getResult().front(), shape);
    if (end == result) {
      rewriter.replaceOp(op, replacement);
      return success();
    }
    rewriter.replaceAllUsesWith(end, replacement);
    eraseDeadChain(rewriter, end, op);
    rewriter.eraseOp(op);
    return success();
  }
};

/// An element-wise generic that reads a single-use lathe.matmul through an
/// expand_shape (PyTorch's residual add on [B, S, D] after a projection on
/// [B*S, D]) runs in the matmul's shape instead, so the epilogue fusion can
/// make it the matmul's residual / post-op.
struct CollapseEpilogueToMatmul : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
        op->getNumResults() != 1 ||
        op.getNumParallelLoops() != op.getNumLoops() ||
        !llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); }) ||
        !isStatic(op.getResult(0)))
      return rewriter.notifyMatchFailure(op, "not a static element-wise op");
    tensor::ExpandShapeOp expand;
    for (Value input : op.getDpsInputs()) {
      auto candidate = input.getDefiningOp<tensor::ExpandShapeOp>();
      auto mm =
          candidate ? candidate.getSrc().getDefiningOp<MatmulOp>() : MatmulOp();
      if (mm && candidate->hasOneUse() && mm->hasOneUse() &&
          !mm.getResidual() && isStatic(candidate.getSrc()) &&
          llvm::count(op.getDpsInputs(), input) == 1) {
        expand = candidate;
        break;
      }
    }
    if (!expand)
      return rewriter.notifyMatchFailure(op, "no expanded matmul input");
    if (llvm::any_of(op->getOperands(), [](Value v) { return !isStatic(v); }))
      return rewriter.notifyMatchFailure(op, "dynamic operand");
    SmallVector<ReassociationIndices> reassoc =
        expand.getReassociationIndices();
    auto srcType = cast<RankedTensorType>(expand.getSrc().getType());
    Location loc = op.getLoc();
    auto collapse = [&](Value v) -> Value {
      if (v == expand.getResult())
        return expand.getSrc();
      auto type = cast<RankedTensorType>(v.getType());
      return tensor::CollapseShapeOp::create(
          rewriter, loc,
          RankedTensorType::get(srcType.getShape(), type.getElementType()), v,
          reassoc);
    };
    SmallVector<Value> inputs, inits;
    for (Value v : op.getDpsInputs())
      inputs.push_back(collapse(v));
    inits.push_back(collapse(op.getDpsInits()[0]));
    int64_t rank = srcType.getRank();
    SmallVector<AffineMap> maps(
        inputs.size() + 1,
        AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext()));
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    auto generic =
        linalg::GenericOp::create(rewriter, loc, TypeRange{inits[0].getType()},
                                  inputs, inits, maps, iterators);
    generic->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    rewriter.inlineRegionBefore(op.getRegion(), generic.getRegion(),
                                generic.getRegion().begin());
    auto resultType = cast<RankedTensorType>(op.getResult(0).getType());
    Value expanded = tensor::ExpandShapeOp::create(
        rewriter, loc, resultType, generic.getResult(0), reassoc);
    rewriter.replaceOp(op, expanded);
    return success();
  }
};

/// A 2-D matmul with a constant weight whose result is only read as equal
/// column blocks (the fused q/k/v projection of an exported
/// MultiheadAttention, cut by the folds above into expand_shape +
/// extract_slice of [B*S, 3*D]) becomes one matmul per block on the weight's
/// columns (still pre-packed, a constant view) with its part of the bias:
/// each block is then dense, and the attention matmuls read rows of D
/// floats instead of 3*D.
struct SplitMatmulByColumnBlocks : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!plainRank2(op) || !isStatic(op.getRhs()) ||
        !op.getRhs().getDefiningOp<arith::ConstantOp>() ||
        (op.getBias() && !isStatic(op.getBias())))
      return rewriter.notifyMatchFailure(op,
                                         "not a 2-D constant-weight matmul");
    Value result = op.getResult().front();
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    int64_t m = initType.getDimSize(0), n = initType.getDimSize(1);
    // Every user: expand_shape [M, N] -> [..rows.., g, ..block..] whose users
    // all take one index of g.
    int64_t blocks = 0;
    SmallVector<std::pair<tensor::ExtractSliceOp, int64_t>> slices;
    for (Operation *user : result.getUsers()) {
      auto expand = dyn_cast<tensor::ExpandShapeOp>(user);
      if (!expand || !isStatic(expand.getResult()))
        return rewriter.notifyMatchFailure(op, "a user is not an expand_shape");
      SmallVector<ReassociationIndices> reassoc =
          expand.getReassociationIndices();
      ArrayRef<int64_t> shape = expand.getResultType().getShape();
      int64_t gDim = reassoc[1].front();
      if (reassoc[1].size() < 2 || shape[gDim] < 2 ||
          (blocks && blocks != shape[gDim]))
        return rewriter.notifyMatchFailure(op, "columns are not cut in blocks");
      blocks = shape[gDim];
      for (Operation *sliceUser : expand->getUsers()) {
        auto slice = dyn_cast<tensor::ExtractSliceOp>(sliceUser);
        if (!slice || !slice.hasUnitStride() ||
            ShapedType::isDynamicShape(slice.getStaticOffsets()) ||
            ShapedType::isDynamicShape(slice.getStaticSizes()))
          return rewriter.notifyMatchFailure(op,
                                             "a user is not a static slice");
        ArrayRef<int64_t> offsets = slice.getStaticOffsets();
        ArrayRef<int64_t> sizes = slice.getStaticSizes();
        llvm::SmallBitVector dropped = slice.getDroppedDims();
        for (size_t d = 0; d < shape.size(); ++d) {
          bool ok =
              d == static_cast<size_t>(gDim)
                  ? sizes[d] == 1 && dropped.test(d)
                  : offsets[d] == 0 && sizes[d] == shape[d] && !dropped.test(d);
          if (!ok)
            return rewriter.notifyMatchFailure(op, "a slice is not one block");
        }
        slices.push_back({slice, offsets[gDim]});
      }
    }
    if (slices.empty() || n % blocks)
      return rewriter.notifyMatchFailure(op, "nothing to split");
    int64_t width = n / blocks;

    Location loc = op.getLoc();
    auto elementType = initType.getElementType();
    SmallVector<Value> parts(blocks);
    auto part = [&](int64_t b) -> Value {
      if (parts[b])
        return parts[b];
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPoint(op);
      bool t = op.getTransposeRhs();
      auto rhsType = cast<RankedTensorType>(op.getRhs().getType());
      SmallVector<OpFoldResult> offsets = {
          rewriter.getIndexAttr(t ? b * width : 0),
          rewriter.getIndexAttr(t ? 0 : b * width)};
      SmallVector<OpFoldResult> sizes = {
          rewriter.getIndexAttr(t ? width : rhsType.getDimSize(0)),
          rewriter.getIndexAttr(t ? rhsType.getDimSize(1) : width)};
      SmallVector<OpFoldResult> ones(2, rewriter.getIndexAttr(1));
      Value rhs = tensor::ExtractSliceOp::create(rewriter, loc, op.getRhs(),
                                                 offsets, sizes, ones);
      Value bias;
      if (op.getBias())
        bias = tensor::ExtractSliceOp::create(
            rewriter, loc, op.getBias(),
            ArrayRef<OpFoldResult>{rewriter.getIndexAttr(b * width)},
            ArrayRef<OpFoldResult>{rewriter.getIndexAttr(width)},
            ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
      Value init =
          tensor::EmptyOp::create(rewriter, loc, {m, width}, elementType);
      auto mm = MatmulOp::create(rewriter, loc, TypeRange{init.getType()},
                                 op.getLhs(), rhs, bias, Value(), init, false,
                                 t, op.getActivation());
      mm.setAlphaAttr(op.getAlphaAttr());
      return parts[b] = mm.getResult().front();
    };
    for (auto [slice, b] : slices) {
      auto shape = slice.getResultType().getShape();
      rewriter.setInsertionPoint(slice);
      rewriter.replaceOp(slice,
                         reshapeTo(rewriter, slice.getLoc(), part(b), shape));
    }
    return success();
  }
};

} // namespace

void mlir::lathe::populateFoldLayoutIntoMatmulPatterns(
    RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<ExpandHeadBatch, FoldOperandTranspose, FoldResultTranspose,
               FoldScaleIntoAlpha, FoldOperandScale, TransposeOfUnitDims,
               MoveRowPermutationToResult, MoveRowPermutationToLhs,
               FoldViewsIntoBatchedMatmul, CollapseEpilogueToMatmul,
               SplitMatmulByColumnBlocks>(ctx);
  // collapse_shape followed by the inverse expand_shape cancels, which
  // exposes the matmul to a head-merging transpose.
  tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
  tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
}
