//===- LowerToLinalg.cpp - train ops to fused linalg ----------------------===//

#include "lathe/Dialect/Train/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::lathe::train {
#define GEN_PASS_DEF_TRAINLOWERTOLINALG
#include "lathe/Dialect/Train/Passes.h.inc"
} // namespace mlir::lathe::train

using namespace mlir;
using namespace mlir::lathe::train;

namespace {

Value cst(OpBuilder &b, Location loc, Type t, double v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, v));
}

/// A scalar f32 as the element type `t` (extended or truncated).
Value asElement(OpBuilder &b, Location loc, Value f32, Type t) {
  if (f32.getType() == t)
    return f32;
  if (t.getIntOrFloatBitWidth() > 32)
    return arith::ExtFOp::create(b, loc, t, f32);
  return arith::TruncFOp::create(b, loc, t, f32);
}

/// One all-parallel generic over `inputs` (all of `like`'s type) with
/// `numResults` outputs of that type; `body` maps the scalars to the results.
SmallVector<Value> elementwise(
    OpBuilder &b, Location loc, Value like, ValueRange inputs,
    unsigned numResults,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> body) {
  auto type = cast<RankedTensorType>(like.getType());
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  SmallVector<Value> inits;
  for (unsigned i = 0; i < numResults; ++i)
    inits.push_back(
        tensor::EmptyOp::create(b, loc, sizes, type.getElementType()));
  SmallVector<AffineMap> maps(inputs.size() + numResults, id);
  SmallVector<utils::IteratorType> it(type.getRank(),
                                      utils::IteratorType::parallel);
  auto op = linalg::GenericOp::create(
      b, loc, SmallVector<Type>(numResults, type), inputs, inits, maps, it,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl,
                                body(nb, nl, args.take_front(inputs.size())));
      });
  return SmallVector<Value>(op.getResults().begin(), op.getResults().end());
}

