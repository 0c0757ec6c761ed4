//===- SeqShardToShard.cpp - Ulysses all-to-alls as shard.all_to_all ------===//
//
// seqshard.scatter_heads / gather_heads become one upstream shard.all_to_all
// on dimension 0 (contiguous blocks, the form every target runs) with the
// reshapes and transposes that the layout's sequence and heads dimensions
// call for; quantized ones go through qcomm's compute ops. A conversion
// between dialects, so it lives in lib/Conversion (include/lathe/Conversion/
// Passes.td has the steps).
//
//===----------------------------------------------------------------------===//

#include "lathe/Conversion/Passes.h"

#include "lathe/Dialect/QComm/QCommOps.h"
#include "lathe/Dialect/SeqShard/SeqShardOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_CONVERTSEQSHARDTOSHARD
#include "lathe/Conversion/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::seqshard;

namespace {

Value transpose(PatternRewriter &rewriter, Location loc, Value x,
                ArrayRef<int64_t> perm) {
  auto type = cast<RankedTensorType>(x.getType());
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return x;
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  Value init =
      tensor::EmptyOp::create(rewriter, loc, shape, type.getElementType());
  return linalg::TransposeOp::create(rewriter, loc, x, init, perm)
      .getResult()[0];
}

/// How the values travel: f32 (bits = 0) or quantized.
struct Quant {
  int64_t bits = 0, groupSize = 128;
  bool hadamard = false;
};

Value empty1d(PatternRewriter &rewriter, Location loc, int64_t n, Type t) {
  return tensor::EmptyOp::create(rewriter, loc, ArrayRef<int64_t>{n}, t);
}

Value hadamard(PatternRewriter &rewriter, Location loc, Value x) {
  int64_t n = cast<RankedTensorType>(x.getType()).getDimSize(0);
  Value init = empty1d(rewriter, loc, n, rewriter.getF32Type());
  return qcomm::HadamardOp::create(rewriter, loc, TypeRange{init.getType()}, x,
                                   init)
      .getResult()[0];
}

/// The all-to-all on dimension 0 of `v` (P contiguous blocks), quantized:
/// the flattened values (optionally Hadamard-transformed) become bytes and
/// scales, both are exchanged (block j to member j: whole groups, since
/// the verifier checked that the groups do not straddle blocks), and the
/// received ones are dequantized (and transformed back).
Value quantizedAllToAll(PatternRewriter &rewriter, Location loc, Value v,
                        const Quant &quant, FlatSymbolRefAttr grid,
                        ArrayRef<int16_t> axes) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t n = type.getNumElements();
  Type f32 = rewriter.getF32Type();
  ReassociationIndices all =
      llvm::to_vector<2>(llvm::seq<int64_t>(0, type.getRank()));
  SmallVector<ReassociationIndices> flatten = {all};
  Value flat = tensor::CollapseShapeOp::create(
      rewriter, loc, RankedTensorType::get({n}, f32), v, flatten);
  if (quant.hadamard)
    flat = hadamard(rewriter, loc, flat);
  Value q0 = empty1d(rewriter, loc, n * quant.bits / 8, rewriter.getI8Type());
  Value s0 = empty1d(rewriter, loc, n / quant.groupSize, f32);
  auto quantize = qcomm::QuantizeOp::create(
      rewriter, loc, TypeRange{q0.getType(), s0.getType()}, flat, q0, s0,
      /*seed=*/Value(), rewriter.getI64IntegerAttr(quant.bits),
      rewriter.getI64IntegerAttr(quant.groupSize));
  auto allToAll = [&](Value x) -> Value {
    return shard::AllToAllOp::create(
        rewriter, loc, x.getType(), grid, rewriter.getDenseI16ArrayAttr(axes),
        x, rewriter.getIndexAttr(0), rewriter.getIndexAttr(0));
  };
  Value q = allToAll(quantize.getResult()[0]);
  Value scales = allToAll(quantize.getResult()[1]);
  Value init = empty1d(rewriter, loc, n, f32);
  Value y = qcomm::DequantizeOp::create(
                rewriter, loc, TypeRange{init.getType()}, q, scales, init,
                rewriter.getI64IntegerAttr(quant.bits),
                rewriter.getI64IntegerAttr(quant.groupSize),
                /*accumulate=*/nullptr)
                .getResult()[0];
  if (quant.hadamard)
    y = hadamard(rewriter, loc, y);
  return tensor::ExpandShapeOp::create(rewriter, loc, type, y, flatten);
}

