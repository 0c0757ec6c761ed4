//===- LowRankOps.cpp - lowrank dialect -----------------------------------===//

#include "lathe/Dialect/LowRank/LowRankOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"

#include <cmath>

using namespace mlir;
using namespace mlir::lowrank;

#include "lathe/Dialect/LowRank/LowRankDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "lathe/Dialect/LowRank/LowRankAttrs.cpp.inc"

void LowRankDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "lathe/Dialect/LowRank/LowRankAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "lathe/Dialect/LowRank/LowRankOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

std::optional<SmallVector<float>>
mlir::lowrank::getConstantF32Values(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.getElementType().isF32() || !type.hasStaticShape())
    return std::nullopt;
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    SmallVector<float> values(dense.getValues<float>());
    return values;
  }
  if (auto resource = dyn_cast<DenseF32ResourceElementsAttr>(attr)) {
    std::optional<ArrayRef<float>> data = resource.tryGetAsArrayRef();
    if (!data || static_cast<int64_t>(data->size()) != type.getNumElements())
      return std::nullopt;
    return SmallVector<float>(data->begin(), data->end());
  }
  return std::nullopt;
}

Value mlir::lowrank::buildBiasAdd(OpBuilder &b, Location loc, Value x,
                                  Value bias, int64_t dim,
                                  ValueRange dynSizes) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap along = AffineMap::get(rank, 0, getAffineDimExpr(dim, ctx));
  Value init = tensor::EmptyOp::create(b, loc, type, dynSizes);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{x, bias}, ValueRange{init},
             ArrayRef<AffineMap>{id, along, id},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [](OpBuilder &nb, Location l, ValueRange args) {
               Value sum = arith::AddFOp::create(nb, l, args[0], args[1]);
               linalg::YieldOp::create(nb, l, sum);
             })
      .getResult(0);
}

/// Two static sizes disagree (dynamic sizes agree with anything).
static bool sizesConflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += ", ";
    s += ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
  }
  return s + "]";
}

//===----------------------------------------------------------------------===//
// DecisionAttr
//===----------------------------------------------------------------------===//

LogicalResult DecisionAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, StringRef action,
    int64_t rank, APFloat energyAttr, APFloat before, APFloat after,
    APFloat beforeB1, APFloat afterB1, APFloat beforeB64, APFloat afterB64,
    StringRef target, StringRef strategy, StringRef errorNorm, StringRef budget,
    APFloat budgetLimit, APFloat modelError, APFloat modelLatency) {
  if (action != "factorize" && action != "dense")
    return emitError() << "expects action \"factorize\" or \"dense\", got \""
                       << action << "\"";
  if (rank <= 0)
    return emitError() << "expects a positive rank, got " << rank;
  double energy = energyAttr.convertToDouble();
  if (!(energy >= 0.0 && energy <= 1.0))
    return emitError() << "expects the energy kept in [0, 1], got " << energy;
  for (const APFloat *latency :
       {&before, &after, &beforeB1, &afterB1, &beforeB64, &afterB64})
    if (!(latency->convertToDouble() >= 0.0))
      return emitError() << "expects non-negative latencies";
  if (target.empty())
    return emitError() << "expects a non-empty target name";
  if (strategy != "global" && strategy != "uniform" && strategy != "threshold")
    return emitError() << "expects strategy \"global\", \"uniform\" or "
                          "\"threshold\", got \""
                       << strategy << "\"";
  if (errorNorm != "frobenius" && errorNorm != "relative" &&
      errorNorm != "spectral")
    return emitError() << "expects error_norm \"frobenius\", \"relative\" or "
                          "\"spectral\", got \""
                       << errorNorm << "\"";
  if (budget != "max_error" && budget != "max_latency")
    return emitError() << "expects budget \"max_error\" or \"max_latency\", "
                          "got \""
                       << budget << "\"";
  if (!(budgetLimit.convertToDouble() >= 0.0) ||
      !(modelError.convertToDouble() >= 0.0) ||
      !(modelLatency.convertToDouble() >= 0.0))
    return emitError()
           << "expects non-negative budget_limit, model_error, model_latency";
  return success();
}

StringRef DecisionAttr::getPassName() const { return kPassName; }

