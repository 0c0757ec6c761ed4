//===- ExpandCollectives.cpp - qcomm comm ops to compute + shard ops ------===//

#include "lathe/Dialect/QComm/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::lathe::qcomm {
#define GEN_PASS_DEF_QCOMMEXPANDCOLLECTIVES
#include "lathe/Dialect/QComm/Passes.h.inc"
} // namespace mlir::lathe::qcomm

using namespace mlir;
using namespace mlir::lathe::qcomm;

namespace {

Value emptyTensor(OpBuilder &b, Location loc, int64_t size, Type element) {
  return tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{size}, element);
}

/// A quantized vector on tensors: bytes and scales.
struct Quantized {
  Value q, scales;
};

Quantized quantize(OpBuilder &b, Location loc, Value x, int64_t bits,
                   int64_t groupSize, Value seed) {
  int64_t n = cast<RankedTensorType>(x.getType()).getDimSize(0);
  Value q = emptyTensor(b, loc, n * bits / 8, b.getI8Type());
  Value scales = emptyTensor(b, loc, n / groupSize, b.getF32Type());
  auto op = QuantizeOp::create(b, loc, TypeRange{q.getType(), scales.getType()},
                               x, q, scales, seed, b.getI64IntegerAttr(bits),
                               b.getI64IntegerAttr(groupSize));
  return {op.getResult()[0], op.getResult()[1]};
}

/// The seeds of an op's hops are base + hop with base = (seed * 2^16 +
/// process linear index) * 4, so that ranks and hops draw independent
/// rounding offsets. Null without a seed (round to nearest).
Value seedBase(OpBuilder &b, Location loc, Value seed, FlatSymbolRefAttr grid) {
  if (!seed)
    return {};
  Value index = shard::ProcessLinearIndexOp::create(b, loc, grid);
  index = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  Value s = arith::MulIOp::create(
      b, loc, seed, arith::ConstantIntOp::create(b, loc, 1 << 16, 64));
  s = arith::AddIOp::create(b, loc, s, index);
  return arith::MulIOp::create(b, loc, s,
                               arith::ConstantIntOp::create(b, loc, 4, 64));
}

Value hopSeed(OpBuilder &b, Location loc, Value base, int64_t hop) {
  if (!base || hop == 0)
    return base;
  return arith::AddIOp::create(b, loc, base,
                               arith::ConstantIntOp::create(b, loc, hop, 64));
}

/// One all-to-all hop: quantize `x`, exchange bytes and scales over `axes`,
/// dequantize and sum the `parts` received chunks.
Value allToAllHop(OpBuilder &b, Location loc, Value x, FlatSymbolRefAttr grid,
                  ArrayRef<int16_t> axes, int64_t parts, int64_t bits,
                  int64_t groupSize, Value seed) {
  Quantized local = quantize(b, loc, x, bits, groupSize, seed);
  auto exchange = [&](Value v) -> Value {
    return shard::AllToAllOp::create(b, loc, v.getType(), grid,
                                     b.getDenseI16ArrayAttr(axes), v,
                                     b.getIndexAttr(0), b.getIndexAttr(0));
  };
  Value q = exchange(local.q), scales = exchange(local.scales);
  int64_t n = cast<RankedTensorType>(x.getType()).getDimSize(0) / parts;
  Value init = emptyTensor(b, loc, n, b.getF32Type());
  auto reduce = DequantizeReduceOp::create(
      b, loc, TypeRange{init.getType()}, q, scales, init,
      b.getI64IntegerAttr(parts), b.getI64IntegerAttr(bits),
      b.getI64IntegerAttr(groupSize), /*accumulate=*/nullptr);
  return reduce.getResult()[0];
}

Value hadamard(OpBuilder &b, Location loc, Value x) {
  int64_t n = cast<RankedTensorType>(x.getType()).getDimSize(0);
  Value init = emptyTensor(b, loc, n, b.getF32Type());
  return HadamardOp::create(b, loc, TypeRange{init.getType()}, x, init)
      .getResult()[0];
}

