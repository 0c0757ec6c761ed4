//===- FormKernels.cpp - Raise matmuls and epilogues to lathe.matmul ------===//
//
// Tensor-level kernel formation for the CPU backend: what an op computes, not
// how it is spelled, decides whether it reaches the oneDNN matmul.
//
//===----------------------------------------------------------------------===//

#include "MatchActivation.h"

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"
#include "lathe/runtime/PoolWindow.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPUFORMKERNELS
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// Loop-dimension positions of a projected-permutation map's results, or
/// nothing if a result is not a plain dimension.
static std::optional<SmallVector<unsigned>> dimPositions(AffineMap map) {
  SmallVector<unsigned> dims;
  for (AffineExpr expr : map.getResults()) {
    auto dim = dyn_cast<AffineDimExpr>(expr);
    if (!dim)
      return std::nullopt;
    dims.push_back(dim.getPosition());
  }
  return dims;
}

/// How the operands of a (batch) matmul are laid out relative to
/// C[b, m, n] += A[b, m, k] * B[b, k, n].
struct MatmulLayout {
  bool transposeLhs = false;
  bool transposeRhs = false;
};

/// Classifies the indexing maps of linalg.matmul (dims m, n, k) or
/// linalg.batch_matmul (dims b, m, n, k). Fails for broadcasts of the lhs and
/// anything that is not a (transposed) matmul.
static FailureOr<MatmulLayout> classifyMatmulMaps(ArrayRef<AffineMap> maps,
                                                  bool batched) {
  if (maps.size() != 3)
    return failure();
  auto lhs = dimPositions(maps[0]);
  auto rhs = dimPositions(maps[1]);
  auto out = dimPositions(maps[2]);
  if (!lhs || !rhs || !out)
    return failure();
  unsigned b = 0, m = batched ? 1 : 0, n = m + 1, k = m + 2;
  SmallVector<unsigned> lead;
  if (batched)
    lead.push_back(b);
  auto with = [&](std::initializer_list<unsigned> tail) {
    SmallVector<unsigned> dims(lead);
    dims.append(tail);
    return dims;
  };
  if (*out != with({m, n}))
    return failure();
  MatmulLayout layout;
  if (*lhs == with({k, m}))
    layout.transposeLhs = true;
  else if (*lhs != with({m, k}))
    return failure();
  SmallVector<unsigned> rhsDims(*rhs);
  // A rank-2 rhs of a batch matmul is shared by every batch.
  if (batched && rhsDims.size() == 2)
    rhsDims.insert(rhsDims.begin(), b);
  if (rhsDims == with({n, k}))
    layout.transposeRhs = true;
  else if (rhsDims != with({k, n}))
    return failure();
  return layout;
}

static bool allF32(Operation *op) {
  return llvm::all_of(op->getOperandTypes(), [](Type t) {
    auto shaped = dyn_cast<RankedTensorType>(t);
    return shaped && shaped.getElementType().isF32();
  });
}

/// linalg.matmul / linalg.batch_matmul on f32 tensors -> lathe.matmul. The
/// accumulator becomes the residual unless it is a zero fill.
template <typename OpTy> struct RaiseMatmul : public OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || !allF32(op))
      return rewriter.notifyMatchFailure(op, "expects f32 tensors");
    FailureOr<MatmulLayout> layout = classifyMatmulMaps(
        op.getIndexingMapsArray(), std::is_same_v<OpTy, linalg::BatchMatmulOp>);
    if (failed(layout))
      return rewriter.notifyMatchFailure(op, "not a (transposed) matmul");

    Location loc = op.getLoc();
    Value outs = op.getDpsInits()[0];
    Value init, residual;
    auto fill = outs.template getDefiningOp<linalg::FillOp>();
    if (fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat())) {
      init = fill.getOutputs()[0];
    } else {
      residual = outs;
      init = tensor::EmptyOp::create(
          rewriter, loc, tensor::getMixedSizes(rewriter, loc, outs),
          cast<ShapedType>(outs.getType()).getElementType());
    }
    auto matmul = MatmulOp::create(
        rewriter, loc, TypeRange{outs.getType()}, op.getInputs()[0],
        op.getInputs()[1], /*bias=*/Value(), residual, init,
        layout->transposeLhs, layout->transposeRhs, Activation::none);
    rewriter.replaceOp(op, matmul.getResults());
    return success();
  }
};

