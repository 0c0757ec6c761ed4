//===- FoldConvAffine.cpp - Batch norms folded into convolutions ----------===//
//
// A lathe.conv2d whose result is read by an element-wise generic that first
// maps it through a per-channel affine function of constants, as inference
// batch normalisation does (`(x - mean) * rsqrt(var + eps) * gamma + beta`,
// the form torch-mlir and JAX write), gets that function folded into its
// constant filter and bias: with y = x * s[c] + t[c], the filter's output
// channel f is scaled by s[f] and the bias becomes bias * s + t. The rest of
// the generic (a ReLU, say) then reads the new convolution directly and is
// fused by the other conv patterns. Recognition is structural (the ops of the
// body and the maps); the constants are only evaluated once the form matched.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <cstring>
#include <deque>
#include <optional>

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// The f32 values of a constant tensor (dense or dense_resource).
std::optional<std::vector<float>> constantValues(Value value) {
  ElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) ||
      !cast<ShapedType>(attr.getType()).getElementType().isF32())
    return std::nullopt;
  int64_t n = cast<ShapedType>(attr.getType()).getNumElements();
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    auto values = dense.getValues<float>();
    return std::vector<float>(values.begin(), values.end());
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != static_cast<size_t>(n) * 4)
      return std::nullopt;
    std::vector<float> out(n);
    std::memcpy(out.data(), blob->getData().data(), n * 4);
    return out;
  }
  return std::nullopt;
}

/// A value of the body as a per-channel function of the convolution's
/// output x: a[c] * x + b[c] (a all zero: independent of x).
struct Affine {
  bool dependsOnX = false;
  std::vector<double> a, b;
};

