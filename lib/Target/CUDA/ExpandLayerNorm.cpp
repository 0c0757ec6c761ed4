//===- ExpandLayerNorm.cpp - lathe.layer_norm into linalg generics --------===//
//
// The op becomes two row reductions and one element-wise generic, which the
// `gpu` phase maps onto blocks and threads like any other generated code.
// The CUDA pipeline calls the runtime's warp-per-row kernel instead; this
// pass remains for explicit use (lathe-opt) and as a reference.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CUDA/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECUDAEXPANDLAYERNORM
#include "lathe/Target/CUDA/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

struct ExpandLayerNorm : public OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!type || op.getNumResults() != 1 || !type.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "expects f32 tensors");
    Location loc = op.getLoc();
    int64_t rank = type.getRank();
    MLIRContext *ctx = rewriter.getContext();
    Value x = op.getInput();

    // Row tensors: every dimension but the last.
    SmallVector<OpFoldResult> rowSizes;
    for (int64_t i = 0; i + 1 < rank; ++i)
      rowSizes.push_back(tensor::getMixedSize(rewriter, loc, x, i));
    Value lastSize = tensor::DimOp::create(rewriter, loc, x, rank - 1);
    Value n = arith::UIToFPOp::create(
        rewriter, loc, rewriter.getF32Type(),
        arith::IndexCastUIOp::create(rewriter, loc, rewriter.getI64Type(),
                                     lastSize));
    Value zero = arith::ConstantOp::create(rewriter, loc,
                                           rewriter.getF32FloatAttr(0.0f));
    Value rowsEmpty =
        tensor::EmptyOp::create(rewriter, loc, rowSizes, rewriter.getF32Type());
    Value rowsZero =
        linalg::FillOp::create(rewriter, loc, zero, rowsEmpty).getResult(0);

    AffineMap full = AffineMap::getMultiDimIdentityMap(rank, ctx);
    SmallVector<AffineExpr> rowExprs, colExprs;
    for (int64_t i = 0; i + 1 < rank; ++i)
      rowExprs.push_back(getAffineDimExpr(i, ctx));
    colExprs.push_back(getAffineDimExpr(rank - 1, ctx));
    AffineMap rowMap = AffineMap::get(rank, 0, rowExprs, ctx);
    AffineMap colMap = AffineMap::get(rank, 0, colExprs, ctx);
    SmallVector<utils::IteratorType> reduceIters(rank,
                                                 utils::IteratorType::parallel);
    reduceIters.back() = utils::IteratorType::reduction;
    SmallVector<utils::IteratorType> parallelIters(
        rank, utils::IteratorType::parallel);

    // sum_r = sum_j x[r, j]
    Value sum =
        linalg::GenericOp::create(
            rewriter, loc, rowsZero.getType(), ValueRange{x},
            ValueRange{rowsZero}, ArrayRef<AffineMap>{full, rowMap},
            reduceIters,
            [](OpBuilder &b, Location l, ValueRange args) {
              linalg::YieldOp::create(
                  b, l,
                  ValueRange{arith::AddFOp::create(b, l, args[1], args[0])
                                 .getResult()});
            })
            .getResult(0);
    // sq_r = sum_j (x[r, j] - sum_r / n)^2
    Value sq =
        linalg::GenericOp::create(
            rewriter, loc, rowsZero.getType(), ValueRange{x, sum},
            ValueRange{rowsZero}, ArrayRef<AffineMap>{full, rowMap, rowMap},
            reduceIters,
            [n](OpBuilder &b, Location l, ValueRange args) {
              Value mean = arith::DivFOp::create(b, l, args[1], n);
              Value d = arith::SubFOp::create(b, l, args[0], mean);
              Value dd = arith::MulFOp::create(b, l, d, d);
              linalg::YieldOp::create(
                  b, l,
                  ValueRange{
                      arith::AddFOp::create(b, l, args[2], dd).getResult()});
            })
            .getResult(0);
    // y = (x - mean) * rsqrt(sq / n + eps) [* gamma] [+ beta]
    Value eps = arith::ConstantOp::create(rewriter, loc, op.getEpsilonAttr());
    SmallVector<Value> inputs = {x, sum, sq};
    SmallVector<AffineMap> maps = {full, rowMap, rowMap};
    bool hasGamma = static_cast<bool>(op.getGamma());
    bool hasBeta = static_cast<bool>(op.getBeta());
    if (hasGamma) {
      inputs.push_back(op.getGamma());
      maps.push_back(colMap);
    }
    if (hasBeta) {
      inputs.push_back(op.getBeta());
      maps.push_back(colMap);
    }
    maps.push_back(full);
    Value init = op.getInit();
    auto result = linalg::GenericOp::create(
        rewriter, loc, init.getType(), inputs, ValueRange{init}, maps,
        parallelIters, [&](OpBuilder &b, Location l, ValueRange args) {
          Value mean = arith::DivFOp::create(b, l, args[1], n);
          Value var = arith::DivFOp::create(b, l, args[2], n);
          Value inv = math::RsqrtOp::create(
              b, l, arith::AddFOp::create(b, l, var, eps));
          Value y = arith::MulFOp::create(
              b, l, arith::SubFOp::create(b, l, args[0], mean), inv);
          unsigned next = 3;
          if (hasGamma)
            y = arith::MulFOp::create(b, l, y, args[next++]);
          if (hasBeta)
            y = arith::AddFOp::create(b, l, y, args[next++]);
          linalg::YieldOp::create(b, l, y);
        });
    rewriter.replaceOp(op, result.getResults());
    return success();
  }
};

struct LatheCUDAExpandLayerNorm
    : public lathe::impl::LatheCUDAExpandLayerNormBase<
          LatheCUDAExpandLayerNorm> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandLayerNorm>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