/// A matmul-shaped linalg.generic (mul-add contraction over [b,] m, n, k with
/// (transposed) matmul maps) -> lathe.matmul, like the named op.
struct RaiseGenericMatmul : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    unsigned loops = op.getNumLoops();
    if (!op.hasPureTensorSemantics() || !allF32(op) ||
        op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
        (loops != 3 && loops != 4) || op.getNumReductionLoops() != 1 ||
        !linalg::isaContractionOpInterface(op))
      return rewriter.notifyMatchFailure(op, "not a matmul-shaped generic");
    // The reduction must be the innermost loop (d2 or d3), as in named ops.
    if (op.getIteratorTypesArray().back() != utils::IteratorType::reduction)
      return rewriter.notifyMatchFailure(op, "reduction is not innermost");
    FailureOr<MatmulLayout> layout =
        classifyMatmulMaps(op.getIndexingMapsArray(), loops == 4);
    if (failed(layout))
      return rewriter.notifyMatchFailure(op, "not a (transposed) matmul");
    Value outs = op.getDpsInits()[0];
    auto fill = outs.getDefiningOp<linalg::FillOp>();
    if (!fill || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
      return rewriter.notifyMatchFailure(op, "accumulates into non-zero");
    auto matmul = MatmulOp::create(
        rewriter, op.getLoc(), TypeRange{outs.getType()}, op.getDpsInputs()[0],
        op.getDpsInputs()[1], Value(), Value(), fill.getOutputs()[0],
        layout->transposeLhs, layout->transposeRhs, Activation::none);
    rewriter.replaceOp(op, matmul.getResults());
    return success();
  }
};

/// A linalg.transpose of the last two dimensions feeding lathe.matmul folds
/// into the operand's transpose flag (the runtime reads strided views).
struct FoldTransposeIntoMatmul : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  static bool swapsLastTwo(linalg::TransposeOp transpose) {
    ArrayRef<int64_t> perm = transpose.getPermutation();
    int64_t rank = perm.size();
    if (rank < 2)
      return false;
    for (int64_t i = 0; i < rank - 2; ++i)
      if (perm[i] != i)
        return false;
    return perm[rank - 2] == rank - 1 && perm[rank - 1] == rank - 2;
  }

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureBufferSemantics() || op.getLhsPerm() || op.getRhsPerm())
      return failure();
    auto lhsT = op.getLhs().getDefiningOp<linalg::TransposeOp>();
    auto rhsT = op.getRhs().getDefiningOp<linalg::TransposeOp>();
    bool foldLhs = lhsT && swapsLastTwo(lhsT);
    bool foldRhs = rhsT && swapsLastTwo(rhsT);
    if (!foldLhs && !foldRhs)
      return rewriter.notifyMatchFailure(op, "no foldable transpose");
    rewriter.modifyOpInPlace(op, [&] {
      if (foldLhs) {
        op.getLhsMutable().assign(lhsT.getInput());
        op.setTransposeLhs(!op.getTransposeLhs());
      }
      if (foldRhs) {
        op.getRhsMutable().assign(rhsT.getInput());
        op.setTransposeRhs(!op.getTransposeRhs());
      }
    });
    return success();
  }
};

/// `select(cmpf(x < 0), 0, x)` or `select(cmpf(x > 0), x, 0)` (or with
/// <=, >=) computes max(x, 0) for every non-NaN x. It is the fused ReLU
/// (arith.maximumf(x, 0): NaN stays NaN) only if a NaN x selects x: an
/// ordered `<`/`<=` (false for NaN) choosing 0, or an unordered `>`/`>=`
/// (true for NaN) choosing x. The other predicates map NaN to 0 and stay
/// unfused.
static bool isReluSelect(arith::CmpFOp cmp, arith::SelectOp select, Value x) {
  if (select.getCondition() != cmp.getResult() || !cmp->hasOneUse())
    return false;
  auto isZero = [](Value v) { return matchPattern(v, m_AnyZeroFloat()); };
  using P = arith::CmpFPredicate;
  P pred = cmp.getPredicate();
  // Normalise to "x PRED 0".
  if (cmp.getLhs() == x && isZero(cmp.getRhs())) {
  } else if (cmp.getRhs() == x && isZero(cmp.getLhs())) {
    switch (pred) {
    case P::OLT:
      pred = P::OGT;
      break;
    case P::OLE:
      pred = P::OGE;
      break;
    case P::OGT:
      pred = P::OLT;
      break;
    case P::OGE:
      pred = P::OLE;
      break;
    case P::ULT:
      pred = P::UGT;
      break;
    case P::ULE:
      pred = P::UGE;
      break;
    case P::UGT:
      pred = P::ULT;
      break;
    case P::UGE:
      pred = P::ULE;
      break;
    default:
      return false;
    }
  } else {
    return false;
  }
  Value onTrue = select.getTrueValue(), onFalse = select.getFalseValue();
  switch (pred) {
  case P::OLT:
  case P::OLE:
    return isZero(onTrue) && onFalse == x;
  case P::UGT:
  case P::UGE:
    return onTrue == x && isZero(onFalse);
  default:
    return false;
  }
}

