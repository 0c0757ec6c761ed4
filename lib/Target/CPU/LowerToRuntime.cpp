//===- LowerToRuntime.cpp - Kernel ops on memrefs to runtime calls --------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"
#include "lathe/Target/CPU/RuntimeCalls.h"
#include "lathe/runtime/Attention.h"
#include "lathe/runtime/Runtime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPULOWERTORUNTIME
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// Calls into the runtime from one module.
class RuntimeCallBuilder {
public:
  explicit RuntimeCallBuilder(ModuleOp module) : module(module) {}

  void call(RewriterBase &rewriter, Location loc, StringRef name,
            ArrayRef<Value> memrefs, ArrayRef<int64_t> scalars) {
    emitRuntimeCall(module, rewriter, loc, name, memrefs, scalars);
  }

private:
  ModuleOp module;
};

/// A view of `value` with its last two dimensions swapped (no copy).
static Value transposeLastTwo(RewriterBase &rewriter, Location loc,
                              Value value) {
  int64_t rank = cast<MemRefType>(value.getType()).getRank();
  SmallVector<unsigned> perm = llvm::to_vector(llvm::seq<unsigned>(0, rank));
  std::swap(perm[rank - 1], perm[rank - 2]);
  AffineMap map = AffineMap::getPermutationMap(perm, rewriter.getContext());
  return memref::TransposeOp::create(rewriter, loc, value,
                                     AffineMapAttr::get(map));
}

/// A view of `value` read through `perm` (linalg.transpose semantics: view
/// dimension i is dimension perm[i] of `value`), or `value` without one.
static Value permutedView(RewriterBase &rewriter, Location loc, Value value,
                          DenseI64ArrayAttr perm) {
  if (!perm)
    return value;
  SmallVector<unsigned> dims;
  for (int64_t p : perm.asArrayRef())
    dims.push_back(static_cast<unsigned>(p));
  AffineMap map = AffineMap::getPermutationMap(dims, rewriter.getContext());
  if (map.isIdentity())
    return value;
  return memref::TransposeOp::create(rewriter, loc, value,
                                     AffineMapAttr::get(map));
}

static int64_t activationCode(Activation activation) {
  switch (activation) {
  case Activation::none:
    return LATHE_ACT_NONE;
  case Activation::relu:
    return LATHE_ACT_RELU;
  case Activation::gelu:
    return LATHE_ACT_GELU_ERF;
  case Activation::gelu_tanh:
    return LATHE_ACT_GELU_TANH;
  case Activation::sigmoid:
    return LATHE_ACT_SIGMOID;
  case Activation::tanh:
    return LATHE_ACT_TANH;
  }
  llvm_unreachable("unknown activation");
}

static bool isF32Memref(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  return type && type.getElementType().isF32();
}

static bool isBf16Memref(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  return type && type.getElementType().isBF16();
}

/// "f32" or "bf16": the element type of a memref the runtime reads or writes.
static StringRef elementName(Value value) {
  return isBf16Memref(value) ? "bf16" : "f32";
}

/// The runtime function `f32Name` (every memref f32), or for bf16 `in` /
/// `out` memrefs its typed alias `<prefix>_<in>_<out><suffix>`
/// (lathe/runtime/Bf16.h): generated code declares each function with its
/// memrefs' element types.
static std::string kernelName(StringRef f32Name, StringRef prefix, Value in,
                              Value out, StringRef suffix = "") {
  if (!isBf16Memref(in) && !isBf16Memref(out))
    return f32Name.str();
  return (prefix + "_" + elementName(in) + "_" + elementName(out) + suffix)
      .str();
}

/// The kernel op's operands are f32 memrefs, or bf16 where the op allows
/// it (lathe-cpu-bf16-activations: a convolution's or pooling's input and
/// output, a matmul's lhs and init, a softmax's output; the op verifiers say
/// which).
static bool hasRuntimeElementTypes(Operation *op) {
  if (auto softmax = dyn_cast<linalg::SoftmaxOp>(op))
    return isF32Memref(softmax.getInput()) &&
           (isF32Memref(softmax.getOutput()) ||
            isBf16Memref(softmax.getOutput()));
  bool bf16Operands = isa<MatmulOp, Conv2DOp, MaxPool2DOp>(op);
  return llvm::all_of(op->getOperands(), [&](Value v) {
    return isF32Memref(v) || (bf16Operands && isBf16Memref(v));
  });
}

/// The op right before `op` fills `buffer` with zeros (so a kernel that
/// overwrites its output may replace the accumulation). Returns that fill.
static linalg::FillOp precedingZeroFill(Operation *op, Value buffer) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  if (!fill || fill.getOutputs()[0] != buffer ||
      !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return nullptr;
  return fill;
}

