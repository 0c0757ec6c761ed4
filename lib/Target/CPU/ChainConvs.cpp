//===- ChainConvs.cpp - Convolution chains on the CPU backend -------------===//
//
// lathe-cpu-chain-convs: rewrites between `lathe.conv2d`s on tensors.
//
// 0. Padding: a zero `tensor.pad` of the input's spatial dimensions becomes
//    the op's `padding` (oneDNN reads the zeros implicitly).
// 1. Demand: a convolution whose every use reads only a spatial prefix of
//    its output (another convolution whose windows stop short of the last
//    rows, or an extract_slice at offset 0) computes only that prefix. A
//    pooled 15x15 map read by a 3x3 convolution with a 12x12 output (whose
//    2x2 pooling drops the 13th row) needs 14x14, so the first convolution
//    computes 28x28 instead of 30x30 rows and columns.
// 2. Layout: convolutions whose outputs only convolutions read (as input, or
//    as the residual of an accumulating convolution) or max-pool write
//    oneDNN's channel-blocked layout (nChw16c, a rank-5 [N, C/16, H, W, 16]
//    tensor in the IR) and their consumers read it so; ResNets chain whole,
//    stem pooling and residual connections included. The runtime then
//    converts no layout between them: on ResNet-50 (f32) that removed all 74
//    oneDNN reorders of a call. With `channels-last` (--precision=bf16) the
//    block is all channels instead ([N, 1, H, W, C]: NHWC memory order, the
//    only layout oneDNN's AMX bf16 convolutions take). NHWC convolutions
//    (JAX's form) chain the same way into nChw16c (the data operands become
//    [N, C/16, H, W, 16], the filter stays HWCF), except with
//    `channels-last`, where NHWC already is that order.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include "llvm/ADT/DenseSet.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPUCHAINCONVS
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// Spatial dimensions (H, W) of a conv data operand with channel block
/// `block`: 1, 2 for plain nhwc, else 2, 3 (plain nchw, or blocked
/// [N, C/b, H, W, b] in either layout).
std::array<unsigned, 2> spatialDims(Conv2DOp op, int64_t block) {
  if (op.isNhwc() && !block)
    return {1, 2};
  return {2, 3};
}

/// True if `use` is the input (not the filter or bias) of a lathe.conv2d on
/// tensors.
Conv2DOp asConvInput(OpOperand &use) {
  auto conv = dyn_cast<Conv2DOp>(use.getOwner());
  if (!conv || conv.hasPureBufferSemantics() ||
      use.getOperandNumber() != conv.getInputMutable().getOperandNumber())
    return {};
  // Read through another operand too: leave it alone.
  for (OpOperand &other : conv->getOpOperands())
    if (&other != &use && other.get() == use.get())
      return {};
  return conv;
}

bool isStaticPrefixSlice(tensor::ExtractSliceOp slice) {
  return llvm::all_of(slice.getStaticOffsets(),
                      [](int64_t v) { return v == 0; }) &&
         llvm::all_of(slice.getStaticStrides(),
                      [](int64_t v) { return v == 1; }) &&
         !ShapedType::isDynamicShape(slice.getStaticSizes()) &&
         slice.getType().getRank() == slice.getSourceType().getRank();
}

/// A copy of `conv` writing a fresh tensor.empty of `type` (the op overwrites
/// its init, so the old init's contents never matter).
Conv2DOp cloneWithInit(IRRewriter &rewriter, Conv2DOp conv,
                       RankedTensorType type) {
  rewriter.setInsertionPoint(conv);
  Value empty = tensor::EmptyOp::create(rewriter, conv.getLoc(),
                                        type.getShape(), type.getElementType());
  auto copy = Conv2DOp::create(rewriter, conv.getLoc(), TypeRange{type},
                               conv.getInput(), conv.getFilter(),
                               conv.getBias(), empty);
  copy->setAttrs(conv->getAttrs());
  return copy;
}