/// Walks the body of an element-wise generic as a chain that starts at block
/// argument `start`: every op must consume the running value and be a ReLU
/// (max with 0, or compare+select), a GELU (erf or tanh form, a run of ops
/// that matchGeluRun recognises) or an add of another input of the generic
/// or, where `onAddConstant` is given, of a scalar f32 constant (a splat bias
/// that canonicalization folded into the body).
/// `onActivation(name)` / `onAdd(input index)` / `onAddConstant(value)` accept
/// or refuse each step (setting `why`); the body must yield the chain's end.
static LogicalResult walkEpilogueChain(
    linalg::GenericOp op, unsigned start,
    function_ref<LogicalResult(Activation)> onActivation,
    function_ref<LogicalResult(unsigned input)> onAdd, const char *&why,
    function_ref<LogicalResult(FloatAttr value)> onAddConstant = nullptr) {
  Block &body = op.getRegion().front();
  unsigned numInputs = op.getNumDpsInputs();
  Value current = body.getArgument(start);
  auto ops =
      llvm::to_vector(llvm::make_pointer_range(body.without_terminator()));
  for (size_t i = 0; i < ops.size(); ++i) {
    Operation &inner = *ops[i];
    // ReLU spelled as a compare and select (as ONNX importers write it).
    if (auto cmp = dyn_cast<arith::CmpFOp>(inner)) {
      auto select = i + 1 < ops.size() ? dyn_cast<arith::SelectOp>(ops[i + 1])
                                       : arith::SelectOp();
      if (!select || !isReluSelect(cmp, select, current)) {
        why = "unsupported compare";
        return failure();
      }
      if (failed(onActivation(Activation::relu)))
        return failure();
      current = select.getResult();
      ++i;
      continue;
    }
    if (std::optional<ActivationMatch> gelu =
            matchGeluRun(ArrayRef(ops).drop_front(i), current)) {
      if (failed(onActivation(*symbolizeActivation(gelu->name))))
        return failure();
      current = gelu->result;
      i += gelu->numOps - 1;
      continue;
    }
    if (inner.getNumOperands() != 2 || inner.getNumResults() != 1) {
      why = "unsupported epilogue op";
      return failure();
    }
    Value other = inner.getOperand(0) == current   ? inner.getOperand(1)
                  : inner.getOperand(1) == current ? inner.getOperand(0)
                                                   : Value();
    if (!other) {
      why = "epilogue is not a chain";
      return failure();
    }
    FloatAttr constant;
    if (isa<arith::AddFOp>(inner) && onAddConstant &&
        matchPattern(other, m_Constant(&constant)) &&
        constant.getType().isF32()) {
      if (failed(onAddConstant(constant)))
        return failure();
    } else if (isa<arith::AddFOp>(inner)) {
      auto arg = dyn_cast<BlockArgument>(other);
      if (!arg || arg.getOwner() != &body || arg.getArgNumber() >= numInputs ||
          arg.getArgNumber() == start) {
        why = "add of a non-input";
        return failure();
      }
      if (failed(onAdd(arg.getArgNumber())))
        return failure();
    } else if (isa<arith::MaximumFOp>(inner) &&
               matchPattern(other, m_AnyZeroFloat())) {
      // (Not arith.maxnumf: it maps NaN to 0, the fused ReLU keeps NaN.)
      if (failed(onActivation(Activation::relu)))
        return failure();
    } else {
      why = "unsupported epilogue op";
      return failure();
    }
    current = inner.getResult(0);
  }
  if (body.getTerminator()->getOperand(0) != current) {
    why = "does not yield the chain";
    return failure();
  }
  return success();
}