/// The int8 choice lathe-cpu-quantize-int8 recorded on a kernel op:
/// `lathe.int8_input_range = array<f32: lo, hi>` and `lathe.int8_site`.
struct Int8Choice {
  float lo, hi;
  int64_t site;
};
static std::optional<Int8Choice> int8Choice(Operation *op) {
  auto range = op->getAttrOfType<DenseF32ArrayAttr>("lathe.int8_input_range");
  if (!range || range.size() != 2)
    return std::nullopt;
  auto site = op->getAttrOfType<IntegerAttr>("lathe.int8_site");
  return Int8Choice{range[0], range[1], site ? site.getInt() : -1};
}

/// `fromKernel`: LATHE_MM_A_FROM_KERNEL when the lhs was last written by a
/// kernel that records bounds (found before any kernel was lowered).
static void lowerMatmul(MatmulOp op, int64_t fromKernel,
                        RuntimeCallBuilder &calls, IRRewriter &rewriter) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Value lhs = permutedView(rewriter, loc, op.getLhs(), op.getLhsPermAttr());
  Value rhs = permutedView(rewriter, loc, op.getRhs(), op.getRhsPermAttr());
  Value init = permutedView(rewriter, loc, op.getInit(), op.getInitPermAttr());
  if (op.getTransposeLhs())
    lhs = transposeLastTwo(rewriter, loc, lhs);
  if (op.getTransposeRhs())
    rhs = transposeLastTwo(rewriter, loc, rhs);
  int64_t flags =
      activationCode(op.getActivation()) << LATHE_MM_ACT_SHIFT | fromKernel;
  if (op.getBias())
    flags |= LATHE_MM_HAS_BIAS;
  if (op.getResidual())
    flags |= LATHE_MM_HAS_RESIDUAL;
  if (isConstantBuffer(op.getRhs()))
    flags |= LATHE_MM_CONST_B;
  if (isBf16Memref(op.getLhs()))
    flags |= LATHE_MM_A_BF16;
  if (isBf16Memref(op.getInit()))
    flags |= LATHE_MM_C_BF16;
  // An absent bias or residual is any memref of its element type (f32):
  // the typed entry points declare it so.
  Value absent = isBf16Memref(init) ? op.getRhs() : init;
  Value bias = op.getBias() ? op.getBias() : absent;
  Value residual =
      op.getResidual()
          ? permutedView(rewriter, loc, op.getResidual(), op.getInitPermAttr())
          : absent;
  float alpha = op.getAlpha().convertToFloat();
  if (std::optional<Int8Choice> int8 = int8Choice(op)) {
    Value lo = arith::ConstantOp::create(rewriter, loc,
                                         rewriter.getF32FloatAttr(int8->lo));
    Value hi = arith::ConstantOp::create(rewriter, loc,
                                         rewriter.getF32FloatAttr(int8->hi));
    calls.call(rewriter, loc, "lathe_rt_matmul_int8_f32",
               {lhs, rhs, bias, residual, init, lo, hi}, {flags, int8->site});
  } else if (alpha != 1.0f) {
    Value alphaValue = arith::ConstantOp::create(
        rewriter, loc, rewriter.getF32FloatAttr(alpha));
    calls.call(rewriter, loc, "lathe_rt_matmul_scaled_f32",
               {lhs, rhs, bias, residual, init, alphaValue}, {flags});
  } else {
    calls.call(rewriter, loc,
               kernelName("lathe_rt_matmul_f32", "lathe_rt_matmul", op.getLhs(),
                          op.getInit()),
               {lhs, rhs, bias, residual, init}, {flags});
  }
  rewriter.eraseOp(op);
}

static void lowerLayerNorm(LayerNormOp op, RuntimeCallBuilder &calls,
                           IRRewriter &rewriter) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  int64_t flags = (op.getGamma() ? LATHE_LN_HAS_GAMMA : 0) |
                  (op.getBeta() ? LATHE_LN_HAS_BETA : 0);
  Value init = op.getInit();
  Value gamma = op.getGamma() ? op.getGamma() : init;
  Value beta = op.getBeta() ? op.getBeta() : init;
  Value eps = arith::ConstantOp::create(rewriter, loc, op.getEpsilonAttr());
  calls.call(rewriter, loc, "lathe_rt_layer_norm_f32",
             {op.getInput(), gamma, beta, init, eps}, {flags});
  rewriter.eraseOp(op);
}

/// The masking that attention applies right before its softmax: an
/// element-wise linalg.generic, the op right before the softmax, that writes
/// the softmax's input, a buffer of its own (an allocation nothing else
/// reads), with `select(mask, fill, x)` or `select(mask, x, fill)`: `x` an
/// f32 input read element for element, `mask` an i1 input broadcast onto the
/// loop dimensions (each of its dimensions a loop dimension, or a unit
/// dimension read at 0), `fill` a float constant. Causal masks (a constant
/// `tril`), padding masks ([batch, keys]) and -inf or finite fills take this
/// form.
struct SoftmaxMask {
  linalg::GenericOp op;
  Value x, mask;
  FloatAttr fill;
  bool maskedWhen;  // The mask value that selects `fill`.
  int64_t maskDims; // 4 bits per mask dimension: loop dimension or 0xF.
};