DictionaryAttr DecisionAttr::toDictionary() const {
  Builder b(getContext());
  auto f64 = [&](const APFloat &value) {
    return b.getF64FloatAttr(value.convertToDouble());
  };
  // The keys (and values) the report has always listed for this pass.
  return b.getDictionaryAttr({
      b.getNamedAttr("pass", b.getStringAttr(getPassName())),
      b.getNamedAttr("action", b.getStringAttr(getAction())),
      b.getNamedAttr("rank", b.getI64IntegerAttr(getRank())),
      b.getNamedAttr("energy", f64(getEnergy())),
      b.getNamedAttr("latency_before_us", f64(getLatencyBeforeUs())),
      b.getNamedAttr("latency_after_us", f64(getLatencyAfterUs())),
      b.getNamedAttr("latency_before_b1_us", f64(getLatencyBeforeB1Us())),
      b.getNamedAttr("latency_after_b1_us", f64(getLatencyAfterB1Us())),
      b.getNamedAttr("latency_before_b64_us", f64(getLatencyBeforeB64Us())),
      b.getNamedAttr("latency_after_b64_us", f64(getLatencyAfterB64Us())),
      b.getNamedAttr("target", b.getStringAttr(getTarget())),
      b.getNamedAttr("strategy", b.getStringAttr(getStrategy())),
      b.getNamedAttr("error_norm", b.getStringAttr(getErrorNorm())),
      b.getNamedAttr(getBudget(), f64(getBudgetLimit())),
      b.getNamedAttr("model_error", f64(getModelError())),
      b.getNamedAttr("model_latency", f64(getModelLatency())),
  });
}

LogicalResult DecisionAttr::verifyAttachedTo(Operation *op) const {
  std::optional<int64_t> rank;
  if (auto linear = dyn_cast<LinearOp>(op))
    rank = linear.getRank();
  else if (auto tucker = dyn_cast<Conv2DTuckerOp>(op))
    rank = tucker.getRank();
  if (rank && getAction() != "factorize")
    return op->emitOpError("has a \"") << getAction() << "\" decision";
  if (rank && !ShapedType::isDynamic(*rank) && getRank() != *rank)
    return op->emitOpError("has a decision for rank ")
           << getRank() << " but factors of rank " << *rank;
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

int64_t LinearOp::getRank() {
  return cast<ShapedType>(getU().getType()).getDimSize(1);
}

LogicalResult LinearOp::verify() {
  auto inType = cast<RankedTensorType>(getInput().getType());
  auto uType = cast<RankedTensorType>(getU().getType());
  auto vType = cast<RankedTensorType>(getV().getType());
  auto resType = cast<RankedTensorType>(getResult().getType());
  for (Value v : getOperation()->getOperands())
    if (!cast<ShapedType>(v.getType()).getElementType().isF32())
      return emitOpError("supports f32 operands only, got ") << v.getType();
  if (!resType.getElementType().isF32())
    return emitOpError("supports f32 results only, got ") << resType;
  int64_t rank = inType.getRank();
  if (rank != 2 && rank != 3)
    return emitOpError("expects an input of rank 2 or 3, got rank ") << rank;
  if (uType.getRank() != 2 || vType.getRank() != 2)
    return emitOpError("expects rank-2 factors u [N, r] and v [r, K], got ")
           << uType << " and " << vType;
  if (!uType.hasStaticShape() || !vType.hasStaticShape())
    return emitOpError("expects statically shaped factors");
  int64_t n = uType.getDimSize(0), r = uType.getDimSize(1);
  int64_t k = vType.getDimSize(1);
  if (vType.getDimSize(0) != r)
    return emitOpError("expects the factors to share the rank: u is ")
           << shapeString(uType.getShape()) << " (r = " << r << "), v is "
           << shapeString(vType.getShape());
  if (r <= 0 || r > std::min(n, k))
    return emitOpError("expects 0 < rank <= min(N, K) = ")
           << std::min(n, k) << ", got rank " << r;
  if (sizesConflict(inType.getDimSize(rank - 1), k))
    return emitOpError("expects the input's last dimension (")
           << inType.getDimSize(rank - 1) << ") to equal K = " << k
           << " (the columns of v)";
  if (resType.getRank() != rank)
    return emitOpError("expects a result of rank ")
           << rank << " (the input rank), got " << resType;
  SmallVector<int64_t> expected(inType.getShape());
  expected.back() = n;
  if (llvm::any_of(llvm::zip(resType.getShape(), expected), [](auto p) {
        return sizesConflict(std::get<0>(p), std::get<1>(p));
      }))
    return emitOpError("expects a result of shape ")
           << shapeString(expected) << " (N = rows of u), got " << resType;
  if (Value bias = getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getRank() != 1 || sizesConflict(biasType.getDimSize(0), n))
      return emitOpError("expects a bias of shape [")
             << n << "], got " << biasType;
  }
  return success();
}