/// An element-wise linalg.generic whose only job on a single-use
/// lathe.matmul result is `+ bias[n]`, ReLU, GELU (erf or tanh form) or
/// `+ residual` is absorbed into the matmul's epilogue:
/// C = act(A·B + bias) + residual. An add of a scalar constant `c` before the
/// activation is a splat bias: it becomes a constant [N] bias of `c`s.
struct FuseEpilogueIntoMatmul : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
        op.getNumParallelLoops() != op.getNumLoops() || !allF32(op))
      return rewriter.notifyMatchFailure(op, "not an f32 element-wise op");
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    unsigned numInputs = op.getNumDpsInputs();
    if (!maps[numInputs].isIdentity())
      return rewriter.notifyMatchFailure(op, "output is not an identity map");

    // The operand produced by a matmul that has no other user.
    std::optional<unsigned> mmIndex;
    MatmulOp matmul;
    for (unsigned i = 0; i < numInputs; ++i) {
      auto candidate = op.getDpsInputs()[i].getDefiningOp<MatmulOp>();
      if (candidate && candidate->hasOneUse() && maps[i].isIdentity()) {
        mmIndex = i;
        matmul = candidate;
        break;
      }
    }
    if (!mmIndex)
      return rewriter.notifyMatchFailure(op, "no single-use matmul input");
    if (op.getResult(0).getType() != matmul.getResult().front().getType())
      return rewriter.notifyMatchFailure(op, "result type differs");

    Value bias = matmul.getBias(), residual = matmul.getResidual();
    Activation activation = matmul.getActivation();
    int64_t rank = cast<ShapedType>(op.getResult(0).getType()).getRank();
    const char *why = "";
    auto onActivation = [&](Activation name) -> LogicalResult {
      if (activation != Activation::none || residual) {
        why = "activation out of order";
        return failure();
      }
      activation = name;
      return success();
    };
    FloatAttr splatBias; // a scalar constant added as the bias
    auto onAdd = [&](unsigned input) -> LogicalResult {
      Value operand = op.getDpsInputs()[input];
      AffineMap map = maps[input];
      bool isBias =
          map.getNumResults() == 1 &&
          map.getResult(0) == getAffineDimExpr(rank - 1, op.getContext()) &&
          cast<ShapedType>(operand.getType()).getRank() == 1;
      if (isBias && !bias && !splatBias && !residual &&
          activation == Activation::none) {
        bias = operand;
      } else if (map.isIdentity() && !residual &&
                 operand.getType() == op.getResult(0).getType()) {
        residual = operand;
      } else {
        why = "add is neither bias nor residual";
        return failure();
      }
      return success();
    };
    int64_t n = cast<ShapedType>(op.getResult(0).getType()).getShape().back();
    auto onAddConstant = [&](FloatAttr value) -> LogicalResult {
      if (bias || splatBias || residual || activation != Activation::none ||
          ShapedType::isDynamic(n)) {
        why = "constant add is not a bias";
        return failure();
      }
      splatBias = value;
      return success();
    };
    if (failed(walkEpilogueChain(op, *mmIndex, onActivation, onAdd, why,
                                 onAddConstant)))
      return rewriter.notifyMatchFailure(op, why);
    if ((bias || splatBias) && matmul.getAlpha().convertToFloat() != 1.0f)
      return rewriter.notifyMatchFailure(op, "alpha with a bias");
    if (splatBias) {
      auto biasType = RankedTensorType::get({n}, splatBias.getType());
      bias = arith::ConstantOp::create(
          rewriter, op.getLoc(),
          DenseElementsAttr::get(biasType, {Attribute(splatBias)}));
    }

    auto fused = MatmulOp::create(
        rewriter, op.getLoc(), op->getResultTypes(), matmul.getLhs(),
        matmul.getRhs(), bias, residual, op.getDpsInits()[0],
        matmul.getTransposeLhs(), matmul.getTransposeRhs(), activation);
    fused.setLhsPermAttr(matmul.getLhsPermAttr());
    fused.setRhsPermAttr(matmul.getRhsPermAttr());
    fused.setInitPermAttr(matmul.getInitPermAttr());
    fused.setAlphaAttr(matmul.getAlphaAttr());
    rewriter.replaceOp(op, fused.getResults());
    rewriter.eraseOp(matmul);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Convolutions: conv + bias + activation (+ max pooling) -> lathe.conv2d