/// Rewrite 0: a zero `tensor.pad` of the spatial dimensions feeding the
/// input becomes the op's `padding` (oneDNN pads on the fly; no padded copy).
void foldPadding(IRRewriter &rewriter, Conv2DOp conv) {
  auto pad = conv.getInput().getDefiningOp<tensor::PadOp>();
  if (!pad || conv.hasPureBufferSemantics() || pad.getNofold())
    return;
  Value value = pad.getConstantPaddingValue();
  if (!value || !matchPattern(value, m_AnyZeroFloat()))
    return;
  ArrayRef<int64_t> low = pad.getStaticLow(), high = pad.getStaticHigh();
  if (ShapedType::isDynamicShape(low) || ShapedType::isDynamicShape(high))
    return;
  std::array<unsigned, 2> dims = spatialDims(conv, conv.getInputBlock());
  for (unsigned d = 0; d < low.size(); ++d)
    if (d != dims[0] && d != dims[1] && (low[d] != 0 || high[d] != 0))
      return;
  SmallVector<int64_t> padding(conv.getPadding());
  padding[0] += low[dims[0]];
  padding[1] += low[dims[1]];
  padding[2] += high[dims[0]];
  padding[3] += high[dims[1]];
  rewriter.modifyOpInPlace(conv, [&] {
    conv.getInputMutable().set(pad.getSource());
    conv.setPadding(padding);
  });
  if (pad->use_empty())
    rewriter.eraseOp(pad);
}

/// Erases `op` (a lathe.conv2d or lathe.max_pool2d) and its init when that
/// was a tensor.empty used by nothing else.
void eraseWithInit(IRRewriter &rewriter, Operation *op) {
  auto empty = cast<DestinationStyleOpInterface>(op)
                   .getDpsInits()[0]
                   .getDefiningOp<tensor::EmptyOp>();
  rewriter.eraseOp(op);
  if (empty && empty->use_empty())
    rewriter.eraseOp(empty);
}

/// Rewrite 1: computes only the rows and columns the uses read. Returns the
/// (possibly new) op.
Conv2DOp shrinkToDemand(IRRewriter &rewriter, Conv2DOp conv) {
  // An accumulating convolution's init is data (its residual), not a fresh
  // tensor to replace.
  if (conv.hasPureBufferSemantics() || conv->use_empty() ||
      conv.getAccumulate())
    return conv;
  auto type = cast<RankedTensorType>(conv.getResult().front().getType());
  if (!type.hasStaticShape())
    return conv;
  std::array<unsigned, 2> dims = spatialDims(conv, conv.getOutputBlock());
  int64_t need[2] = {0, 0};
  for (OpOperand &use : conv.getResult().front().getUses()) {
    if (Conv2DOp consumer = asConvInput(use)) {
      if (consumer.isNhwc() != conv.isNhwc() ||
          consumer.getInputBlock() != conv.getOutputBlock())
        return conv;
      for (unsigned d = 0; d < 2; ++d) {
        int64_t span = consumer.getInputSpan(d);
        if (ShapedType::isDynamic(span))
          return conv;
        // The span counts the consumer's top/left zero padding.
        need[d] = std::max(need[d], span - consumer.getPadding()[d]);
      }
      continue;
    }
    auto slice = dyn_cast<tensor::ExtractSliceOp>(use.getOwner());
    if (!slice || !isStaticPrefixSlice(slice))
      return conv;
    for (unsigned d = 0; d < 2; ++d)
      need[d] = std::max(need[d], slice.getStaticSizes()[dims[d]]);
  }
  SmallVector<int64_t> shape(type.getShape());
  if (need[0] >= shape[dims[0]] && need[1] >= shape[dims[1]])
    return conv;
  // An empty demand keeps one row: the op never has an empty output here.
  for (unsigned d = 0; d < 2; ++d)
    shape[dims[d]] = std::max<int64_t>(1, std::min(need[d], shape[dims[d]]));
  Conv2DOp smaller = cloneWithInit(
      rewriter, conv, RankedTensorType::get(shape, type.getElementType()));
  Value result = smaller.getResult().front();
  for (OpOperand &use :
       llvm::make_early_inc_range(conv.getResult().front().getUses())) {
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(use.getOwner())) {
      rewriter.setInsertionPoint(slice);
      rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(
          slice, slice.getType(), result, slice.getMixedOffsets(),
          slice.getMixedSizes(), slice.getMixedStrides());
      continue;
    }
    rewriter.modifyOpInPlace(use.getOwner(), [&] { use.set(result); });
  }
  eraseWithInit(rewriter, conv);
  return smaller;
}