FailureOr<int64_t> LinearOp::getFlopCount() {
  auto inType = cast<ShapedType>(getInput().getType());
  if (!inType.hasStaticShape())
    return failure();
  int64_t rows = inType.getNumElements() / inType.getShape().back();
  int64_t k = inType.getShape().back();
  int64_t n = cast<ShapedType>(getU().getType()).getDimSize(0);
  int64_t r = getRank();
  return 2 * rows * r * (k + n) + (getBias() ? rows * n : 0);
}

namespace {
/// A factorization that saves nothing (r·(N+K) >= N·K, e.g. full rank) of
/// constant factors folds back into one dense weight W = U·V: upstream linalg
/// (x·Wᵀ as a linalg.matmul with the constant Wᵀ, or a batch_matmul with it
/// broadcast over a 3-D input's batch, then the bias add), which every target
/// already handles; the CPU target raises it to one oneDNN matmul with the bias
/// fused. Canonicalization never creates a backend op.
struct FoldUnprofitableLinear : public OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    auto uType = cast<RankedTensorType>(op.getU().getType());
    auto vType = cast<RankedTensorType>(op.getV().getType());
    int64_t n = uType.getDimSize(0), r = uType.getDimSize(1);
    int64_t k = vType.getDimSize(1);
    if (r * (n + k) < n * k)
      return rewriter.notifyMatchFailure(op, "the factorization is cheaper");
    std::optional<SmallVector<float>> u = getConstantF32Values(op.getU());
    std::optional<SmallVector<float>> v = getConstantF32Values(op.getV());
    if (!u || !v)
      return rewriter.notifyMatchFailure(op, "factors are not constants");
    // Wᵀ = (U·V)ᵀ as [K, N], so that x·Wᵀ is a plain (batch-broadcast)
    // matmul.
    SmallVector<float> wt(k * n, 0.0f);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t a = 0; a < r; ++a) {
        float uia = (*u)[i * r + a];
        for (int64_t j = 0; j < k; ++j)
          wt[j * n + i] += uia * (*v)[a * k + j];
      }
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto wType = RankedTensorType::get({k, n}, rewriter.getF32Type());
    Value weight = arith::ConstantOp::create(
        rewriter, loc, wType,
        DenseElementsAttr::get(wType, ArrayRef<float>(wt)));
    auto resType = cast<RankedTensorType>(op.getType());
    int64_t rank = resType.getRank();
    SmallVector<Value> dynSizes;
    for (int64_t i = 0; i < rank; ++i)
      if (resType.isDynamicDim(i))
        dynSizes.push_back(
            tensor::DimOp::create(rewriter, loc, op.getInput(), i));
    Value empty = tensor::EmptyOp::create(rewriter, loc, resType, dynSizes);
    Value zero = arith::ConstantOp::create(rewriter, loc,
                                           rewriter.getF32FloatAttr(0.0f));
    Value init =
        linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
    Value result;
    if (rank == 2) {
      result = linalg::MatmulOp::create(rewriter, loc, TypeRange{resType},
                                        ValueRange{op.getInput(), weight},
                                        ValueRange{init})
                   .getResult(0);
    } else {
      // The weight broadcast over the batch: (b, m, n, k) -> (k, n).
      AffineExpr b = getAffineDimExpr(0, ctx), m = getAffineDimExpr(1, ctx),
                 dn = getAffineDimExpr(2, ctx), dk = getAffineDimExpr(3, ctx);
      auto bmm = linalg::BatchMatmulOp::create(
          rewriter, loc, TypeRange{resType}, ValueRange{op.getInput(), weight},
          ValueRange{init});
      bmm.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(
          {AffineMap::get(4, 0, {b, m, dk}, ctx),
           AffineMap::get(4, 0, {dk, dn}, ctx),
           AffineMap::get(4, 0, {b, m, dn}, ctx)}));
      result = bmm.getResult(0);
    }
    if (Value bias = op.getBias())
      result = buildBiasAdd(rewriter, loc, result, bias, rank - 1, dynSizes);
    rewriter.replaceOp(op, result);
    return success();
  }
};
} // namespace

void LinearOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<FoldUnprofitableLinear>(context);
}

//===----------------------------------------------------------------------===//
// Conv2DTuckerOp
//===----------------------------------------------------------------------===//