//===----------------------------------------------------------------------===//

/// linalg.conv_2d_nchw_fchw / conv_2d_nhwc_hwcf on f32 tensors accumulating
/// into a zero fill -> lathe.conv2d (which overwrites its init). Accumulating
/// convolutions stay linalg (lathe-cpu-lower-to-runtime still sends them to
/// oneDNN).
template <typename ConvOp> struct RaiseConv : public OpRewritePattern<ConvOp> {
  using OpRewritePattern<ConvOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || !allF32(op))
      return rewriter.notifyMatchFailure(op, "expects f32 tensors");
    Value outs = op.getDpsInits()[0];
    auto fill = outs.template getDefiningOp<linalg::FillOp>();
    if (!fill || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
      return rewriter.notifyMatchFailure(op, "accumulates into non-zero");
    auto strides =
        llvm::to_vector(op.getStrides().template getValues<int64_t>());
    auto dilations =
        llvm::to_vector(op.getDilations().template getValues<int64_t>());
    bool nhwc = std::is_same_v<ConvOp, linalg::Conv2DNhwcHwcfOp>;
    auto conv = Conv2DOp::create(
        rewriter, op.getLoc(), TypeRange{outs.getType()}, op.getDpsInputs()[0],
        op.getDpsInputs()[1], /*bias=*/Value(), fill.getOutputs()[0]);
    conv.setLayout(nhwc ? ConvLayout::nhwc : ConvLayout::nchw);
    conv.setStrides(strides);
    conv.setDilations(dilations);
    rewriter.replaceOp(op, conv.getResults());
    return success();
  }
};

/// `operand`, read through `map` in an element-wise op over a conv output of
/// rank 4, as a per-channel bias [F]: rank 1 indexed by the channel loop, or
/// a rank-r tensor with unit dims read at 0 and the channel loop once (as
/// ONNX importers write `bias.reshape(F, 1, 1)`). Returns the rank-1 bias.
static Value asChannelBias(PatternRewriter &rewriter, Location loc,
                           Value operand, AffineMap map, unsigned channelDim) {
  auto type = dyn_cast<RankedTensorType>(operand.getType());
  if (!type || map.getNumResults() != type.getRank())
    return Value();
  int channelResult = -1;
  for (auto [i, expr] : llvm::enumerate(map.getResults())) {
    if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
      if (dim.getPosition() != channelDim || channelResult >= 0)
        return Value();
      channelResult = i;
    } else if (auto cst = dyn_cast<AffineConstantExpr>(expr)) {
      if (cst.getValue() != 0 || type.getDimSize(i) != 1)
        return Value();
    } else {
      return Value();
    }
  }
  if (channelResult < 0)
    return Value();
  if (type.getRank() == 1)
    return operand;
  SmallVector<ReassociationIndices> all(1);
  for (int64_t i = 0; i < type.getRank(); ++i)
    all[0].push_back(i);
  return tensor::CollapseShapeOp::create(rewriter, loc, operand, all);
}