struct FoldChannelAffineIntoConv : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
        op.getNumLoops() != 4 || op.getNumParallelLoops() != 4)
      return rewriter.notifyMatchFailure(op, "not a rank-4 element-wise op");
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    unsigned numInputs = op.getNumDpsInputs();
    if (!maps[numInputs].isIdentity())
      return rewriter.notifyMatchFailure(op, "output is not an identity map");

    // The convolution: a single-use plain lathe.conv2d read element for
    // element, with a constant filter (and bias, if any).
    Conv2DOp conv;
    unsigned convIndex = 0;
    for (unsigned i = 0; i < numInputs && !conv; ++i) {
      auto candidate = op.getDpsInputs()[i].getDefiningOp<Conv2DOp>();
      if (candidate && candidate->hasOneUse() && maps[i].isIdentity() &&
          !candidate.hasPool() && !candidate.getAccumulate() &&
          candidate.getActivation() == Activation::none &&
          candidate.getOutputBlock() == 0) {
        conv = candidate;
        convIndex = i;
      }
    }
    if (!conv)
      return rewriter.notifyMatchFailure(op, "no plain single-use conv input");
    auto resultType =
        cast<RankedTensorType>(conv.getResult().front().getType());
    if (op.getResult(0).getType() != resultType ||
        !resultType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "types differ");
    unsigned channelDim = conv.isNhwc() ? 3 : 1;
    int64_t channels = resultType.getDimSize(channelDim);
    auto filterType = cast<RankedTensorType>(conv.getFilter().getType());
    if (ShapedType::isDynamic(channels) || !filterType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic channels or filter");

    // Per-channel operands: constants read through (d_channel).
    Block &body = op.getRegion().front();
    // (A deque keeps the values in place as it grows: `known` points there.)
    std::deque<Affine> storage;
    DenseMap<Value, Affine *> known;
    auto remember = [&](Value v, Affine affine) {
      storage.push_back(std::move(affine));
      known[v] = &storage.back();
      return &storage.back();
    };
    Affine x;
    x.dependsOnX = true;
    x.a.assign(channels, 1.0);
    x.b.assign(channels, 0.0);
    remember(body.getArgument(convIndex), x);
    AffineMap channelMap =
        AffineMap::get(4, 0, rewriter.getAffineDimExpr(channelDim));
    for (unsigned i = 0; i < numInputs; ++i) {
      if (i == convIndex)
        continue;
      if (maps[i] != channelMap)
        continue; // Not per channel: the body may still use it after the fold.
      std::optional<std::vector<float>> values =
          constantValues(op.getDpsInputs()[i]);
      if (!values || static_cast<int64_t>(values->size()) != channels)
        continue;
      Affine c;
      c.a.assign(channels, 0.0);
      c.b.assign(values->begin(), values->end());
      remember(body.getArgument(i), c);
    }

    // Evaluate the body's ops as far as they stay affine in x.
    auto get = [&](Value v) -> Affine * {
      if (auto it = known.find(v); it != known.end())
        return it->second;
      FloatAttr scalar;
      if (matchPattern(v, m_Constant(&scalar))) {
        Affine c;
        c.a.assign(channels, 0.0);
        c.b.assign(channels, scalar.getValueAsDouble());
        return remember(v, c);
      }
      return nullptr;
    };
    bool scales = false;
    for (Operation &inner : body.without_terminator()) {
      if (inner.getNumResults() != 1)
        break;
      Affine r;
      r.a.assign(channels, 0.0);
      r.b.assign(channels, 0.0);
      if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp>(
              inner)) {
        Affine *l = get(inner.getOperand(0)), *h = get(inner.getOperand(1));
        if (!l || !h)
          break;
        bool mul = isa<arith::MulFOp>(inner), div = isa<arith::DivFOp>(inner);
        if ((mul && l->dependsOnX && h->dependsOnX) || (div && h->dependsOnX))
          break;
        r.dependsOnX = l->dependsOnX || h->dependsOnX;
        scales |= (mul || div) && r.dependsOnX;
        for (int64_t c = 0; c < channels; ++c) {
          if (isa<arith::AddFOp>(inner)) {
            r.a[c] = l->a[c] + h->a[c];
            r.b[c] = l->b[c] + h->b[c];
          } else if (isa<arith::SubFOp>(inner)) {
            r.a[c] = l->a[c] - h->a[c];
            r.b[c] = l->b[c] - h->b[c];
          } else if (mul) {
            const Affine &v = l->dependsOnX ? *l : *h;
            double k = l->dependsOnX ? h->b[c] : l->b[c];
            r.a[c] = v.a[c] * k;
            r.b[c] = v.b[c] * k;
          } else {
            r.a[c] = l->a[c] / h->b[c];
            r.b[c] = l->b[c] / h->b[c];
          }
        }
      } else if (isa<arith::NegFOp, math::SqrtOp, math::RsqrtOp>(inner)) {
        Affine *v = get(inner.getOperand(0));
        if (!v || (v->dependsOnX && !isa<arith::NegFOp>(inner)))
          break;
        r.dependsOnX = v->dependsOnX;
        for (int64_t c = 0; c < channels; ++c) {
          if (isa<arith::NegFOp>(inner)) {
            r.a[c] = -v->a[c];
            r.b[c] = -v->b[c];
          } else if (isa<math::SqrtOp>(inner)) {
            r.b[c] = std::sqrt(v->b[c]);
          } else {
            r.b[c] = 1.0 / std::sqrt(v->b[c]);
          }
        }
      } else {
        break;
      }
      remember(inner.getResult(0), std::move(r));
    }

    // Exactly one x-dependent value may be read by the rest of the body: the
    // end of the affine part, which the convolution will produce directly.
    Value end;
    for (auto &[value, affine] : known) {
      if (!affine->dependsOnX)
        continue;
      for (OpOperand &use : value.getUses()) {
        Operation *user = use.getOwner();
        bool inside = user->getNumResults() == 1 &&
                      known.count(user->getResult(0)) &&
                      user->getBlock() == &body;
        if (inside)
          continue;
        if (end && end != value)
          return rewriter.notifyMatchFailure(op, "x escapes twice");
        end = value;
      }
    }
    if (!end || !scales)
      return rewriter.notifyMatchFailure(op, "no per-channel scaling of x");
    const Affine &f = *known[end];
    for (int64_t c = 0; c < channels; ++c)
      if (!std::isfinite(f.a[c]) || !std::isfinite(f.b[c]))
        return rewriter.notifyMatchFailure(op, "non-finite scale or shift");

    std::optional<std::vector<float>> filter = constantValues(conv.getFilter());
    if (!filter)
      return rewriter.notifyMatchFailure(op, "filter is not a constant");
    std::vector<float> bias(channels, 0.f);
    if (conv.getBias()) {
      std::optional<std::vector<float>> b = constantValues(conv.getBias());
      if (!b || static_cast<int64_t>(b->size()) != channels)
        return rewriter.notifyMatchFailure(op, "bias is not a constant");
      bias = *b;
    }

    // Fold: the output channel is dim 0 of FCHW, dim 3 of HWCF.
    ArrayRef<int64_t> fshape = filterType.getShape();
    int64_t outDim = conv.isNhwc() ? 3 : 0;
    if (fshape[outDim] != channels)
      return rewriter.notifyMatchFailure(op, "filter channels differ");
    int64_t inner = 1;
    for (int64_t d = outDim + 1; d < 4; ++d)
      inner *= fshape[d];
    for (size_t i = 0; i < filter->size(); ++i) {
      int64_t c = (static_cast<int64_t>(i) / inner) % channels;
      (*filter)[i] = static_cast<float>((*filter)[i] * f.a[c]);
    }
    for (int64_t c = 0; c < channels; ++c)
      bias[c] = static_cast<float>(bias[c] * f.a[c] + f.b[c]);

    Location loc = conv.getLoc();
    rewriter.setInsertionPoint(conv);
    Value newFilter = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(filterType, ArrayRef(*filter)));
    auto biasType = RankedTensorType::get({channels}, rewriter.getF32Type());
    Value newBias = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(biasType, ArrayRef(bias)));
    auto folded =
        Conv2DOp::create(rewriter, loc, conv->getResultTypes(), conv.getInput(),
                         newFilter, newBias, conv.getInit());
    folded->setAttrs(conv->getAttrs());

    // The generic now reads the folded convolution and starts from `end`.
    rewriter.modifyOpInPlace(op, [&] {
      op->setOperand(convIndex, folded.getResult().front());
      rewriter.replaceAllUsesWith(end, body.getArgument(convIndex));
    });
    SmallVector<Operation *> bodyOps =
        llvm::to_vector(llvm::make_pointer_range(body.without_terminator()));
    for (Operation *inner : llvm::reverse(bodyOps))
      if (inner->use_empty() && isMemoryEffectFree(inner))
        rewriter.eraseOp(inner);
    rewriter.eraseOp(conv);
    return success();
  }
};

} // namespace

void mlir::lathe::populateFoldConvAffinePatterns(RewritePatternSet &patterns) {
  patterns.add<FoldChannelAffineIntoConv>(patterns.getContext());
}