/// True if `use` is the input of a convolution of layout nhwc (`nhwc`) or
/// nchw that reads it plain (not yet blocked).
bool readsPlain(OpOperand &use, bool nhwc) {
  Conv2DOp consumer = asConvInput(use);
  return consumer && consumer.isNhwc() == nhwc && consumer.getInputBlock() == 0;
}

/// The accumulating convolution of layout nhwc (`nhwc`) or nchw (plain
/// output) that reads `use` as its residual (`init`) and through no other
/// operand, if any.
Conv2DOp asResidual(OpOperand &use, bool nhwc) {
  auto consumer = dyn_cast<Conv2DOp>(use.getOwner());
  if (!consumer || !consumer.getAccumulate() ||
      consumer.hasPureBufferSemantics() || consumer.isNhwc() != nhwc ||
      consumer.getOutputBlock() != 0 ||
      use.getOperandNumber() != consumer.getInitMutable().getOperandNumber())
    return {};
  for (OpOperand &other : consumer->getOpOperands())
    if (&other != &use && other.get() == use.get())
      return {};
  return consumer;
}

/// True if `slice` (of a chained output) keeps whole blocks of `block`
/// channels (all channels when the block is all of them), with static
/// offsets, sizes and strides, and only plain nchw convolutions read it: it
/// then becomes a slice of the blocked tensor. (Slices of nhwc outputs stay.)
bool isBlockSlice(tensor::ExtractSliceOp slice, int64_t block, bool nhwc) {
  if (nhwc || slice.getType().getRank() != 4 ||
      ShapedType::isDynamicShape(slice.getStaticOffsets()) ||
      ShapedType::isDynamicShape(slice.getStaticSizes()) ||
      ShapedType::isDynamicShape(slice.getStaticStrides()))
    return false;
  int64_t offset = slice.getStaticOffsets()[1],
          size = slice.getStaticSizes()[1];
  return offset % block == 0 && size % block == 0 && size != 0 &&
         slice.getStaticStrides()[1] == 1 && !slice->use_empty() &&
         llvm::all_of(slice->getUses(),
                      [](OpOperand &use) { return readsPlain(use, false); });
}

/// The max pooling (nchw, plain, on tensors) that reads `use` as its input
/// and through no other operand, if any. (Poolings of nhwc outputs are not
/// chained.)
MaxPool2DOp asPoolInput(OpOperand &use, bool nhwc) {
  auto pool = dyn_cast<MaxPool2DOp>(use.getOwner());
  if (nhwc || !pool || pool.hasPureBufferSemantics() || pool.isNhwc() ||
      pool.getBlock() != 0 ||
      use.getOperandNumber() != pool.getInputMutable().getOperandNumber() ||
      pool.getInit() == use.get())
    return {};
  return pool;
}

/// The channel block an NCHW (or NHWC: `nhwc`) `result` gets when chained,
/// 0 when it cannot be: all channels with `channelsLast` (NCHW only: NHWC is
/// channels-last already), else Conv2DOp::kChannelBlock where the channels
/// are a multiple of it.
int64_t chainBlock(Value result, bool channelsLast, bool nhwc) {
  auto type = cast<RankedTensorType>(result.getType());
  unsigned channelDim = nhwc ? 3 : 1;
  if (!type.hasStaticShape() || type.getRank() != 4 ||
      type.getDimSize(channelDim) == 0 || (nhwc && channelsLast))
    return 0;
  int64_t channels = type.getDimSize(channelDim);
  if (channelsLast)
    return channels;
  return channels % Conv2DOp::kChannelBlock == 0 ? Conv2DOp::kChannelBlock : 0;
}