/// An element-wise linalg.generic whose only job on a single-use
/// lathe.conv2d result (not pooled yet) is `+ bias[channel]`, `+ residual`
/// (a tensor of the result's type, read element for element) and/or ReLU
/// (max with 0, or compare+select) or GELU, adds before the activation, is
/// absorbed into
/// the convolution: one oneDNN convolution with bias, a sum post-op (the
/// residual becomes the convolution's `init`, `accumulate`) and an eltwise
/// post-op.
struct FuseEpilogueIntoConv : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
        op.getNumLoops() != 4 || op.getNumParallelLoops() != op.getNumLoops() ||
        !allF32(op))
      return rewriter.notifyMatchFailure(op, "not an f32 element-wise op");
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    unsigned numInputs = op.getNumDpsInputs();
    if (!maps[numInputs].isIdentity())
      return rewriter.notifyMatchFailure(op, "output is not an identity map");
    std::optional<unsigned> convIndex;
    Conv2DOp conv;
    for (unsigned i = 0; i < numInputs; ++i) {
      auto candidate = op.getDpsInputs()[i].getDefiningOp<Conv2DOp>();
      if (candidate && candidate->hasOneUse() && maps[i].isIdentity() &&
          !candidate.hasPool()) {
        convIndex = i;
        conv = candidate;
        break;
      }
    }
    if (!convIndex)
      return rewriter.notifyMatchFailure(op, "no single-use conv input");
    if (op.getResult(0).getType() != conv.getResult().front().getType())
      return rewriter.notifyMatchFailure(op, "result type differs");

    unsigned channelDim = conv.isNhwc() ? 3 : 1;
    Value bias = conv.getBias();
    Activation activation = conv.getActivation();
    const char *why = "";
    auto onActivation = [&](Activation name) -> LogicalResult {
      if (activation != Activation::none) {
        why = "second activation";
        return failure();
      }
      activation = name;
      return success();
    };
    std::optional<unsigned> biasInput, residualInput;
    Type resultType = op.getResult(0).getType();
    auto onAdd = [&](unsigned input) -> LogicalResult {
      if (activation != Activation::none) {
        why = "add after the activation";
        return failure();
      }
      // A full tensor of the result's type, element for element: a residual,
      // added in place by a convolution whose init it becomes. (Not with
      // pooling, and only into a plain output the op writes whole.)
      if (maps[input].isIdentity() &&
          op.getDpsInputs()[input].getType() == resultType) {
        if (residualInput || conv.getAccumulate() || conv.hasPool() ||
            conv.getOutputBlock()) {
          why = "second residual";
          return failure();
        }
        residualInput = input;
        return success();
      }
      if (bias || biasInput) {
        why = "add is not a bias";
        return failure();
      }
      biasInput = input;
      return success();
    };
    if (failed(walkEpilogueChain(op, *convIndex, onActivation, onAdd, why)))
      return rewriter.notifyMatchFailure(op, why);
    // Only now may IR be created (asChannelBias creates nothing on failure).
    if (biasInput) {
      bias = asChannelBias(rewriter, op.getLoc(), op.getDpsInputs()[*biasInput],
                           maps[*biasInput], channelDim);
      if (!bias)
        return rewriter.notifyMatchFailure(op, "add is not a channel bias");
    }

    // An accumulating convolution keeps its init: that is its residual.
    Value init = residualInput          ? op.getDpsInputs()[*residualInput]
                 : conv.getAccumulate() ? conv.getInit()
                                        : op.getDpsInits()[0];
    auto fused =
        Conv2DOp::create(rewriter, op.getLoc(), op->getResultTypes(),
                         conv.getInput(), conv.getFilter(), bias, init);
    fused->setAttrs(conv->getAttrs());
    fused.setActivation(activation);
    if (residualInput)
      fused.setAccumulate(true);
    rewriter.replaceOp(op, fused.getResults());
    rewriter.eraseOp(conv);
    return success();
  }
};