static std::optional<SoftmaxMask> matchSoftmaxMask(linalg::SoftmaxOp softmax) {
  auto op = dyn_cast_or_null<linalg::GenericOp>(softmax->getPrevNode());
  if (!op || !op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() || op.getNumLoops() > 15)
    return std::nullopt;
  Value buffer = op.getDpsInits()[0];
  if (buffer != softmax.getInput() || !buffer.getDefiningOp<memref::AllocOp>())
    return std::nullopt;
  for (Operation *user : buffer.getUsers())
    if (user != op && user != softmax && !isa<memref::DeallocOp>(user))
      return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!maps[2].isIdentity())
    return std::nullopt;
  Block &body = op.getRegion().front();
  auto select = dyn_cast<arith::SelectOp>(&body.front());
  if (!select || select->getNextNode() != body.getTerminator() ||
      body.getTerminator()->getOperand(0) != select.getResult())
    return std::nullopt;
  auto maskArg = dyn_cast<BlockArgument>(select.getCondition());
  if (!maskArg || maskArg.getOwner() != &body || maskArg.getArgNumber() >= 2)
    return std::nullopt;
  unsigned maskIndex = maskArg.getArgNumber(), xIndex = 1 - maskIndex;
  SoftmaxMask match;
  match.op = op;
  match.mask = op.getDpsInputs()[maskIndex];
  match.x = op.getDpsInputs()[xIndex];
  Value xArg = body.getArgument(xIndex);
  Value other;
  if (select.getTrueValue() == xArg) {
    match.maskedWhen = false;
    other = select.getFalseValue();
  } else if (select.getFalseValue() == xArg) {
    match.maskedWhen = true;
    other = select.getTrueValue();
  } else {
    return std::nullopt;
  }
  if (!matchPattern(other, m_Constant(&match.fill)) ||
      !maps[xIndex].isIdentity())
    return std::nullopt;
  auto maskType = dyn_cast<MemRefType>(match.mask.getType());
  if (!maskType || !maskType.getElementType().isInteger(1) ||
      !isF32Memref(match.x))
    return std::nullopt;
  match.maskDims = 0;
  for (auto [i, expr] : llvm::enumerate(maps[maskIndex].getResults())) {
    int64_t dim;
    if (auto d = dyn_cast<AffineDimExpr>(expr)) {
      dim = d.getPosition();
    } else if (auto c = dyn_cast<AffineConstantExpr>(expr);
               c && c.getValue() == 0 && maskType.getDimSize(i) == 1) {
      dim = 0xF;
    } else {
      return std::nullopt;
    }
    match.maskDims |= dim << (4 * i);
  }
  return match;
}

/// The buffer a chain of views (`ViewLikeOpInterface`) starts from.
static Value viewSource(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

/// Every op that reads or writes `buffer` or a view of it, other than
/// views and deallocs, is one of `allowed`.
static bool onlyUsedBy(Value buffer, ArrayRef<Operation *> allowed) {
  SmallVector<Value> work = {buffer};
  while (!work.empty()) {
    Value value = work.pop_back_val();
    for (Operation *user : value.getUsers()) {
      if (isa<memref::DeallocOp>(user))
        continue;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == value) {
        work.push_back(view->getResult(0));
        continue;
      }
      if (!llvm::is_contained(allowed, user))
        return false;
    }
  }
  return true;
}

/// The allocation `value` is, or reshapes (expand/collapse_shape only) of
/// an allocation with the identity layout: the same elements in row-major
/// order. Null otherwise.
static Value reshapedAlloc(Value value) {
  while (isa_and_nonnull<memref::ExpandShapeOp, memref::CollapseShapeOp>(
      value.getDefiningOp()))
    value = value.getDefiningOp()->getOperand(0);
  auto alloc = value.getDefiningOp<memref::AllocOp>();
  if (!alloc || !alloc.getType().getLayout().isIdentity())
    return {};
  return value;
}

/// A product of type `type` runs over the batch of the scores `scores`: the
/// same leading sizes, or (static shapes) one leading dimension that the
/// scores split (its operands are expanded at rewrite time).
static bool batchFits(MemRefType type, MemRefType scores) {
  int64_t rank = type.getRank(), scoreRank = scores.getRank();
  if (!type.hasStaticShape() || !scores.hasStaticShape())
    return rank == scoreRank;
  ArrayRef<int64_t> lead = scores.getShape().drop_back(2);
  if (rank == scoreRank)
    return type.getShape().drop_back(2) == lead;
  int64_t count = 1;
  for (int64_t size : lead)
    count *= size;
  return rank == 3 && scoreRank > 3 && type.getDimSize(0) == count;
}

/// A matmul whose epilogue is the plain product (alpha allowed).
static bool isPlainMatmul(MatmulOp op) {
  return !op.getBias() && !op.getResidual() &&
         op.getActivation() == Activation::none &&
         !op->hasAttr("lathe.int8_input_range") &&
         llvm::all_of(op->getOperands(), isF32Memref);
}

