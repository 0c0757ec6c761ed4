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

/// Exchanges the bytes and the scales of a quantized vector over `axes`
/// (chunk j to group member j).
Quantized exchange(OpBuilder &b, Location loc, Quantized local,
                   FlatSymbolRefAttr grid, ArrayRef<int16_t> axes) {
  auto allToAll = [&](Value v) -> Value {
    return shard::AllToAllOp::create(b, loc, v.getType(), grid,
                                     b.getDenseI16ArrayAttr(axes), v,
                                     b.getIndexAttr(0), b.getIndexAttr(0));
  };
  return {allToAll(local.q), allToAll(local.scales)};
}

/// The f32 sum of the `parts` received chunks of n values.
Value dequantizeReduce(OpBuilder &b, Location loc, Quantized received,
                       int64_t n, int64_t parts, int64_t bits,
                       int64_t groupSize) {
  Value init = emptyTensor(b, loc, n, b.getF32Type());
  auto reduce = DequantizeReduceOp::create(
      b, loc, TypeRange{init.getType()}, received.q, received.scales, init,
      b.getI64IntegerAttr(parts), b.getI64IntegerAttr(bits),
      b.getI64IntegerAttr(groupSize), /*accumulate=*/nullptr);
  return reduce.getResult()[0];
}

/// The sum of the `parts` received chunks of n values, requantized at
/// `outBits` / `outGroupSize` for the next hop, in one kernel (the f32 sum
/// never reaches memory).
Quantized dequantizeReduceRequantize(OpBuilder &b, Location loc,
                                     Quantized received, int64_t n,
                                     int64_t parts, int64_t bits,
                                     int64_t groupSize, int64_t outBits,
                                     int64_t outGroupSize, Value seed) {
  Value q = emptyTensor(b, loc, n * outBits / 8, b.getI8Type());
  Value scales = emptyTensor(b, loc, n / outGroupSize, b.getF32Type());
  auto op = DequantizeReduceRequantizeOp::create(
      b, loc, TypeRange{q.getType(), scales.getType()}, received.q,
      received.scales, q, scales, seed, b.getI64IntegerAttr(parts),
      b.getI64IntegerAttr(bits), b.getI64IntegerAttr(groupSize),
      b.getI64IntegerAttr(outBits), b.getI64IntegerAttr(outGroupSize));
  return {op.getResult()[0], op.getResult()[1]};
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
    // Hop 1: quantize, exchange inside the node.
    int64_t intraBits = op.getIntraBits(), intraGroup = op.getIntraGroupSize();
    int64_t chunk =
        cast<RankedTensorType>(x.getType()).getDimSize(0) / *intraSize;
    Quantized received =
        exchange(rewriter, loc,
                 quantize(rewriter, loc, x, intraBits, intraGroup,
                          hopSeed(rewriter, loc, seed, 0)),
                 op.getGridAttr(), op.getIntraAxes());
    if (!op.hasInterHop()) {
      x = dequantizeReduce(rewriter, loc, received, chunk, *intraSize,
                           intraBits, intraGroup);
    } else {
      // Between the hops: sum hop 1's parts and requantize them for hop 2
      // (one fused kernel), then exchange across nodes and sum.
      int64_t interBits = *op.getInterBits(),
              interGroup = *op.getInterGroupSize();
      Quantized partial = dequantizeReduceRequantize(
          rewriter, loc, received, chunk, *intraSize, intraBits, intraGroup,
          interBits, interGroup, hopSeed(rewriter, loc, seed, 1));
      received = exchange(rewriter, loc, partial, op.getGridAttr(),
                          *op.getInterAxes());
      x = dequantizeReduce(rewriter, loc, received, chunk / *interSize,
                           *interSize, interBits, interGroup);
    }
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