/// linalg.pooling_{nchw,nhwc}_max from a -inf fill of a single-use
/// lathe.conv2d result (same layout) -> the convolution's `pool` epilogue,
/// so the convolution's output never leaves the kernel.
template <typename PoolOp>
struct FusePoolIntoConv : public OpRewritePattern<PoolOp> {
  using OpRewritePattern<PoolOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(PoolOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || !allF32(op))
      return rewriter.notifyMatchFailure(op, "expects f32 tensors");
    bool nhwc = std::is_same_v<PoolOp, linalg::PoolingNhwcMaxOp>;
    auto conv = op.getDpsInputs()[0].template getDefiningOp<Conv2DOp>();
    if (!conv || !conv->hasOneUse() || conv.hasPool() || conv.getAccumulate() ||
        conv.isNhwc() != nhwc)
      return rewriter.notifyMatchFailure(op, "input is not a lone conv");
    Value outs = op.getDpsInits()[0];
    auto fill = outs.template getDefiningOp<linalg::FillOp>();
    FloatAttr init;
    if (!fill || !matchPattern(fill.getInputs()[0], m_Constant(&init)) ||
        !init.getValue().isInfinity() || !init.getValue().isNegative())
      return rewriter.notifyMatchFailure(op, "init is not a -inf fill");
    auto windowType = cast<ShapedType>(op.getDpsInputs()[1].getType());
    auto convType = cast<ShapedType>(conv.getResult().front().getType());
    auto outType = cast<ShapedType>(outs.getType());
    SmallVector<int64_t> window(windowType.getShape());
    auto strides =
        llvm::to_vector(op.getStrides().template getValues<int64_t>());
    auto dilations =
        llvm::to_vector(op.getDilations().template getValues<int64_t>());
    // The convolution keeps only the rows and columns the windows read; that
    // must not be more than it had.
    for (int dim = 0; dim < 2; ++dim) {
      int64_t spatial = nhwc ? 1 + dim : 2 + dim;
      int64_t convSize = convType.getDimSize(spatial);
      int64_t outSize = outType.getDimSize(spatial);
      if (ShapedType::isDynamic(convSize) || ShapedType::isDynamic(outSize) ||
          ShapedType::isDynamic(window[dim]) || outSize == 0)
        return rewriter.notifyMatchFailure(op, "dynamic or empty spatial size");
      int64_t span =
          (outSize - 1) * strides[dim] + (window[dim] - 1) * dilations[dim] + 1;
      if (span > convSize)
        return rewriter.notifyMatchFailure(op, "windows read past the conv");
    }
    auto fused = Conv2DOp::create(rewriter, op.getLoc(), op->getResultTypes(),
                                  conv.getInput(), conv.getFilter(),
                                  conv.getBias(), fill.getOutputs()[0]);
    fused->setAttrs(conv->getAttrs());
    fused.setPool(PoolKind::max);
    fused.setPoolWindow(window);
    fused.setPoolStrides(strides);
    fused.setPoolDilations(dilations);
    rewriter.replaceOp(op, fused.getResults());
    rewriter.eraseOp(conv);
    return success();
  }
};

/// linalg.pooling_{nchw,nhwc}_max from a -inf fill, reading a tensor.pad
/// with -inf of the spatial dimensions only -> lathe.max_pool2d with that
/// padding (oneDNN's max pooling with padding takes no padded element, which
/// is what -inf padding computes wherever a window takes an input element;
/// a window of padding only is not folded). The padded copy is never made.
template <typename PoolOp>
struct FoldPadIntoMaxPool : public OpRewritePattern<PoolOp> {
  using OpRewritePattern<PoolOp>::OpRewritePattern;

  static bool isNegInf(Value value) {
    FloatAttr attr;
    return matchPattern(value, m_Constant(&attr)) &&
           attr.getValue().isInfinity() && attr.getValue().isNegative();
  }

  LogicalResult matchAndRewrite(PoolOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || !allF32(op))
      return rewriter.notifyMatchFailure(op, "expects f32 tensors");
    bool nhwc = std::is_same_v<PoolOp, linalg::PoolingNhwcMaxOp>;
    auto pad = op.getDpsInputs()[0].template getDefiningOp<tensor::PadOp>();
    if (!pad || pad.getNofold())
      return rewriter.notifyMatchFailure(op, "input is not a tensor.pad");
    Value padValue = pad.getConstantPaddingValue();
    if (!padValue || !isNegInf(padValue))
      return rewriter.notifyMatchFailure(op, "padding is not -inf");
    Value outs = op.getDpsInits()[0];
    auto fill = outs.template getDefiningOp<linalg::FillOp>();
    if (!fill || !isNegInf(fill.getInputs()[0]))
      return rewriter.notifyMatchFailure(op, "init is not a -inf fill");
    auto inType = cast<RankedTensorType>(pad.getSource().getType());
    auto outType = cast<RankedTensorType>(outs.getType());
    auto windowType = cast<ShapedType>(op.getDpsInputs()[1].getType());
    if (!inType.hasStaticShape() || !outType.hasStaticShape() ||
        !windowType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic sizes");
    SmallVector<int64_t> low(pad.getStaticLow()), high(pad.getStaticHigh());
    unsigned spatial = nhwc ? 1 : 2, channel = nhwc ? 3 : 1;
    if (ShapedType::isDynamicShape(low) || ShapedType::isDynamicShape(high) ||
        low[0] || high[0] || low[channel] || high[channel])
      return rewriter.notifyMatchFailure(op, "pads batch or channels");
    auto window = llvm::to_vector(windowType.getShape());
    auto strides =
        llvm::to_vector(op.getStrides().template getValues<int64_t>());
    auto dilations =
        llvm::to_vector(op.getDilations().template getValues<int64_t>());
    for (int dim = 0; dim < 2; ++dim)
      if (!::lathe::pool_window::everyWindowTakesInput(
              inType.getDimSize(spatial + dim), low[spatial + dim], window[dim],
              strides[dim], dilations[dim], outType.getDimSize(spatial + dim)))
        return rewriter.notifyMatchFailure(op, "a window takes only padding");
    auto pool = MaxPool2DOp::create(
        rewriter, op.getLoc(), op->getResultTypes(), pad.getSource(),
        fill.getOutputs()[0], nhwc ? ConvLayout::nhwc : ConvLayout::nchw,
        window, strides, dilations,
        SmallVector<int64_t>{low[spatial], low[spatial + 1], high[spatial],
                             high[spatial + 1]});
    rewriter.replaceOp(op, pool.getResults());
    return success();
  }
};