struct LowerSGD : OpRewritePattern<SGDOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SGDOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elt = cast<RankedTensorType>(op.getParam().getType()).getElementType();
    Value lr = asElement(rewriter, loc, op.getLr(), elt);
    double momentum = op.getMomentum().convertToDouble();
    double decay = op.getWeightDecay().convertToDouble();
    bool nesterov = op.getNesterov();
    SmallVector<Value> results = elementwise(
        rewriter, loc, op.getParam(),
        {op.getParam(), op.getGrad(), op.getMomentumBuffer()}, 2,
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value p = a[0], g = a[1], buf = a[2];
          if (decay != 0)
            g = arith::AddFOp::create(
                b, l, g, arith::MulFOp::create(b, l, cst(b, l, elt, decay), p));
          Value nb = arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, cst(b, l, elt, momentum), buf),
              g);
          Value step = nb;
          if (nesterov)
            step = arith::AddFOp::create(
                b, l, g,
                arith::MulFOp::create(b, l, cst(b, l, elt, momentum), nb));
          Value np = arith::SubFOp::create(
              b, l, p, arith::MulFOp::create(b, l, lr, step));
          return {np, nb};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct LowerAdamW : OpRewritePattern<AdamWOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AdamWOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elt = cast<RankedTensorType>(op.getParam().getType()).getElementType();
    Type f32 = rewriter.getF32Type();
    double b1 = op.getBeta1().convertToDouble();
    double b2 = op.getBeta2().convertToDouble();
    double eps = op.getEps().convertToDouble();
    double decay = op.getWeightDecay().convertToDouble();
    // Scalars once per update, outside the element loop (in f32):
    // bias corrections 1 - beta^t and the decay factor 1 - lr * wd.
    Value t = op.getStep(), lr32 = op.getLr();
    auto oneMinusPow = [&](double beta) -> Value {
      Value p =
          math::PowFOp::create(rewriter, loc, cst(rewriter, loc, f32, beta), t);
      return arith::SubFOp::create(rewriter, loc, cst(rewriter, loc, f32, 1.0),
                                   p);
    };
    Value c1 = asElement(rewriter, loc, oneMinusPow(b1), elt);
    Value c2 = asElement(rewriter, loc, oneMinusPow(b2), elt);
    Value keep32 = arith::SubFOp::create(
        rewriter, loc, cst(rewriter, loc, f32, 1.0),
        arith::MulFOp::create(rewriter, loc, lr32,
                              cst(rewriter, loc, f32, decay)));
    Value keep = asElement(rewriter, loc, keep32, elt);
    Value lr = asElement(rewriter, loc, lr32, elt);
    SmallVector<Value> results = elementwise(
        rewriter, loc, op.getParam(),
        {op.getParam(), op.getGrad(), op.getM(), op.getV()}, 3,
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value p = arith::MulFOp::create(b, l, a[0], keep);
          Value g = a[1];
          Value m = arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, cst(b, l, elt, b1), a[2]),
              arith::MulFOp::create(b, l, cst(b, l, elt, 1.0 - b1), g));
          Value v = arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, cst(b, l, elt, b2), a[3]),
              arith::MulFOp::create(b, l, cst(b, l, elt, 1.0 - b2),
                                    arith::MulFOp::create(b, l, g, g)));
          Value mhat = arith::DivFOp::create(b, l, m, c1);
          Value vhat = arith::DivFOp::create(b, l, v, c2);
          Value den = arith::AddFOp::create(
              b, l, math::SqrtOp::create(b, l, vhat), cst(b, l, elt, eps));
          Value np = arith::SubFOp::create(
              b, l, p,
              arith::MulFOp::create(b, l, lr,
                                    arith::DivFOp::create(b, l, mhat, den)));
          return {np, m, v};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct LowerClip : OpRewritePattern<ClipByGlobalNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ClipByGlobalNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    // sum(g^2) per gradient, accumulated in f32.
    Value total = cst(rewriter, loc, f32, 0.0);
    for (Value g : op.getGrads()) {
      auto type = cast<RankedTensorType>(g.getType());
      auto scalarType = RankedTensorType::get({}, f32);
      Value init =
          linalg::FillOp::create(
              rewriter, loc, cst(rewriter, loc, f32, 0.0),
              tensor::EmptyOp::create(rewriter, loc, ArrayRef<int64_t>{}, f32)
                  .getResult())
              .getResult(0);
      SmallVector<AffineMap> maps = {
          rewriter.getMultiDimIdentityMap(type.getRank()),
          AffineMap::get(type.getRank(), 0, rewriter.getContext())};
      SmallVector<utils::IteratorType> it(type.getRank(),
                                          utils::IteratorType::reduction);
      Value sum =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{scalarType}, ValueRange{g},
              ValueRange{init}, maps, it,
              [&](OpBuilder &b, Location l, ValueRange a) {
                Value x =
                    a[0].getType() == f32
                        ? a[0]
                        : arith::ExtFOp::create(b, l, f32, a[0]).getResult();
                if (a[0].getType().getIntOrFloatBitWidth() > 32)
                  x = arith::TruncFOp::create(b, l, f32, a[0]);
                Value sq = arith::MulFOp::create(b, l, x, x);
                linalg::YieldOp::create(
                    b, l, arith::AddFOp::create(b, l, a[1], sq).getResult());
              })
              .getResult(0);
      Value s = tensor::ExtractOp::create(rewriter, loc, sum, ValueRange{});
      total = arith::AddFOp::create(rewriter, loc, total, s);
    }
    Value norm = math::SqrtOp::create(rewriter, loc, total);
    // min(1, max_norm / (norm + 1e-6)); NaN propagates (minimumf).
    Value coef = arith::DivFOp::create(
        rewriter, loc,
        cst(rewriter, loc, f32, op.getMaxNorm().convertToDouble()),
        arith::AddFOp::create(rewriter, loc, norm,
                              cst(rewriter, loc, f32, 1e-6)));
    coef = arith::MinimumFOp::create(rewriter, loc, coef,
                                     cst(rewriter, loc, f32, 1.0));
    SmallVector<Value> results;
    for (Value g : op.getGrads()) {
      Type elt = cast<RankedTensorType>(g.getType()).getElementType();
      Value c = asElement(rewriter, loc, coef, elt);
      results.push_back(elementwise(
          rewriter, loc, g, {g}, 1,
          [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
            return {arith::MulFOp::create(b, l, a[0], c)};
          })[0]);
    }
    results.push_back(norm);
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct LowerWarmupCosine : OpRewritePattern<WarmupCosineOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(WarmupCosineOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    auto c = [&](double v) { return cst(rewriter, loc, f32, v); };
    double base = op.getBaseLr().convertToDouble();
    double low = op.getMinLr().convertToDouble();
    double warm = double(op.getWarmupSteps());
    double total = double(op.getTotalSteps());
    Value s = op.getStep();
    Value warmLr =
        arith::MulFOp::create(rewriter, loc, c(base / std::max(warm, 1.0)),
                              arith::AddFOp::create(rewriter, loc, s, c(1.0)));
    Value progress = arith::DivFOp::create(
        rewriter, loc, arith::SubFOp::create(rewriter, loc, s, c(warm)),
        c(std::max(1.0, total - warm)));
    progress = arith::MinimumFOp::create(rewriter, loc, progress, c(1.0));
    Value cosine = math::CosOp::create(
        rewriter, loc,
        arith::MulFOp::create(rewriter, loc, progress, c(llvm::numbers::pi)));
    Value decay = arith::AddFOp::create(
        rewriter, loc, c(low),
        arith::MulFOp::create(
            rewriter, loc, c(0.5 * (base - low)),
            arith::AddFOp::create(rewriter, loc, c(1.0), cosine)));
    Value inWarmup = arith::CmpFOp::create(
        rewriter, loc, arith::CmpFPredicate::OLT, s, c(warm));
    rewriter.replaceOpWithNewOp<arith::SelectOp>(op, inWarmup, warmLr, decay);
    return success();
  }
};

struct TrainLowerToLinalg
    : public lathe::train::impl::TrainLowerToLinalgBase<TrainLowerToLinalg> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerSGD, LowerAdamW, LowerClip, LowerWarmupCosine>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