struct ExpandAllGather : public OpRewritePattern<AllGatherOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AllGatherOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Quantized local =
        quantize(rewriter, loc, op.getInput(), op.getBits(), op.getGroupSize(),
                 seedBase(rewriter, loc, op.getSeed(), op.getGridAttr()));
    auto gather = [&](Value v) -> Value {
      auto type = cast<RankedTensorType>(v.getType());
      int64_t groups = op.getResult().getType().getDimSize(0) /
                       op.getInput().getType().getDimSize(0);
      auto gathered = RankedTensorType::get({type.getDimSize(0) * groups},
                                            type.getElementType());
      return shard::AllGatherOp::create(rewriter, loc, gathered,
                                        op.getGridAttr(), op.getGridAxesAttr(),
                                        v, rewriter.getIndexAttr(0));
    };
    Value q = gather(local.q), scales = gather(local.scales);
    Value init = op.getAddend();
    if (!init)
      init = emptyTensor(rewriter, loc, op.getResult().getType().getDimSize(0),
                         rewriter.getF32Type());
    auto dequantize = DequantizeOp::create(
        rewriter, loc, TypeRange{init.getType()}, q, scales, init,
        op.getBitsAttr(), op.getGroupSizeAttr(),
        op.getAddend() ? rewriter.getUnitAttr() : nullptr);
    rewriter.replaceOp(op, dequantize.getResult()[0]);
    return success();
  }
};

struct ExpandReduceScatter : public OpRewritePattern<ReduceScatterOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ReduceScatterOp op,
                                PatternRewriter &rewriter) const override {
    SymbolTableCollection symbols;
    FailureOr<int64_t> intraSize =
        getStaticGroupSize(op, op.getGridAttr(), op.getIntraAxes(), symbols,
                           /*emitErrors=*/false);
    FailureOr<int64_t> interSize =
        op.hasInterHop()
            ? getStaticGroupSize(op, op.getGridAttr(), *op.getInterAxes(),
                                 symbols, /*emitErrors=*/false)
            : FailureOr<int64_t>(1);
    if (failed(intraSize) || failed(interSize))
      return rewriter.notifyMatchFailure(op, "grid sizes not static");

    Location loc = op.getLoc();
    Value seed = seedBase(rewriter, loc, op.getSeed(), op.getGridAttr());
    Value x = op.getInput();
    if (op.getHadamard())
      x = hadamard(rewriter, loc, x);
    x = allToAllHop(rewriter, loc, x, op.getGridAttr(), op.getIntraAxes(),
                    *intraSize, op.getIntraBits(), op.getIntraGroupSize(),
                    hopSeed(rewriter, loc, seed, 0));
    if (op.hasInterHop())
      x = allToAllHop(rewriter, loc, x, op.getGridAttr(), *op.getInterAxes(),
                      *interSize, *op.getInterBits(), *op.getInterGroupSize(),
                      hopSeed(rewriter, loc, seed, 1));
    if (op.getHadamard())
      x = hadamard(rewriter, loc, x);
    rewriter.replaceOp(op, x);
    return success();
  }
};

struct QCommExpandCollectives
    : public lathe::qcomm::impl::QCommExpandCollectivesBase<
          QCommExpandCollectives> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateExpandCollectivesPatterns(patterns);
    // One walk, no folding: the rest of the module stays as it is.
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    WalkResult left = getOperation().walk([](Operation *op) {
      if (!isa<AllGatherOp, ReduceScatterOp>(op))
        return WalkResult::advance();
      op->emitOpError("could not be expanded (its grid's sizes on the axes "
                      "must be static)");
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

void mlir::lathe::qcomm::populateExpandCollectivesPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ExpandAllGather, ExpandReduceScatter>(patterns.getContext());
}