/// Masked attention on buffers: `qk` (a lathe.matmul, alpha the scale)
/// writes scores S, the softmax's select mask reads them, the softmax writes
/// P and `pv` (a lathe.matmul) reads P; S and P are buffers of their own.
struct MaskedAttention {
  MatmulOp qk, pv;
  SoftmaxMask mask;
};

/// Whether `op` between the QK product and the P·V product leaves the
/// buffers the fused kernel reads later (`roots`) alone.
static bool leavesAlone(Operation *op, ArrayRef<Value> roots) {
  if (isa<memref::AllocOp, memref::AllocaOp, ViewLikeOpInterface,
          arith::ConstantOp, memref::GetGlobalOp>(op))
    return true;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return false;
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  for (const MemoryEffects::EffectInstance &e : instances) {
    if (isa<MemoryEffects::Read, MemoryEffects::Allocate>(e.getEffect()))
      continue;
    Value value = e.getValue();
    if (!value || llvm::is_contained(roots, viewSource(value)))
      return false;
  }
  return true;
}

static std::optional<MaskedAttention>
matchMaskedAttention(linalg::SoftmaxOp softmax) {
  auto inType = dyn_cast<MemRefType>(softmax.getInput().getType());
  if (!inType || inType.getRank() < 2 ||
      static_cast<int64_t>(softmax.getDimension()) != inType.getRank() - 1)
    return std::nullopt;
  std::optional<SoftmaxMask> mask = matchSoftmaxMask(softmax);
  if (!mask)
    return std::nullopt;
  // S: written by one plain matmul right before the mask (views between).
  Value scores = mask->x;
  // The scores' allocation, possibly written and read through reshapes
  // that split or merge the batch dimensions.
  Value sRoot = reshapedAlloc(scores);
  if (!sRoot)
    return std::nullopt;
  MatmulOp qk;
  sRoot.getDefiningOp()->getParentRegion()->walk([&](MatmulOp m) {
    if (reshapedAlloc(m.getInit()) == sRoot)
      qk = m;
  });
  if (!qk || !isPlainMatmul(qk) || qk->getBlock() != softmax->getBlock() ||
      !qk->isBeforeInBlock(mask->op) || qk.getInitPerm())
    return std::nullopt;
  // P: an allocation the softmax writes and one plain matmul reads as lhs
  // (through batch reshapes); it may be the scores' own buffer
  // (bufferization reuses it in place).
  Value probs = softmax.getOutput();
  if (reshapedAlloc(probs) != probs)
    return std::nullopt;
  MatmulOp pv;
  softmax->getBlock()->walk([&](MatmulOp m) {
    if (reshapedAlloc(m.getLhs()) == probs)
      pv = m;
  });
  if (!pv || !isPlainMatmul(pv) || pv.getAlpha().convertToFloat() != 1.0f ||
      pv.getLhsPerm() || pv.getTransposeLhs() ||
      pv->getBlock() != softmax->getBlock() || !softmax->isBeforeInBlock(pv))
    return std::nullopt;
  bool shared = probs == sRoot;
  if (shared ? !onlyUsedBy(sRoot, {qk, mask->op, softmax, pv})
             : !onlyUsedBy(sRoot, {qk, mask->op}) ||
                   !onlyUsedBy(probs, {softmax, pv}))
    return std::nullopt;
  // One batch for all four operands (no shared rank-2 weight), that of the
  // scores or a rank-3 one they split.
  auto opType = cast<MemRefType>(qk.getInit().getType());
  auto pvType = cast<MemRefType>(pv.getLhs().getType());
  if (!batchFits(opType, inType) || !batchFits(pvType, inType) ||
      opType.getShape().take_back(2) != inType.getShape().take_back(2) ||
      pvType.getShape().take_back(2) != inType.getShape().take_back(2))
    return std::nullopt;
  for (auto [operand, rank] : {std::pair{qk.getLhs(), opType.getRank()},
                               std::pair{qk.getRhs(), opType.getRank()},
                               std::pair{pv.getRhs(), pvType.getRank()},
                               std::pair{pv.getInit(), pvType.getRank()}})
    if (cast<MemRefType>(operand.getType()).getRank() != rank)
      return std::nullopt;
  // The kernel reads q, k and the mask where pv was: nothing in between may
  // write or free them.
  SmallVector<Value> roots = {viewSource(qk.getLhs()), viewSource(qk.getRhs()),
                              viewSource(mask->mask)};
  for (Operation *op = qk->getNextNode(); op != pv; op = op->getNextNode())
    if (op != mask->op && op != softmax && !leavesAlone(op, roots))
      return std::nullopt;
  return MaskedAttention{qk, pv, *mask};
}

