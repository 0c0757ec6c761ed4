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
// 2. Layout: a convolution whose every use is the input of another nchw
//    convolution writes oneDNN's channel-blocked layout (nChw16c, a rank-5
//    [N, C/16, H, W, 16] tensor in the IR) and its consumers read it so. The
//    runtime then runs no layout conversion between the two convolutions.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPUCHAINCONVS
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// Spatial dimensions (H, W) of a conv data operand: 2, 3 for nchw (plain or
/// blocked), 1, 2 for nhwc.
std::array<unsigned, 2> spatialDims(Conv2DOp op) {
  if (op.isNhwc())
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
  std::array<unsigned, 2> dims = spatialDims(conv);
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

/// Erases `conv` and its init when that was a tensor.empty used by nothing
/// else.
void eraseWithInit(IRRewriter &rewriter, Conv2DOp conv) {
  auto empty = conv.getInit().getDefiningOp<tensor::EmptyOp>();
  rewriter.eraseOp(conv);
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
  std::array<unsigned, 2> dims = spatialDims(conv);
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

/// Rewrite 2: keeps the output channel-blocked when every use is the input of
/// an nchw convolution (directly or through a slice of whole blocks). Returns
/// whether it did.
bool blockOutput(IRRewriter &rewriter, Conv2DOp conv) {
  constexpr int64_t block = Conv2DOp::kChannelBlock;
  if (conv.hasPureBufferSemantics() || conv->use_empty() || conv.isNhwc() ||
      conv.getOutputBlock() != 0 || conv.getAccumulate())
    return false;
  auto type = cast<RankedTensorType>(conv.getResult().front().getType());
  if (!type.hasStaticShape() || type.getDimSize(1) == 0 ||
      type.getDimSize(1) % block != 0)
    return false;
  auto readsPlainNchw = [](OpOperand &use) {
    Conv2DOp consumer = asConvInput(use);
    return consumer && !consumer.isNhwc() && consumer.getInputBlock() == 0;
  };
  for (OpOperand &use : conv.getResult().front().getUses()) {
    if (readsPlainNchw(use))
      continue;
    auto slice = dyn_cast<tensor::ExtractSliceOp>(use.getOwner());
    if (!slice || slice.getType().getRank() != 4 ||
        ShapedType::isDynamicShape(slice.getStaticOffsets()) ||
        ShapedType::isDynamicShape(slice.getStaticSizes()) ||
        ShapedType::isDynamicShape(slice.getStaticStrides()) ||
        slice.getStaticOffsets()[1] % block != 0 ||
        slice.getStaticSizes()[1] % block != 0 ||
        slice.getStaticSizes()[1] == 0 || slice.getStaticStrides()[1] != 1 ||
        slice->use_empty() || !llvm::all_of(slice->getUses(), readsPlainNchw))
      return false;
  }

  SmallVector<int64_t> shape = {type.getDimSize(0), type.getDimSize(1) / block,
                                type.getDimSize(2), type.getDimSize(3), block};
  Conv2DOp blocked = cloneWithInit(
      rewriter, conv, RankedTensorType::get(shape, type.getElementType()));
  blocked.setOutputBlock(block);
  Value result = blocked.getResult().front();
  auto readBlocked = [&](OpOperand &use, Value value) {
    auto consumer = cast<Conv2DOp>(use.getOwner());
    rewriter.modifyOpInPlace(consumer, [&] {
      use.set(value);
      consumer.setInputBlock(block);
    });
  };
  for (OpOperand &use :
       llvm::make_early_inc_range(conv.getResult().front().getUses())) {
    auto slice = dyn_cast<tensor::ExtractSliceOp>(use.getOwner());
    if (!slice) {
      readBlocked(use, result);
      continue;
    }
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
  }
  eraseWithInit(rewriter, conv);
  return true;
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
    // Producers first: a blocked producer's consumers still read their
    // blocked input when their own output becomes blocked (attributes are
    // copied).
    for (Conv2DOp conv : convs)
      if (blockChannels && blockOutput(rewriter, conv))
        ++numConvsBlocked;
  }
};

} // namespace