static void populateFormConvKernelPatterns(RewritePatternSet &patterns,
                                           bool fusePooling) {
  patterns.add<RaiseConv<linalg::Conv2DNchwFchwOp>,
               RaiseConv<linalg::Conv2DNhwcHwcfOp>, FuseEpilogueIntoConv>(
      patterns.getContext());
  if (fusePooling)
    patterns.add<FusePoolIntoConv<linalg::PoolingNchwMaxOp>,
                 FusePoolIntoConv<linalg::PoolingNhwcMaxOp>,
                 FoldPadIntoMaxPool<linalg::PoolingNchwMaxOp>,
                 FoldPadIntoMaxPool<linalg::PoolingNhwcMaxOp>>(
        patterns.getContext());
}

/// What a function holds of the kernels lathe-cpu-form-kernels forms (for
/// its statistics: the difference before and after the pass).
struct KernelCounts {
  unsigned matmuls = 0, convs = 0, epilogues = 0, softmaxes = 0, layerNorms = 0;

  explicit KernelCounts(Operation *root) {
    root->walk([&](Operation *op) {
      if (auto matmul = dyn_cast<MatmulOp>(op)) {
        ++matmuls;
        epilogues += (matmul.getBias() != nullptr) +
                     (matmul.getResidual() != nullptr) +
                     (matmul.getActivation() != Activation::none);
      } else if (auto conv = dyn_cast<Conv2DOp>(op)) {
        ++convs;
        epilogues += (conv.getBias() != nullptr) + conv.getAccumulate() +
                     (conv.getActivation() != Activation::none) +
                     conv.hasPool();
      } else if (isa<linalg::SoftmaxOp>(op)) {
        ++softmaxes;
      } else if (isa<LayerNormOp>(op)) {
        ++layerNorms;
      }
    });
  }
};

struct LatheCPUFormKernels
    : public mlir::lathe::impl::LatheCPUFormKernelsBase<LatheCPUFormKernels> {
  using Base::Base;
  void runOnOperation() override {
    KernelCounts before(getOperation());
    RewritePatternSet patterns(&getContext());
    populateFormMatmulKernelPatterns(patterns);
    populateFoldLayoutIntoMatmulPatterns(patterns);
    populateFormRowKernelPatterns(patterns);
    populateFormConvKernelPatterns(patterns, fusePooling);
    populateFoldConvAffinePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    KernelCounts after(getOperation());
    auto formed = [](unsigned was, unsigned is) {
      return is > was ? is - was : 0;
    };
    numMatmuls += formed(before.matmuls, after.matmuls);
    numConvs += formed(before.convs, after.convs);
    numEpilogues += formed(before.epilogues, after.epilogues);
    numSoftmaxRows += formed(before.softmaxes, after.softmaxes);
    numLayerNorms += formed(before.layerNorms, after.layerNorms);
  }
};

} // namespace

void mlir::lathe::populateFormMatmulKernelPatterns(
    RewritePatternSet &patterns) {
  patterns
      .add<RaiseMatmul<linalg::MatmulOp>, RaiseMatmul<linalg::BatchMatmulOp>,
           RaiseGenericMatmul, FoldTransposeIntoMatmul, FuseEpilogueIntoMatmul>(
          patterns.getContext());
}
