//===- LowRankToLathe.cpp - lowrank ops to lathe.matmul and linalg --------===//
//
// The factorized ops lower to ops the rest of the pipeline already handles:
// lathe.matmul (oneDNN on CPU, with the bias as a post-op) and
// linalg.conv_2d_nchw_fchw (a oneDNN convolution after bufferization).
//
//===----------------------------------------------------------------------===//

#include "lathe/Conversion/Passes.h"
#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Dialect/LowRank/LowRankOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_CONVERTLOWRANKTOLATHE
#include "lathe/Conversion/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lowrank;

namespace {

/// The dynamic sizes of `shape`, each taken from the same dimension of `like`
/// (the ops here keep leading dimensions).
static SmallVector<Value> dynamicSizes(OpBuilder &b, Location loc,
                                       ArrayRef<int64_t> shape, Value like) {
  SmallVector<Value> dynSizes;
  for (auto [i, size] : llvm::enumerate(shape))
    if (ShapedType::isDynamic(size))
      dynSizes.push_back(tensor::DimOp::create(b, loc, like, i));
  return dynSizes;
}

/// tensor.empty of `shape` with its dynamic sizes from `like`.
static Value emptyLike(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                       Value like) {
  return tensor::EmptyOp::create(b, loc, shape, b.getF32Type(),
                                 dynamicSizes(b, loc, shape, like));
}

/// `value + bias[channel]` over all of `value`.
static Value addChannelBias(OpBuilder &b, Location loc, Value value,
                            Value bias) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(value.getType()).getShape();
  return buildBiasAdd(b, loc, value, bias, /*dim=*/1,
                      dynamicSizes(b, loc, shape, value));
}

/// A zero-filled accumulator for a convolution. The fill value is -0.0
/// (x + -0.0 == x for every x, so results are unchanged): CSE would merge a
/// +0.0 fill of the same shape with the model's own fills, bufferization then
/// copies the shared buffer, and lathe-cpu-lower-to-runtime, which only
/// offloads a convolution whose output is zero-filled right before it, leaves
/// the convolution to scalar loops (measured: 2.8x slower Tucker-2 layer).
static Value zeros(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                   Value like) {
  Value empty = emptyLike(b, loc, shape, like);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(-0.0f));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// `x · Bᵀ` as a linalg.matmul (B is [N, K]) into a zero-filled [M, N].
static Value matmulTransposedB(OpBuilder &b, Location loc, Value x, Value w) {
  auto xType = cast<RankedTensorType>(x.getType());
  auto wType = cast<RankedTensorType>(w.getType());
  SmallVector<int64_t> shape = {xType.getDimSize(0), wType.getDimSize(0)};
  Value init = zeros(b, loc, shape, x);
  auto mm = linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                     ValueRange{x, w}, ValueRange{init});
  MLIRContext *ctx = b.getContext();
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
             k = getAffineDimExpr(2, ctx);
  mm.setIndexingMapsAttr(b.getAffineMapArrayAttr(
      {AffineMap::get(3, 0, {m, k}, ctx), AffineMap::get(3, 0, {n, k}, ctx),
       AffineMap::get(3, 0, {m, n}, ctx)}));
  return mm.getResult(0);
}

struct LowerLinear : public OpRewritePattern<LinearOp> {
  LowerLinear(MLIRContext *ctx, bool linalgOnly)
      : OpRewritePattern(ctx), linalgOnly(linalgOnly) {}
  bool linalgOnly;

  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    if (linalgOnly) {
      // Upstream ops only (the reference pipeline): x·Vᵀ, then ·Uᵀ, then the
      // bias, on 2-D inputs.
      if (cast<RankedTensorType>(op.getInput().getType()).getRank() != 2)
        return rewriter.notifyMatchFailure(op, "linalg-only needs 2-D input");
      Value mid = matmulTransposedB(rewriter, loc, op.getInput(), op.getV());
      Value result = matmulTransposedB(rewriter, loc, mid, op.getU());
      if (Value bias = op.getBias())
        result = addChannelBias(rewriter, loc, result, bias);
      rewriter.replaceOp(op, result);
      return success();
    }
    auto inType = cast<RankedTensorType>(op.getInput().getType());
    auto resType = cast<RankedTensorType>(op.getType());
    auto uType = cast<RankedTensorType>(op.getU().getType());
    auto vType = cast<RankedTensorType>(op.getV().getType());
    int64_t n = uType.getDimSize(0), r = uType.getDimSize(1);
    int64_t k = vType.getDimSize(1);
    lathe::Activation none = lathe::Activation::none;