/// Masked attention -> one lathe_rt_masked_attention_f32 where the P·V
/// product was; the matmuls, the mask and the softmax go (their buffers are
/// then dead).
static void lowerMaskedAttention(linalg::SoftmaxOp softmax,
                                 const MaskedAttention &attn,
                                 RuntimeCallBuilder &calls,
                                 IRRewriter &rewriter) {
  MatmulOp qk = attn.qk, pv = attn.pv;
  Location loc = pv.getLoc();
  rewriter.setInsertionPoint(pv);
  // Operands of a rank-3 product whose batch the scores split are expanded
  // to the scores' rank (splitting a dimension is a view of any layout).
  auto scoreType = cast<MemRefType>(softmax.getInput().getType());
  auto toScoreRank = [&](Value view) -> Value {
    auto type = cast<MemRefType>(view.getType());
    if (type.getRank() == scoreType.getRank())
      return view;
    SmallVector<int64_t> shape(scoreType.getShape().drop_back(2));
    llvm::append_range(shape, type.getShape().take_back(2));
    SmallVector<ReassociationIndices> groups(3);
    for (int64_t d = 0; d < scoreType.getRank() - 2; ++d)
      groups[0].push_back(d);
    groups[1] = {scoreType.getRank() - 2};
    groups[2] = {scoreType.getRank() - 1};
    return memref::ExpandShapeOp::create(rewriter, loc, shape, view, groups);
  };
  Value q = permutedView(rewriter, loc, qk.getLhs(), qk.getLhsPermAttr());
  if (qk.getTransposeLhs())
    q = transposeLastTwo(rewriter, loc, q);
  Value kt = permutedView(rewriter, loc, qk.getRhs(), qk.getRhsPermAttr());
  if (qk.getTransposeRhs())
    kt = transposeLastTwo(rewriter, loc, kt);
  Value v = permutedView(rewriter, loc, pv.getRhs(), pv.getRhsPermAttr());
  if (pv.getTransposeRhs())
    v = transposeLastTwo(rewriter, loc, v);
  Value o = permutedView(rewriter, loc, pv.getInit(), pv.getInitPermAttr());
  q = toScoreRank(q);
  kt = toScoreRank(kt);
  v = toScoreRank(v);
  o = toScoreRank(o);
  Value scale = arith::ConstantOp::create(rewriter, loc, qk.getAlphaAttr());
  Value fill = arith::ConstantOp::create(
      rewriter, loc,
      rewriter.getF32FloatAttr(attn.mask.fill.getValueAsDouble()));
  int64_t flags = LATHE_ATTN_HAS_MASK |
                  (attn.mask.maskedWhen ? LATHE_ATTN_MASKED_WHEN_TRUE : 0);
  calls.call(rewriter, loc, "lathe_rt_masked_attention_f32",
             {q, kt, v, attn.mask.mask, o, scale, fill},
             {attn.mask.maskDims, flags});
  rewriter.eraseOp(pv);
  rewriter.eraseOp(softmax);
  rewriter.eraseOp(attn.mask.op);
  rewriter.eraseOp(qk);
}

static void lowerSoftmax(linalg::SoftmaxOp op, RuntimeCallBuilder &calls,
                         IRRewriter &rewriter) {
  rewriter.setInsertionPoint(op);
  int64_t axis = static_cast<int64_t>(op.getDimension());
  std::optional<SoftmaxMask> mask;
  if (isF32Memref(op.getOutput()))
    mask = matchSoftmaxMask(op);
  if (mask) {
    Value fill = arith::ConstantOp::create(
        rewriter, op.getLoc(),
        rewriter.getF32FloatAttr(mask->fill.getValueAsDouble()));
    calls.call(rewriter, op.getLoc(), "lathe_rt_masked_softmax_f32",
               {mask->x, mask->mask, op.getOutput(), fill},
               {axis, mask->maskDims, mask->maskedWhen});
    rewriter.eraseOp(op);
    rewriter.eraseOp(mask->op);
    return;
  }
  calls.call(rewriter, op.getLoc(),
             kernelName("lathe_rt_softmax_f32", "lathe_rt_softmax",
                        op.getInput(), op.getOutput()),
             {op.getInput(), op.getOutput()}, {axis});
  rewriter.eraseOp(op);
}