int64_t Conv2DTuckerOp::getRank() {
  return cast<ShapedType>(getUIn().getType()).getDimSize(0);
}

LogicalResult Conv2DTuckerOp::verify() {
  auto inType = cast<RankedTensorType>(getInput().getType());
  auto uInType = cast<RankedTensorType>(getUIn().getType());
  auto coreType = cast<RankedTensorType>(getCore().getType());
  auto uOutType = cast<RankedTensorType>(getUOut().getType());
  auto resType = cast<RankedTensorType>(getResult().getType());
  for (Value v : getOperation()->getOperands())
    if (!cast<ShapedType>(v.getType()).getElementType().isF32())
      return emitOpError("supports f32 operands only, got ") << v.getType();
  if (inType.getRank() != 4 || resType.getRank() != 4)
    return emitOpError("expects NCHW input and result of rank 4");
  if (uInType.getRank() != 2 || uOutType.getRank() != 2 ||
      coreType.getRank() != 4)
    return emitOpError("expects u_in [r, Cin], core [r, r, kh, kw] and "
                       "u_out [Cout, r]");
  if (!uInType.hasStaticShape() || !uOutType.hasStaticShape() ||
      !coreType.hasStaticShape())
    return emitOpError("expects statically shaped factors");
  if (getStrides().size() != 2 || getDilations().size() != 2 ||
      llvm::any_of(getStrides(), [](int64_t s) { return s <= 0; }) ||
      llvm::any_of(getDilations(), [](int64_t d) { return d <= 0; }))
    return emitOpError("expects two positive strides and two positive "
                       "dilations");
  int64_t r = uInType.getDimSize(0), cin = uInType.getDimSize(1);
  int64_t cout = uOutType.getDimSize(0);
  if (coreType.getDimSize(0) != r || coreType.getDimSize(1) != r ||
      uOutType.getDimSize(1) != r)
    return emitOpError("expects one tied rank r = ")
           << r << " (rows of u_in): core is "
           << shapeString(coreType.getShape()) << ", u_out is "
           << shapeString(uOutType.getShape());
  if (r <= 0 || r > std::min(cin, cout))
    return emitOpError("expects 0 < rank <= min(Cin, Cout) = ")
           << std::min(cin, cout) << ", got rank " << r;
  if (sizesConflict(inType.getDimSize(1), cin))
    return emitOpError("expects ")
           << cin << " input channels (the columns of u_in), got "
           << inType.getDimSize(1);
  SmallVector<int64_t> expected = {inType.getDimSize(0), cout,
                                   ShapedType::kDynamic, ShapedType::kDynamic};
  for (int i = 0; i < 2; ++i) {
    int64_t size = inType.getDimSize(2 + i);
    if (ShapedType::isDynamic(size))
      continue;
    int64_t span = getDilations()[i] * (coreType.getDimSize(2 + i) - 1) + 1;
    if (size < span)
      return emitOpError("has an input of spatial size ")
             << size << " smaller than the dilated kernel (" << span << ")";
    expected[2 + i] = (size - span) / getStrides()[i] + 1;
  }
  if (llvm::any_of(llvm::zip(resType.getShape(), expected), [](auto p) {
        return sizesConflict(std::get<0>(p), std::get<1>(p));
      }))
    return emitOpError("expects a result of shape ")
           << shapeString(expected) << ", got " << resType;
  if (Value bias = getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getRank() != 1 || sizesConflict(biasType.getDimSize(0), cout))
      return emitOpError("expects a bias of shape [")
             << cout << "], got " << biasType;
  }
  return success();
}