/// Sends dimension `o` of `x` out in P blocks (block j to member j) and
/// concatenates the P received blocks in front of dimension `i`.
Value exchange(PatternRewriter &rewriter, Location loc, Value x, int64_t o,
               int64_t i, int64_t p, FlatSymbolRefAttr grid,
               ArrayRef<int16_t> axes, const Quant &quant) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  // 1. o -> [P, o / P].
  SmallVector<int64_t> expanded;
  SmallVector<ReassociationIndices> split;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t at = expanded.size();
    if (d == o) {
      expanded.append({p, type.getDimSize(d) / p});
      split.push_back({at, at + 1});
    } else {
      expanded.push_back(type.getDimSize(d));
      split.push_back({at});
    }
  }
  Value v = tensor::ExpandShapeOp::create(
      rewriter, loc, RankedTensorType::get(expanded, type.getElementType()), x,
      split);
  // 2. P to the front: then original dimension d sits at 1 + d.
  SmallVector<int64_t> front = {o};
  for (int64_t d = 0; d <= rank; ++d)
    if (d != o)
      front.push_back(d);
  v = transpose(rewriter, loc, v, front);
  // 3. Block j to member j, block j from member j (quantized: bytes and
  // scales).
  if (quant.bits)
    v = quantizedAllToAll(rewriter, loc, v, quant, grid, axes);
  else
    v = shard::AllToAllOp::create(rewriter, loc, v.getType(), grid,
                                  rewriter.getDenseI16ArrayAttr(axes), v,
                                  rewriter.getIndexAttr(0),
                                  rewriter.getIndexAttr(0))
            .getResult();
  // 4. P right before i.
  SmallVector<int64_t> back;
  for (int64_t d = 0; d < rank; ++d) {
    if (d == i)
      back.push_back(0);
    back.push_back(1 + d);
  }
  v = transpose(rewriter, loc, v, back);
  // 5. [P, i] -> P * i.
  SmallVector<ReassociationIndices> merge;
  SmallVector<int64_t> shape;
  auto vt = cast<RankedTensorType>(v.getType());
  for (int64_t d = 0, at = 0; d < rank; ++d) {
    if (d == i) {
      merge.push_back({at, at + 1});
      shape.push_back(vt.getDimSize(at) * vt.getDimSize(at + 1));
      at += 2;
    } else {
      merge.push_back({at});
      shape.push_back(vt.getDimSize(at));
      at += 1;
    }
  }
  return tensor::CollapseShapeOp::create(
      rewriter, loc, RankedTensorType::get(shape, type.getElementType()), v,
      merge);
}

template <typename OpTy> struct ExpandPattern : public OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    constexpr bool scatter = std::is_same_v<OpTy, ScatterHeadsOp>;
    auto in = cast<RankedTensorType>(op.getInput().getType());
    auto out = cast<RankedTensorType>(op.getResult().getType());
    int64_t s = op.getSeqDim(), h = op.getHeadsDim();
    int64_t p = scatter ? out.getDimSize(s) / in.getDimSize(s)
                        : in.getDimSize(s) / out.getDimSize(s);
    int64_t o = scatter ? h : s, i = scatter ? s : h;
    Quant quant;
    if (op.getQuantBits()) {
      quant.bits = *op.getQuantBits();
      quant.groupSize = op.getQuantGroupSizeOr128();
      quant.hadamard = op.getHadamard();
    }
    Value v = exchange(rewriter, op.getLoc(), op.getInput(), o, i, p,
                       op.getGridAttr(), op.getGridAxes(), quant);
    rewriter.replaceOp(op, v);
    return success();
  }
};

struct ConvertSeqShardToShard
    : public lathe::impl::ConvertSeqShardToShardBase<ConvertSeqShardToShard> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    lathe::populateSeqShardToShardPatterns(patterns);
    // No folding: the transposes stay where the steps put them.
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace

void mlir::lathe::populateSeqShardToShardPatterns(RewritePatternSet &patterns) {
  patterns.add<ExpandPattern<ScatterHeadsOp>, ExpandPattern<GatherHeadsOp>>(
      patterns.getContext());
}