/// A convolution overwrites its output in the runtime; linalg's accumulates.
/// When the op right before zero-filled the output, that fill goes; otherwise
/// the convolution goes to a temporary and is added to the output (a cheap
/// element-wise loop), so shared fills or real accumulators never keep a
/// convolution out of oneDNN.
template <typename ConvOp>
static void lowerConv(ConvOp op, int64_t layout, RuntimeCallBuilder &calls,
                      IRRewriter &rewriter) {
  Location loc = op.getLoc();
  Value out = op.getDpsInits()[0];
  auto strides = llvm::to_vector(op.getStrides().template getValues<int64_t>());
  auto dilations =
      llvm::to_vector(op.getDilations().template getValues<int64_t>());
  rewriter.setInsertionPoint(op);
  linalg::FillOp fill = precedingZeroFill(op, out);
  Value target = out;
  if (!fill) {
    auto type = cast<MemRefType>(out.getType());
    SmallVector<Value> dynamicSizes;
    for (int64_t i = 0; i < type.getRank(); ++i)
      if (type.isDynamicDim(i))
        dynamicSizes.push_back(memref::DimOp::create(rewriter, loc, out, i));
    target = memref::AllocOp::create(
        rewriter, loc, MemRefType::get(type.getShape(), type.getElementType()),
        dynamicSizes);
  }
  calls.call(rewriter, loc, "lathe_rt_conv2d_f32",
             {op.getDpsInputs()[0], op.getDpsInputs()[1], target, target},
             {layout, strides[0], strides[1], /*padTop=*/0, /*padLeft=*/0,
              dilations[0], dilations[1], /*flags=*/0});
  if (!fill) {
    linalg::AddOp::create(rewriter, loc, ValueRange{out, target},
                          ValueRange{out});
    memref::DeallocOp::create(rewriter, loc, target);
  }
  rewriter.eraseOp(op);
  if (fill)
    rewriter.eraseOp(fill);
}

/// True if `buffer` was last written, before `op` and in its block, by a
/// lathe.conv2d without pooling, a lathe.max_pool2d or a lathe.matmul whose
/// output is `buffer` itself, with only allocations, constants, views and
/// such kernels writing other allocations in between (so nothing else can
/// have written it): the runtime may then reuse the bound that kernel
/// recorded for its output (LATHE_CONV_INPUT_FROM_CONV,
/// LATHE_MM_A_FROM_KERNEL). Each of these kernels records a bound for what it
/// writes or forgets it.
static bool lastWrittenByBoundKernel(Operation *op, Value buffer) {
  Value root = viewSource(buffer);
  if (!root.getDefiningOp<memref::AllocOp>())
    return false;
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    // A max pooling passes its input's bound on to its output too.
    Value written;
    bool records = false;
    if (auto conv = dyn_cast<Conv2DOp>(prev)) {
      written = conv.getInit();
      records = !conv.hasPool();
    } else if (auto pool = dyn_cast<MaxPool2DOp>(prev)) {
      written = pool.getInit();
      records = true;
    } else if (auto matmul = dyn_cast<MatmulOp>(prev)) {
      written = matmul.getInit();
      records = true;
    }
    if (written) {
      if (written == buffer)
        return records;
      Value other = viewSource(written);
      if (other == root || !other.getDefiningOp<memref::AllocOp>())
        return false;
      continue;
    }
    if (!isa<memref::AllocOp, memref::GetGlobalOp, arith::ConstantOp,
             memref::CastOp, ViewLikeOpInterface>(prev))
      return false;
  }
  return false;
}

/// lathe.conv2d -> lathe_rt_conv2d_f32 (bias and activation as post-ops), or
/// lathe_rt_conv2d_pool_f32 when it carries a max pooling. `fromConv`: the
/// LATHE_CONV_*_FROM_CONV bits, found before any convolution was lowered.
static void lowerConv2D(Conv2DOp op, int64_t fromConv,
                        RuntimeCallBuilder &calls, IRRewriter &rewriter) {
  rewriter.setInsertionPoint(op);
  Value init = op.getInit();
  int64_t flags = activationCode(op.getActivation()) << LATHE_MM_ACT_SHIFT;
  if (op.getBias())
    flags |= LATHE_MM_HAS_BIAS;
  if (op.getAccumulate())
    flags |= LATHE_MM_HAS_RESIDUAL;
  if (isConstantBuffer(op.getFilter()))
    flags |= LATHE_MM_CONST_B;
  // An absent bias is any f32 memref (the typed entry points declare it so).
  Value bias = op.getBias()         ? op.getBias()
               : isBf16Memref(init) ? op.getFilter()
                                    : init;
  ArrayRef<int64_t> strides = op.getStrides(), dilations = op.getDilations();
  int64_t layout = (op.isNhwc() ? LATHE_CONV_NHWC : LATHE_CONV_NCHW) | fromConv;
  if (op.getInputBlock())
    layout |= LATHE_CONV_BLOCKED_INPUT;
  if (op.getOutputBlock())
    layout |= LATHE_CONV_BLOCKED_OUTPUT;
  if (isBf16Memref(op.getInput()))
    layout |= LATHE_CONV_BF16_INPUT;
  if (isBf16Memref(init))
    layout |= LATHE_CONV_BF16_OUTPUT;
  ArrayRef<int64_t> padding = op.getPadding();
  SmallVector<int64_t> scalars = {layout,
                                  strides[0],
                                  strides[1],
                                  /*padTop=*/padding[0],
                                  /*padLeft=*/padding[1],
                                  dilations[0],
                                  dilations[1],
                                  flags};
  if (op.hasPool()) {
    ArrayRef<int64_t> window = op.getPoolWindow(),
                      poolStrides = op.getPoolStrides(),
                      poolDilations = op.getPoolDilations();
    scalars.append({LATHE_POOL_MAX, window[0], window[1], poolStrides[0],
                    poolStrides[1], poolDilations[0], poolDilations[1]});
  }
  if (std::optional<Int8Choice> int8 = int8Choice(op)) {
    Location loc = op.getLoc();
    Value lo = arith::ConstantOp::create(rewriter, loc,
                                         rewriter.getF32FloatAttr(int8->lo));
    Value hi = arith::ConstantOp::create(rewriter, loc,
                                         rewriter.getF32FloatAttr(int8->hi));
    scalars.push_back(int8->site);
    calls.call(rewriter, loc,
               op.hasPool() ? "lathe_rt_conv2d_pool_int8_f32"
                            : "lathe_rt_conv2d_int8_f32",
               {op.getInput(), op.getFilter(), bias, init, lo, hi}, scalars);
    rewriter.eraseOp(op);
    return;
  }
  std::string name =
      op.hasPool() ? kernelName("lathe_rt_conv2d_pool_f32", "lathe_rt_conv2d",
                                op.getInput(), init, "_pool")
                   : kernelName("lathe_rt_conv2d_f32", "lathe_rt_conv2d",
                                op.getInput(), init);
  calls.call(rewriter, op.getLoc(), name,
             {op.getInput(), op.getFilter(), bias, init}, scalars);
  rewriter.eraseOp(op);
}