    // x·Vᵀ·Uᵀ costs rows·r·(K+N) multiply-adds; forming W = U·V first costs
    // N·r·K + rows·N·K. Unknown rows: assume the factorization pays.
    bool formWeight = false;
    if (inType.hasStaticShape()) {
      int64_t rows = inType.getNumElements() / k;
      formWeight = rows * r * (k + n) > n * r * k + rows * n * k;
    }
    Value result;
    if (formWeight) {
      Value wInit =
          tensor::EmptyOp::create(rewriter, loc, {n, k}, rewriter.getF32Type());
      auto wType = RankedTensorType::get({n, k}, rewriter.getF32Type());
      Value w = lathe::MatmulOp::create(rewriter, loc, TypeRange{wType},
                                        op.getU(), op.getV(), Value(), Value(),
                                        wInit, false, false, none)
                    .getResult()
                    .front();
      Value init = emptyLike(rewriter, loc, resType.getShape(), op.getInput());
      result =
          lathe::MatmulOp::create(rewriter, loc, TypeRange{resType},
                                  op.getInput(), w, op.getBias(), Value(), init,
                                  false, /*transpose_rhs=*/true, none)
              .getResult()
              .front();
    } else {
      SmallVector<int64_t> midShape(inType.getShape());
      midShape.back() = r;
      auto midType = RankedTensorType::get(midShape, rewriter.getF32Type());
      Value midInit = emptyLike(rewriter, loc, midShape, op.getInput());
      Value mid = lathe::MatmulOp::create(rewriter, loc, TypeRange{midType},
                                          op.getInput(), op.getV(), Value(),
                                          Value(), midInit, false,
                                          /*transpose_rhs=*/true, none)
                      .getResult()
                      .front();
      Value init = emptyLike(rewriter, loc, resType.getShape(), op.getInput());
      result = lathe::MatmulOp::create(rewriter, loc, TypeRange{resType}, mid,
                                       op.getU(), op.getBias(), Value(), init,
                                       false, /*transpose_rhs=*/true, none)
                   .getResult()
                   .front();
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct LowerConv2DTucker : public OpRewritePattern<Conv2DTuckerOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(Conv2DTuckerOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = cast<RankedTensorType>(op.getInput().getType());
    auto resType = cast<RankedTensorType>(op.getType());
    if (resType.isDynamicDim(2) || resType.isDynamicDim(3) ||
        inType.isDynamicDim(2) || inType.isDynamicDim(3))
      return rewriter.notifyMatchFailure(op, "dynamic spatial sizes");
    int64_t r = op.getRank();
    auto uInType = cast<RankedTensorType>(op.getUIn().getType());
    auto uOutType = cast<RankedTensorType>(op.getUOut().getType());
    Type f32 = rewriter.getF32Type();
    SmallVector<ReassociationIndices> toFilter = {{0}, {1, 2, 3}};
    auto filter = [&](Value factor, RankedTensorType type) -> Value {
      auto filterType = RankedTensorType::get(
          {type.getDimSize(0), type.getDimSize(1), 1, 1}, f32);
      return tensor::ExpandShapeOp::create(rewriter, loc, filterType, factor,
                                           toFilter);
    };
    DenseIntElementsAttr ones = rewriter.getI64TensorAttr({1, 1});

    // 1x1: Cin -> r on the input's pixels.
    SmallVector<int64_t> shape1(inType.getShape());
    shape1[1] = r;
    Value out1 = zeros(rewriter, loc, shape1, op.getInput());
    Value t1 = linalg::Conv2DNchwFchwOp::create(
                   rewriter, loc, TypeRange{out1.getType()},
                   ValueRange{op.getInput(), filter(op.getUIn(), uInType)},
                   ValueRange{out1}, ones, ones)
                   .getResult(0);
    // The core: r -> r with the op's window.
    SmallVector<int64_t> shape2(resType.getShape());
    shape2[1] = r;
    Value out2 = zeros(rewriter, loc, shape2, op.getInput());
    Value t2 = linalg::Conv2DNchwFchwOp::create(
                   rewriter, loc, TypeRange{out2.getType()},
                   ValueRange{t1, op.getCore()}, ValueRange{out2},
                   rewriter.getI64TensorAttr(op.getStrides()),
                   rewriter.getI64TensorAttr(op.getDilations()))
                   .getResult(0);
    // 1x1: r -> Cout.
    Value out3 = zeros(rewriter, loc, resType.getShape(), op.getInput());
    Value result = linalg::Conv2DNchwFchwOp::create(
                       rewriter, loc, TypeRange{resType},
                       ValueRange{t2, filter(op.getUOut(), uOutType)},
                       ValueRange{out3}, ones, ones)
                       .getResult(0);
    if (Value bias = op.getBias())
      result = addChannelBias(rewriter, loc, result, bias);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ConvertLowRankToLathe
    : public lathe::impl::ConvertLowRankToLatheBase<ConvertLowRankToLathe> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    lathe::populateLowRankToLathePatterns(patterns, linalgOnly);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult left = getOperation().walk([](Operation *op) {
      if (!isa<LinearOp, Conv2DTuckerOp>(op))
        return WalkResult::advance();
      op->emitOpError("could not be lowered (a Tucker-2 convolution needs "
                      "static spatial sizes; with linalg-only a linear layer "
                      "needs a 2-D input)");
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

void mlir::lathe::populateLowRankToLathePatterns(RewritePatternSet &patterns,
                                                 bool linalgOnly) {
  patterns.add<LowerLinear>(patterns.getContext(), linalgOnly);
  patterns.add<LowerConv2DTucker>(patterns.getContext());
}
