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

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::lathe;

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
    auto matmul = MatmulOp::create(
        rewriter, loc, TypeRange{init.getType()}, lhs, rhs, op.getBias(),
        residual, init, op.getTransposeLhs(), op.getTransposeRhs(),
        op.getActivation());
    matmul.setAlphaAttr(op.getAlphaAttr());
    Value collapsed = tensor::CollapseShapeOp::create(
        rewriter, loc, initType, matmul.getResult().front(),
        batchReassociation());
    rewriter.replaceOp(op, collapsed);
    return success();
  }
};

/// perm' such that transpose(transpose(x, inner), outer) == transpose(x, perm').
static SmallVector<int64_t> compose(ArrayRef<int64_t> inner,
                                    ArrayRef<int64_t> outer) {
  SmallVector<int64_t> result;
  for (int64_t o : outer)
    result.push_back(inner[o]);
  return result;
}

static SmallVector<int64_t> identityPerm(int64_t rank) {
  return llvm::to_vector(llvm::seq<int64_t>(0, rank));
}

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
          perm ? llvm::to_vector(perm.asArrayRef()) : identityPerm(4);
      return std::make_pair(transpose.getInput(),
                            compose(transpose.getPermutation(), outer));
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
    auto fused = MatmulOp::create(
        rewriter, matmul.getLoc(), TypeRange{init.getType()}, matmul.getLhs(),
        matmul.getRhs(), matmul.getBias(), Value(), init,
        matmul.getTransposeLhs(), matmul.getTransposeRhs(),
        matmul.getActivation());
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
    auto matmul = (collapse ? collapse.getSrc() : input).getDefiningOp<MatmulOp>();
    if (!matmul || !matmul->hasOneUse() || matmul.getBias() ||
        matmul.getResidual() || matmul.getActivation() != "none")
      return rewriter.notifyMatchFailure(op, "no plain single-use matmul");
    if (op.getResult(0).getType() != input.getType())
      return rewriter.notifyMatchFailure(op, "changes the type");

    Block &body = op.getRegion().front();
    auto ops = llvm::to_vector(llvm::make_pointer_range(body.without_terminator()));
    if (ops.size() != 1 || body.getTerminator()->getOperand(0) !=
                               ops[0]->getResult(0))
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

} // namespace

void mlir::lathe::populateFoldLayoutIntoMatmulPatterns(
    RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<ExpandHeadBatch, FoldOperandTranspose, FoldResultTranspose,
               FoldScaleIntoAlpha>(ctx);
  // collapse_shape followed by the inverse expand_shape cancels, which
  // exposes the matmul to a head-merging transpose.
  tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
  tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
}