/// linalg.pooling_{nchw,nhwc}_max -> lathe_rt_pool2d_f32. A -inf fill of the
/// output right before it goes (the runtime overwrites); otherwise the
/// runtime keeps the larger of the output and the pooled value.
template <typename PoolOp>
static void lowerPool(PoolOp op, int64_t layout, RuntimeCallBuilder &calls,
                      IRRewriter &rewriter) {
  Value out = op.getDpsInits()[0];
  auto window = cast<MemRefType>(op.getDpsInputs()[1].getType()).getShape();
  auto strides = llvm::to_vector(op.getStrides().template getValues<int64_t>());
  auto dilations =
      llvm::to_vector(op.getDilations().template getValues<int64_t>());
  rewriter.setInsertionPoint(op);
  auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  FloatAttr value;
  bool negInfFill = fill && fill.getOutputs()[0] == out &&
                    matchPattern(fill.getInputs()[0], m_Constant(&value)) &&
                    value.getValue().isInfinity() &&
                    value.getValue().isNegative();
  calls.call(
      rewriter, op.getLoc(), "lathe_rt_pool2d_f32", {op.getDpsInputs()[0], out},
      {layout, LATHE_POOL_MAX, window[0], window[1], strides[0], strides[1],
       dilations[0], dilations[1], negInfFill ? 0 : LATHE_POOL_ACCUMULATE});
  rewriter.eraseOp(op);
  if (negInfFill)
    rewriter.eraseOp(fill);
}

/// lathe.max_pool2d -> lathe_rt_pool2d_padded_f32 (the bottom and right
/// padding follow from the sizes).
static void lowerMaxPool2D(MaxPool2DOp op, int64_t fromConv,
                           RuntimeCallBuilder &calls, IRRewriter &rewriter) {
  rewriter.setInsertionPoint(op);
  ArrayRef<int64_t> window = op.getWindow(), strides = op.getStrides(),
                    dilations = op.getDilations(), padding = op.getPadding();
  calls.call(rewriter, op.getLoc(),
             isBf16Memref(op.getInit()) ? "lathe_rt_pool2d_padded_bf16"
                                        : "lathe_rt_pool2d_padded_f32",
             {op.getInput(), op.getInit()},
             {(op.isNhwc()     ? int64_t(1)
               : op.getBlock() ? int64_t(LATHE_CONV_BLOCKED_INPUT |
                                         LATHE_CONV_BLOCKED_OUTPUT)
                               : int64_t(0)) |
                  fromConv,
              LATHE_POOL_MAX, window[0], window[1], strides[0], strides[1],
              dilations[0], dilations[1],
              /*padTop=*/padding[0], /*padLeft=*/padding[1],
              isBf16Memref(op.getInit()) ? int64_t(LATHE_POOL_BF16) : 0});
  rewriter.eraseOp(op);
}