namespace {
/// A Tucker-2 factorization that stores no fewer numbers than the filter
/// (Cin·r + r²·kh·kw + r·Cout >= Cin·Cout·kh·kw) of constant factors folds
/// back into one dense filter W[o,i,y,x] = Σ u_out[o,a] core[a,b,y,x]
/// u_in[b,i] and one linalg convolution (plus the bias add).
struct FoldUnprofitableTucker : public OpRewritePattern<Conv2DTuckerOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(Conv2DTuckerOp op,
                                PatternRewriter &rewriter) const override {
    auto coreType = cast<RankedTensorType>(op.getCore().getType());
    auto uInType = cast<RankedTensorType>(op.getUIn().getType());
    auto uOutType = cast<RankedTensorType>(op.getUOut().getType());
    int64_t r = uInType.getDimSize(0), cin = uInType.getDimSize(1);
    int64_t cout = uOutType.getDimSize(0);
    int64_t kh = coreType.getDimSize(2), kw = coreType.getDimSize(3);
    int64_t win = kh * kw;
    if (cin * r + r * r * win + r * cout < cin * cout * win)
      return rewriter.notifyMatchFailure(op, "the factorization is cheaper");
    std::optional<SmallVector<float>> uIn = getConstantF32Values(op.getUIn());
    std::optional<SmallVector<float>> core = getConstantF32Values(op.getCore());
    std::optional<SmallVector<float>> uOut = getConstantF32Values(op.getUOut());
    if (!uIn || !core || !uOut)
      return rewriter.notifyMatchFailure(op, "factors are not constants");
    auto resType = cast<RankedTensorType>(op.getType());
    if (resType.isDynamicDim(1) || resType.isDynamicDim(2) ||
        resType.isDynamicDim(3))
      return rewriter.notifyMatchFailure(op, "dynamic result sizes");
    // t[a, i, p] = Σ_b core[a, b, p] u_in[b, i]; W[o, i, p] = Σ_a u_out[o, a]
    // t[a, i, p], accumulated in double.
    std::vector<double> t(r * cin * win, 0.0), w(cout * cin * win, 0.0);
    for (int64_t a = 0; a < r; ++a)
      for (int64_t b = 0; b < r; ++b)
        for (int64_t i = 0; i < cin; ++i) {
          double u = (*uIn)[b * cin + i];
          for (int64_t p = 0; p < win; ++p)
            t[(a * cin + i) * win + p] += (*core)[(a * r + b) * win + p] * u;
        }
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t a = 0; a < r; ++a) {
        double u = (*uOut)[o * r + a];
        for (int64_t ip = 0; ip < cin * win; ++ip)
          w[o * cin * win + ip] += u * t[a * cin * win + ip];
      }
    SmallVector<float> filter(w.begin(), w.end());
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    auto filterType = RankedTensorType::get({cout, cin, kh, kw}, f32);
    Value weight = arith::ConstantOp::create(
        rewriter, loc, filterType,
        DenseElementsAttr::get(filterType, ArrayRef<float>(filter)));
    SmallVector<Value> dynSizes;
    if (resType.isDynamicDim(0))
      dynSizes.push_back(
          tensor::DimOp::create(rewriter, loc, op.getInput(), 0));
    Value empty = tensor::EmptyOp::create(rewriter, loc, resType.getShape(),
                                          f32, dynSizes);
    // -0.0 as in convert-lowrank-to-lathe: CSE cannot merge it with the model's
    // fills.
    Value zero = arith::ConstantOp::create(rewriter, loc,
                                           rewriter.getF32FloatAttr(-0.0f));
    Value init =
        linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
    Value result = linalg::Conv2DNchwFchwOp::create(
                       rewriter, loc, TypeRange{resType},
                       ValueRange{op.getInput(), weight}, ValueRange{init},
                       rewriter.getI64TensorAttr(op.getStrides()),
                       rewriter.getI64TensorAttr(op.getDilations()))
                       .getResult(0);
    if (Value bias = op.getBias())
      result = buildBiasAdd(rewriter, loc, result, bias, /*dim=*/1, dynSizes);
    rewriter.replaceOp(op, result);
    return success();
  }
};
} // namespace

void Conv2DTuckerOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                 MLIRContext *context) {
  results.add<FoldUnprofitableTucker>(context);
}

FailureOr<int64_t> Conv2DTuckerOp::getFlopCount() {
  auto inType = cast<ShapedType>(getInput().getType());
  auto resType = cast<ShapedType>(getResult().getType());
  if (!inType.hasStaticShape() || !resType.hasStaticShape())
    return failure();
  auto coreType = cast<ShapedType>(getCore().getType());
  int64_t r = getRank();
  int64_t batch = inType.getDimSize(0), cin = inType.getDimSize(1);
  int64_t inPixels = inType.getDimSize(2) * inType.getDimSize(3);
  int64_t outPixels = resType.getDimSize(2) * resType.getDimSize(3);
  int64_t cout = resType.getDimSize(1);
  int64_t window = coreType.getDimSize(2) * coreType.getDimSize(3);
  return 2 * batch *
             (inPixels * cin * r + outPixels * r * r * window +
              outPixels * r * cout) +
         (getBias() ? batch * outPixels * cout : 0);
}

#define GET_OP_CLASSES
#include "lathe/Dialect/LowRank/LowRankOps.cpp.inc"