/// A copy of `value` with its dimensions permuted (result dimension i is
/// `value`'s dimension perm[i]).
Value transposed(IRRewriter &rewriter, Location loc, Value value,
                 ArrayRef<int64_t> perm) {
  auto type = cast<RankedTensorType>(value.getType());
  Value empty = tensor::EmptyOp::create(rewriter, loc,
                                        applyPermutation(type.getShape(), perm),
                                        type.getElementType());
  return linalg::TransposeOp::create(rewriter, loc, value, empty, perm)
      ->getResult(0);
}

/// The channel dimension of an NCHW (or NHWC: `nhwc`) tensor split in two:
/// [N, C/block, block, H, W] (or [N, H, W, C/block, block]).
SmallVector<ReassociationIndices> channelSplit(bool nhwc) {
  if (nhwc)
    return {{0}, {1}, {2}, {3, 4}};
  return {{0}, {1, 2}, {3}, {4}};
}

/// [N, C, H, W] -> [N, C/block, block, H, W] -> [N, C/block, H, W, block];
/// with `nhwc`, [N, H, W, C] -> [N, H, W, C/block, block] -> the same.
Value copyToBlocked(IRRewriter &rewriter, Location loc, Value nchw,
                    int64_t block, bool nhwc) {
  auto type = cast<RankedTensorType>(nchw.getType());
  unsigned channelDim = nhwc ? 3 : 1;
  SmallVector<int64_t> split(type.getShape());
  split[channelDim] /= block;
  split.insert(split.begin() + channelDim + 1, block);
  Value expanded = tensor::ExpandShapeOp::create(
      rewriter, loc, RankedTensorType::get(split, type.getElementType()), nchw,
      channelSplit(nhwc));
  return transposed(rewriter, loc, expanded,
                    nhwc ? ArrayRef<int64_t>{0, 3, 1, 2, 4}
                         : ArrayRef<int64_t>{0, 1, 3, 4, 2});
}

/// [N, C/block, H, W, block] -> [N, C/block, block, H, W] -> [N, C, H, W];
/// with `nhwc`, -> [N, H, W, C/block, block] -> [N, H, W, C].
Value copyToPlain(IRRewriter &rewriter, Location loc, Value blocked,
                  bool nhwc) {
  Value split = transposed(rewriter, loc, blocked,
                           nhwc ? ArrayRef<int64_t>{0, 2, 3, 1, 4}
                                : ArrayRef<int64_t>{0, 1, 4, 2, 3});
  return tensor::CollapseShapeOp::create(rewriter, loc, split,
                                         channelSplit(nhwc));
}