/// A product that lathe-cpu-bf16-activations marked `lathe.bf16_lhs` reads
/// unmasked attention's probabilities. When they are an allocation of their
/// own that, through reshapes, one softmax writes and only this product
/// reads, the allocation and its reshapes become bf16: the softmax rounds
/// once as it writes, and the product reads its bf16 lhs with no conversion.
static void keepProbabilitiesBf16(MatmulOp product) {
  if (!product->hasAttr("lathe.bf16_lhs") || !isF32Memref(product.getLhs()))
    return;
  Value probs = reshapedAlloc(product.getLhs());
  if (!probs)
    return;
  linalg::SoftmaxOp softmax;
  for (Operation *op = product->getPrevNode(); op && !softmax;
       op = op->getPrevNode())
    if (auto candidate = dyn_cast<linalg::SoftmaxOp>(op);
        candidate && reshapedAlloc(candidate.getOutput()) == probs)
      softmax = candidate;
  if (!softmax || viewSource(softmax.getInput()) == probs ||
      !onlyUsedBy(probs, {softmax, product}) ||
      llvm::any_of(product->getOperands(), [&](Value v) {
        return v != product.getLhs() && viewSource(v) == probs;
      }))
    return;
  // The views between are reshapes only (they take the new element type).
  SmallVector<Value> values = {probs};
  for (size_t i = 0; i < values.size(); ++i)
    for (Operation *user : values[i].getUsers()) {
      if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(user))
        values.push_back(user->getResult(0));
      else if (isa<ViewLikeOpInterface>(user))
        return;
    }
  Type bf16 = BFloat16Type::get(product.getContext());
  for (Value value : values)
    value.setType(cast<MemRefType>(value.getType()).clone(bf16));
}

struct LatheCPULowerToRuntime
    : public lathe::impl::LatheCPULowerToRuntimeBase<LatheCPULowerToRuntime> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    RuntimeCallBuilder calls(module);
    IRRewriter rewriter(&getContext());
    // Masked attention first: it takes two matmuls and a softmax.
    SmallVector<std::pair<linalg::SoftmaxOp, MaskedAttention>> attention;
    module.walk([&](linalg::SoftmaxOp softmax) {
      if (std::optional<MaskedAttention> attn = matchMaskedAttention(softmax))
        attention.push_back({softmax, *attn});
    });
    for (auto &[softmax, attn] : attention)
      lowerMaskedAttention(softmax, attn, calls, rewriter);
    numCalls += attention.size();
    module.walk(keepProbabilitiesBf16);
    SmallVector<Operation *> candidates;
    module.walk([&](Operation *op) {
      bool staticWindow =
          !isa<linalg::PoolingNchwMaxOp, linalg::PoolingNhwcMaxOp>(op) ||
          cast<MemRefType>(op->getOperand(1).getType()).hasStaticShape();
      if (isa<MatmulOp, LayerNormOp, Conv2DOp, MaxPool2DOp, linalg::SoftmaxOp,
              linalg::Conv2DNchwFchwOp, linalg::Conv2DNhwcHwcfOp,
              linalg::PoolingNchwMaxOp, linalg::PoolingNhwcMaxOp>(op) &&
          staticWindow && hasRuntimeElementTypes(op))
        candidates.push_back(op);
    });
    numCalls += candidates.size();
    DenseMap<Operation *, int64_t> fromKernel;
    for (Operation *op : candidates) {
      if (auto matmul = dyn_cast<MatmulOp>(op))
        fromKernel[op] = lastWrittenByBoundKernel(matmul, matmul.getLhs())
                             ? LATHE_MM_A_FROM_KERNEL
                             : 0;
      if (auto pool = dyn_cast<MaxPool2DOp>(op))
        fromKernel[op] = lastWrittenByBoundKernel(pool, pool.getInput())
                             ? LATHE_CONV_INPUT_FROM_CONV
                             : 0;
      if (auto conv = dyn_cast<Conv2DOp>(op)) {
        int64_t bits = 0;
        if (lastWrittenByBoundKernel(conv, conv.getInput()))
          bits |= LATHE_CONV_INPUT_FROM_CONV;
        if (conv.getAccumulate() &&
            lastWrittenByBoundKernel(conv, conv.getInit()))
          bits |= LATHE_CONV_RESIDUAL_FROM_CONV;
        fromKernel[op] = bits;
      }
    }
    for (Operation *op : candidates) {
      if (auto matmul = dyn_cast<MatmulOp>(op))
        lowerMatmul(matmul, fromKernel.lookup(op), calls, rewriter);
      else if (auto norm = dyn_cast<LayerNormOp>(op))
        lowerLayerNorm(norm, calls, rewriter);
      else if (auto softmax = dyn_cast<linalg::SoftmaxOp>(op))
        lowerSoftmax(softmax, calls, rewriter);
      else if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op))
        lowerConv(conv, /*layout=*/0, calls, rewriter);
      else if (auto conv = dyn_cast<linalg::Conv2DNhwcHwcfOp>(op))
        lowerConv(conv, /*layout=*/1, calls, rewriter);
      else if (auto conv = dyn_cast<Conv2DOp>(op))
        lowerConv2D(conv, fromKernel.lookup(op), calls, rewriter);
      else if (auto pool = dyn_cast<MaxPool2DOp>(op))
        lowerMaxPool2D(pool, fromKernel.lookup(op), calls, rewriter);
      else if (auto pool = dyn_cast<linalg::PoolingNchwMaxOp>(op))
        lowerPool(pool, /*layout=*/0, calls, rewriter);
      else if (auto pool = dyn_cast<linalg::PoolingNhwcMaxOp>(op))
        lowerPool(pool, /*layout=*/1, calls, rewriter);
    }
  }
};

} // namespace