/// Rewrite 2: the outputs of convolutions and of max poolings of them whose
/// every use is a plain nchw convolution's input (directly or through a
/// slice of whole channel blocks), the input of a chained pooling, or the
/// residual (`init`) of a chained accumulating convolution become
/// channel-blocked ([N, C/B, H, W, B], see chainBlock), and their consumers
/// read them so. An accumulating convolution is chained too: its residual is
/// then a chained output or, when none writes it, a blocked copy; uses of its
/// output that do not read it blocked get a plain copy. Returns the number of
/// ops rewritten.
unsigned chainBlocked(IRRewriter &rewriter, func::FuncOp func,
                      bool channelsLast) {
  // Convolutions and poolings, in program order.
  SmallVector<Operation *> nodes;
  func.walk([&](Operation *op) {
    if (isa<Conv2DOp, MaxPool2DOp>(op))
      nodes.push_back(op);
  });
  auto resultOf = [](Operation *op) { return op->getResult(0); };
  // The layout of an op's (plain) output.
  auto isNhwc = [](Operation *op) {
    if (auto conv = dyn_cast<Conv2DOp>(op))
      return conv.isNhwc();
    return cast<MaxPool2DOp>(op).isNhwc();
  };
  auto usesReadBlocked = [&](Operation *op, int64_t block) {
    bool nhwc = isNhwc(op);
    for (OpOperand &use : resultOf(op).getUses()) {
      if (readsPlain(use, nhwc) || asResidual(use, nhwc) ||
          asPoolInput(use, nhwc))
        continue;
      auto slice = dyn_cast<tensor::ExtractSliceOp>(use.getOwner());
      if (!slice || !isBlockSlice(slice, block, nhwc))
        return false;
    }
    return true;
  };
  auto eligible = [&](Operation *op) {
    if (op->getNumResults() != 1 || op->use_empty())
      return false;
    int64_t block = chainBlock(resultOf(op), channelsLast, isNhwc(op));
    if (auto conv = dyn_cast<Conv2DOp>(op)) {
      if (conv.getOutputBlock() != 0 || !block)
        return false;
      // A chained accumulating convolution keeps the residual chain going:
      // uses that do not read it blocked get a plain (NCHW or NHWC) copy.
      return conv.getAccumulate() || usesReadBlocked(op, block);
    }
    // A pooling of a chained convolution's output (same channels, so the
    // same block).
    auto pool = cast<MaxPool2DOp>(op);
    return !pool.isNhwc() && pool.getBlock() == 0 && block &&
           pool.getInput().getDefiningOp<Conv2DOp>() &&
           usesReadBlocked(op, block);
  };

  // The largest consistent set: an output used as a residual or pooled is
  // chained only when the convolutions accumulating into it and the pooling
  // are, and a pooling only when its input is.
  llvm::DenseSet<Operation *> chosen;
  for (Operation *op : nodes)
    if (eligible(op))
      chosen.insert(op);
  for (bool changed = true; changed;) {
    changed = false;
    for (Operation *op : nodes) {
      if (!chosen.contains(op))
        continue;
      bool ok = true;
      bool nhwc = isNhwc(op);
      for (OpOperand &use : resultOf(op).getUses()) {
        if (Conv2DOp consumer = asResidual(use, nhwc))
          ok = ok && chosen.contains(consumer);
        if (MaxPool2DOp pool = asPoolInput(use, nhwc))
          ok = ok && chosen.contains(pool);
      }
      if (auto pool = dyn_cast<MaxPool2DOp>(op))
        ok = ok && chosen.contains(pool.getInput().getDefiningOp());
      if (!ok) {
        chosen.erase(op);
        changed = true;
      }
    }
  }

  // Producers first (program order), so a residual or a pooling's input is
  // rewritten before the op that reads it.
  llvm::DenseMap<Value, Value> rewritten;
  SmallVector<Operation *> dead;
  for (Operation *op : nodes) {
    if (!chosen.contains(op))
      continue;
    auto type = cast<RankedTensorType>(resultOf(op).getType());
    bool nhwc = isNhwc(op);
    int64_t block = chainBlock(resultOf(op), channelsLast, nhwc);
    // (N, C, H, W) of the plain output.
    std::array<int64_t, 4> dims = {type.getDimSize(0), type.getDimSize(1),
                                   type.getDimSize(2), type.getDimSize(3)};
    if (nhwc)
      dims = {dims[0], dims[3], dims[1], dims[2]};
    auto newType = RankedTensorType::get(
        {dims[0], dims[1] / block, dims[2], dims[3], block},
        type.getElementType());
    rewriter.setInsertionPoint(op);
    Location loc = op->getLoc();
    auto conv = dyn_cast<Conv2DOp>(op);
    Value init;
    if (conv && conv.getAccumulate()) {
      init = rewritten.lookup(conv.getInit());
      // A residual that no chained convolution writes (e.g. a pooling's
      // output): one blocked copy keeps the chain going.
      if (!init)
        init = copyToBlocked(rewriter, loc, conv.getInit(), block, nhwc);
    } else {
      init = tensor::EmptyOp::create(rewriter, loc, newType.getShape(),
                                     newType.getElementType());
    }
    Operation *copy;
    if (conv) {
      auto blocked =
          Conv2DOp::create(rewriter, loc, TypeRange{newType}, conv.getInput(),
                           conv.getFilter(), conv.getBias(), init);
      blocked->setAttrs(conv->getAttrs());
      blocked.setOutputBlock(block);
      copy = blocked;
    } else {
      auto pool = cast<MaxPool2DOp>(op);
      auto blocked = MaxPool2DOp::create(
          rewriter, loc, TypeRange{newType}, rewritten.lookup(pool.getInput()),
          init, pool.getLayout(), pool.getWindow(), pool.getStrides(),
          pool.getDilations(), pool.getPadding());
      blocked->setAttrs(pool->getAttrs());
      blocked.setBlock(block);
      copy = blocked;
    }
    Value result = resultOf(copy);
    rewritten[resultOf(op)] = result;
    auto readBlocked = [&](OpOperand &use, Value value) {
      auto consumer = cast<Conv2DOp>(use.getOwner());
      rewriter.modifyOpInPlace(consumer, [&] {
        use.set(value);
        consumer.setInputBlock(block);
      });
    };
    Value nchwCopy;
    for (OpOperand &use : llvm::make_early_inc_range(resultOf(op).getUses())) {
      // Rewired when that op is rewritten (its init or input above).
      Conv2DOp residualOf = asResidual(use, nhwc);
      MaxPool2DOp pooledBy = asPoolInput(use, nhwc);
      if ((residualOf && chosen.contains(residualOf)) ||
          (pooledBy && chosen.contains(pooledBy)))
        continue;
      auto slice = dyn_cast<tensor::ExtractSliceOp>(use.getOwner());
      if (slice && isBlockSlice(slice, block, nhwc)) {
        ArrayRef<int64_t> off = slice.getStaticOffsets(),
                          size = slice.getStaticSizes(),
                          step = slice.getStaticStrides();
        rewriter.setInsertionPoint(slice);
        auto fold = [&](ArrayRef<int64_t> values) {
          return getAsIndexOpFoldResult(rewriter.getContext(), values);
        };
        Value view = tensor::ExtractSliceOp::create(
            rewriter, slice.getLoc(), result,
            fold({off[0], off[1] / block, off[2], off[3], 0}),
            fold({size[0], size[1] / block, size[2], size[3], block}),
            fold({step[0], 1, step[2], step[3], 1}));
        for (OpOperand &sliceUse : llvm::make_early_inc_range(slice->getUses()))
          readBlocked(sliceUse, view);
        rewriter.eraseOp(slice);
        continue;
      }
      if (!slice && readsPlain(use, nhwc)) {
        readBlocked(use, result);
        continue;
      }
      // Only an accumulating convolution's output gets here (see eligible).
      if (!nchwCopy) {
        rewriter.setInsertionPointAfter(copy);
        nchwCopy = copyToPlain(rewriter, loc, result, nhwc);
      }
      rewriter.modifyOpInPlace(use.getOwner(), [&] { use.set(nchwCopy); });
    }
    dead.push_back(op);
  }
  // Consumers first: an accumulating convolution holds its residual's old
  // value, a pooling its input's, until it is erased.
  for (Operation *op : llvm::reverse(dead))
    eraseWithInit(rewriter, op);
  return dead.size();
}

struct LatheCPUChainConvs
    : public lathe::impl::LatheCPUChainConvsBase<LatheCPUChainConvs> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<Conv2DOp> convs;
    getOperation().walk([&](Conv2DOp op) { convs.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (Conv2DOp conv : convs) {
      Value input = conv.getInput();
      foldPadding(rewriter, conv);
      if (conv.getInput() != input)
        ++numPaddingsFolded;
    }
    // Consumers first: a consumer that shrinks reads less of its producer.
    for (Conv2DOp &conv : llvm::reverse(convs)) {
      Conv2DOp shrunk = shrinkToDemand(rewriter, conv);
      if (shrunk != conv)
        ++numConvsShrunk;
      conv = shrunk;
    }
    if (!blockChannels)
      return;
    unsigned chained = chainBlocked(rewriter, getOperation(), channelsLast);
    (channelsLast ? numConvsChannelsLast : numConvsBlocked) += chained;
  }
};

} // namespace
