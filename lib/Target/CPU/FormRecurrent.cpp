//===- FormRecurrent.cpp - LSTM and GRU loops to lathe.rnn ----------------===//
//
// The ONNX importer writes one direction of an LSTM or GRU as an input
// projection (a matmul over all steps) and an scf.for over the sequence that
// carries the state: per step a recurrent matmul and linalg.generics for the
// gates. Run step by step, the gate arithmetic dominates a small model; one
// oneDNN RNN primitive runs the whole loop.
//
// The loop becomes lathe.rnn only when its dataflow is that of a cell oneDNN
// computes: the yielded state is, element for element, the cell's formula
// over column blocks of the two projections (sigmoid as 1 / (1 + exp(-v)),
// tanh, commuted operands of add and mul accepted), each gate reading the
// same block of both projections, the input projection's rows those of the
// loop's time step (forward, or reverse as T - 1 - i), the whole sequence
// covered. Anything else in the arithmetic (peepholes, other activations, a
// clip) leaves the loop alone, and it runs as generated code.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallBitVector.h"

namespace mlir::lathe {
#define GEN_PASS_DEF_LATHECPUFORMRECURRENT
#include "lathe/Target/CPU/Passes.h.inc"
} // namespace mlir::lathe

using namespace mlir;
using namespace mlir::lathe;

namespace {

//===----------------------------------------------------------------------===//
// Sizes and slices
//===----------------------------------------------------------------------===//

/// The tensor and dimension a size comes from, following tensor.dim through
/// transposes, destination-style results (sized by their inits) and
/// tensor.empty's dynamic sizes. Two sizes with the same origin are equal.
static std::pair<Value, int64_t> sizeOrigin(Value v, int64_t dim) {
  for (int guard = 0; guard < 64; ++guard) {
    if (auto transpose = v.getDefiningOp<linalg::TransposeOp>()) {
      dim = transpose.getPermutation()[dim];
      v = transpose.getInput();
      continue;
    }
    if (auto empty = v.getDefiningOp<tensor::EmptyOp>()) {
      if (!empty.getType().isDynamicDim(dim))
        break;
      Value size = empty.getDynamicSize(dim);
      auto dimOp = size.getDefiningOp<tensor::DimOp>();
      std::optional<int64_t> index =
          dimOp ? getConstantIntValue(dimOp.getIndex()) : std::nullopt;
      if (!index)
        return {size, -1};
      v = dimOp.getSource();
      dim = *index;
      continue;
    }
    if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>()) {
      // Result dimension `dim` is the dim-th source dimension not dropped.
      llvm::SmallBitVector dropped = slice.getDroppedDims();
      int64_t srcDim = -1;
      for (int64_t i = 0, seen = -1; i < slice.getSourceType().getRank(); ++i)
        if (!dropped[i] && ++seen == dim) {
          srcDim = i;
          break;
        }
      if (srcDim < 0)
        break;
      OpFoldResult size = slice.getMixedSizes()[srcDim];
      auto sizeValue = dyn_cast<Value>(size);
      auto dimOp = sizeValue ? sizeValue.getDefiningOp<tensor::DimOp>()
                             : tensor::DimOp();
      std::optional<int64_t> index =
          dimOp ? getConstantIntValue(dimOp.getIndex()) : std::nullopt;
      if (!index)
        break;
      v = dimOp.getSource();
      dim = *index;
      continue;
    }
    auto result = dyn_cast<OpResult>(v);
    auto dps = result ? dyn_cast<DestinationStyleOpInterface>(result.getOwner())
                      : DestinationStyleOpInterface();
    if (dps && dps.hasPureTensorSemantics()) {
      v = dps.getDpsInits()[result.getResultNumber()];
      continue;
    }
    break;
  }
  return {v, dim};
}

/// True when dimension `da` of `a` is provably dimension `db` of `b`.
static bool sameDim(Value a, int64_t da, Value b, int64_t db) {
  int64_t sa = cast<ShapedType>(a.getType()).getDimSize(da),
          sb = cast<ShapedType>(b.getType()).getDimSize(db);
  if (!ShapedType::isDynamic(sa) || !ShapedType::isDynamic(sb))
    return sa == sb;
  return sizeOrigin(a, da) == sizeOrigin(b, db);
}

/// True when `size` is provably dimension `dim` of `v`.
static bool isSizeOf(OpFoldResult size, Value v, int64_t dim) {
  int64_t known = cast<ShapedType>(v.getType()).getDimSize(dim);
  std::optional<int64_t> constant = getConstantIntValue(size);
  if (constant || !ShapedType::isDynamic(known))
    return constant && *constant == known;
  auto dimOp = cast<Value>(size).getDefiningOp<tensor::DimOp>();
  std::optional<int64_t> index =
      dimOp ? getConstantIntValue(dimOp.getIndex()) : std::nullopt;
  if (!index)
    return false;
  return sizeOrigin(dimOp.getSource(), *index) == sizeOrigin(v, dim);
}

/// Rows [row, row + rows) and columns [col, col + cols) of a rank-2 tensor,
/// through a chain of unit-stride rank-2 extract_slices.
struct SliceBlock {
  Value source;
  OpFoldResult row;
  int64_t col = 0;
};

static SliceBlock resolveBlock(Value v, MLIRContext *ctx) {
  SliceBlock block{v, IntegerAttr::get(IndexType::get(ctx), 0), 0};
  while (auto slice = block.source.getDefiningOp<tensor::ExtractSliceOp>()) {
    if (slice.getSourceType().getRank() != 2 ||
        slice.getType().getRank() != 2 || !slice.hasUnitStride())
      break;
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
    std::optional<int64_t> col = getConstantIntValue(offsets[1]);
    if (!col)
      break;
    if (!isConstantIntValue(offsets[0], 0)) {
      if (!isConstantIntValue(block.row, 0))
        break;
      block.row = offsets[0];
    }
    block.col += *col;
    block.source = slice.getSource();
  }
  return block;
}

/// The [K] vector a linalg.generic broadcasts over the rows of an [M, K]
/// result, a null Value for a zero fill, failure for anything else.
static FailureOr<Value> rowBias(Value init) {
  if (auto fill = init.getDefiningOp<linalg::FillOp>())
    if (matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
      return Value();
  auto generic = init.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || generic.getNumLoops() != 2 ||
      generic.getNumParallelLoops() != 2)
    return failure();
  MLIRContext *ctx = init.getContext();
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx) ||
      !maps[1].isIdentity())
    return failure();
  Block &body = generic.getRegion().front();
  if (body.getTerminator()->getOperand(0) != body.getArgument(0))
    return failure();
  return generic.getDpsInputs()[0];
}

/// The two [K] vectors an element-wise linalg.generic adds, if `v` is one.
static std::optional<std::pair<Value, Value>> vectorSum(Value v) {
  auto generic = v ? v.getDefiningOp<linalg::GenericOp>() : linalg::GenericOp();
  if (!generic || !generic.hasPureTensorSemantics() ||
      generic.getNumDpsInputs() != 2 || generic.getNumDpsInits() != 1 ||
      generic.getNumLoops() != 1 || generic.getNumParallelLoops() != 1 ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return std::nullopt;
  Block &body = generic.getRegion().front();
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || &body.front() != add.getOperation())
    return std::nullopt;
  Value a = body.getArgument(0), b = body.getArgument(1);
  if (!((add.getLhs() == a && add.getRhs() == b) ||
        (add.getLhs() == b && add.getRhs() == a)))
    return std::nullopt;
  return std::pair(generic.getDpsInputs()[0], generic.getDpsInputs()[1]);
}

/// A plain linalg.matmul on tensors: lhs [M, K], rhs [K, N].
static linalg::MatmulOp plainMatmul(Value v) {
  auto matmul = v.getDefiningOp<linalg::MatmulOp>();
  if (!matmul || !matmul.hasPureTensorSemantics() ||
      matmul.getIndexingMapsArray() !=
          linalg::MatmulOp::getDefaultIndexingMaps(v.getContext()))
    return nullptr;
  return matmul;
}

/// The projection of the recurrent state `h` that one of `inputs` reads a
/// block of: a plain matmul inside `loop` whose left operand is `h` (the last
/// such input), or null.
static Value recurrentProjection(ValueRange inputs, Operation *loop, Value h) {
  Value projection;
  for (Value in : inputs) {
    SliceBlock b = resolveBlock(in, h.getContext());
    if (auto mm = plainMatmul(b.source);
        mm && loop->isAncestor(mm) && mm.getInputs()[0] == h)
      projection = b.source;
  }
  return projection;
}

/// The [N, K] matrix whose transpose is `rhs` [K, N]: the input of a
/// transposing linalg.transpose, else a new transpose.
static Value untransposed(PatternRewriter &rewriter, Location loc, Value rhs) {
  if (auto transpose = rhs.getDefiningOp<linalg::TransposeOp>())
    if (transpose.getPermutation() == ArrayRef<int64_t>{1, 0})
      return transpose.getInput();
  auto type = cast<RankedTensorType>(rhs.getType());
  Value empty = tensor::EmptyOp::create(
      rewriter, loc, {type.getDimSize(1), type.getDimSize(0)},
      type.getElementType());
  return linalg::TransposeOp::create(rewriter, loc, rhs, empty,
                                     ArrayRef<int64_t>{1, 0})
      .getResult()[0];
}

//===----------------------------------------------------------------------===//
// The gate arithmetic
//===----------------------------------------------------------------------===//

/// Matches the arithmetic of one gate generic (identity maps over [N, H]):
/// leaves are its block arguments, seen as the operands they stand for.
class GateBody {
public:
  explicit GateBody(linalg::GenericOp op) : op(op) {}

  /// Every map an identity, every loop parallel, two loops.
  bool isElementwise() const {
    return op.hasPureTensorSemantics() && op.getNumLoops() == 2 &&
           op.getNumParallelLoops() == 2 &&
           llvm::all_of(op.getIndexingMapsArray(),
                        [](AffineMap m) { return m.isIdentity(); });
  }

  /// The operand `v` stands for when it is a block argument of the body.
  Value operand(Value v) const {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner() != &op.getRegion().front())
      return Value();
    return op->getOperand(arg.getArgNumber());
  }

  Value yielded(unsigned i) const {
    return op.getRegion().front().getTerminator()->getOperand(i);
  }

  /// v = 1 / (1 + exp(-x)): returns x.
  static Value sigmoidOf(Value v) {
    auto div = v.getDefiningOp<arith::DivFOp>();
    if (!div || !matchPattern(div.getLhs(), m_OneFloat()))
      return Value();
    auto add = div.getRhs().getDefiningOp<arith::AddFOp>();
    if (!add)
      return Value();
    for (auto [one, e] : {std::pair(add.getLhs(), add.getRhs()),
                          std::pair(add.getRhs(), add.getLhs())}) {
      if (!matchPattern(one, m_OneFloat()))
        continue;
      auto exp = e.getDefiningOp<math::ExpOp>();
      auto neg = exp ? exp.getOperand().getDefiningOp<arith::NegFOp>()
                     : arith::NegFOp();
      if (neg)
        return neg.getOperand();
    }
    return Value();
  }

  static Value tanhOf(Value v) {
    auto tanh = v.getDefiningOp<math::TanhOp>();
    return tanh ? tanh.getOperand() : Value();
  }

  /// v = a OP b in either order, `match(a, b)` deciding.
  template <typename OpTy>
  static bool binary(Value v, function_ref<bool(Value, Value)> match) {
    auto bin = v.getDefiningOp<OpTy>();
    return bin && (match(bin.getLhs(), bin.getRhs()) ||
                   match(bin.getRhs(), bin.getLhs()));
  }

private:
  mutable linalg::GenericOp op;
};

//===----------------------------------------------------------------------===//
// The loop
//===----------------------------------------------------------------------===//

/// What the match found out about one direction's loop.
struct RecurrentMatch {
  RnnCell cell = RnnCell::lstm;
  bool reverse = false;
  Value input, weights, recurrentWeights, bias, recurrentBias;
  Value initialH, initialC;
  SmallVector<int64_t> gates;
  int64_t hidden = 0;
  /// How many dimensions of `input` after the first make up the batch.
  int64_t batchDims = 1;
  /// GRU without linear_before_reset: the slice of R's z/r rows; R is the
  /// [3H, H] slice from the same offsets.
  tensor::ExtractSliceOp gruRows;
  /// The loop's [T, D, N, H] Y and the direction index in it, if any.
  bool hasY = false;
  OpFoldResult direction;
};

/// Records in `m` the weights and the bias (null for none) of `hr`, a
/// recurrent projection found by recurrentProjection; fails, saying why, when
/// the matmul accumulates into anything but a row bias.
static LogicalResult matchRecurrentWeights(Value hr, RecurrentMatch &m,
                                           const char *&why) {
  linalg::MatmulOp rec = plainMatmul(hr);
  FailureOr<Value> bias = rowBias(rec.getOutputs()[0]);
  if (failed(bias))
    return (why = "recurrent projection accumulates into a non-bias",
            failure());
  m.recurrentBias = *bias;
  m.recurrentWeights = rec.getInputs()[1];
  return success();
}

struct FormRecurrent : public OpRewritePattern<scf::ForOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(scf::ForOp loop,
                                PatternRewriter &rewriter) const override {
    RecurrentMatch m;
    const char *why = "";
    if (failed(match(loop, rewriter, m, why)))
      return rewriter.notifyMatchFailure(loop, why);
    rewrite(loop, rewriter, m);
    return success();
  }

private:
  // State of one match.
  struct Ctx {
    scf::ForOp loop;
    Value iv, t, h, h0, c, y;
    Value xw;           // the input projection (outside the loop)
    OpFoldResult xwRow; // its row offset at step t
    int64_t hidden = 0;
  };

  /// The step index: the induction variable, or ub - 1 - iv.
  static std::optional<bool> isReverse(scf::ForOp loop, Value t) {
    Value iv = loop.getInductionVar();
    if (t == iv)
      return false;
    auto sub = t.getDefiningOp<arith::SubIOp>();
    if (!sub || sub.getRhs() != iv)
      return std::nullopt;
    Value last = sub.getLhs(), ub = loop.getUpperBound();
    std::optional<int64_t> lastC = getConstantIntValue(last),
                           ubC = getConstantIntValue(ub);
    if (lastC && ubC)
      return *lastC == *ubC - 1 ? std::optional<bool>(true) : std::nullopt;
    if (auto prev = last.getDefiningOp<arith::SubIOp>())
      if (prev.getLhs() == ub && matchPattern(prev.getRhs(), m_One()))
        return true;
    if (auto prev = last.getDefiningOp<arith::AddIOp>()) {
      APInt minusOne;
      if (prev.getLhs() == ub &&
          matchPattern(prev.getRhs(), m_ConstantInt(&minusOne)) &&
          minusOne.isAllOnes())
        return true;
    }
    return std::nullopt;
  }

  /// The gate block of the input projection (at step t) or of `proj` (the
  /// recurrent projection, rows from 0) that `operand` is, in units of H.
  static std::optional<int64_t> blockOf(const Ctx &c, Value operand, Value proj,
                                        bool input) {
    if (!operand)
      return std::nullopt;
    auto type = cast<RankedTensorType>(operand.getType());
    if (type.getRank() != 2 || type.getDimSize(1) != c.hidden)
      return std::nullopt;
    SliceBlock b = resolveBlock(operand, operand.getContext());
    if (b.source != (input ? c.xw : proj) || b.col % c.hidden)
      return std::nullopt;
    if (input ? b.row != c.xwRow : !isConstantIntValue(b.row, 0))
      return std::nullopt;
    return b.col / c.hidden;
  }

  /// v = input block k + recurrent block k (either order): returns k.
  static std::optional<int64_t>
  preactivation(const Ctx &c, const GateBody &body, Value v, Value proj) {
    std::optional<int64_t> k;
    GateBody::binary<arith::AddFOp>(v, [&](Value a, Value b) {
      std::optional<int64_t> ka = blockOf(c, body.operand(a), c.xw, true);
      std::optional<int64_t> kb = blockOf(c, body.operand(b), proj, false);
      if (ka && kb && *ka == *kb)
        k = ka;
      return k.has_value();
    });
    return k;
  }

  /// v = hc + z * (h - hc) (commuted adds and muls accepted): the GRU's new
  /// state. Returns hc and z.
  static bool gruUpdate(const GateBody &body, Value v, Value h, Value &hc,
                        Value &z) {
    return GateBody::binary<arith::AddFOp>(v, [&](Value a, Value b) {
      return GateBody::binary<arith::MulFOp>(b, [&](Value p, Value q) {
        auto sub = q.getDefiningOp<arith::SubFOp>();
        if (!sub || sub.getRhs() != a || body.operand(sub.getLhs()) != h)
          return false;
        hc = a;
        z = p;
        return true;
      });
    });
  }

  LogicalResult match(scf::ForOp loop, PatternRewriter &rewriter,
                      RecurrentMatch &m, const char *&why) const {
    why = "not a recurrent loop";
    if (!matchPattern(loop.getLowerBound(), m_Zero()) ||
        !matchPattern(loop.getStep(), m_One()) ||
        loop.getNumRegionIterArgs() < 1 || loop.getNumRegionIterArgs() > 3)
      return failure();
    for (Operation &op : loop.getBody()->without_terminator())
      if (!isMemoryEffectFree(&op))
        return failure();
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
    Ctx c;
    c.loop = loop;
    c.h = loop.getRegionIterArgs()[0];
    c.h0 = loop.getInitArgs()[0];
    auto hType = dyn_cast<RankedTensorType>(c.h.getType());
    if (!hType || hType.getRank() != 2 || !hType.getElementType().isF32() ||
        hType.isDynamicDim(1))
      return failure();
    c.hidden = hType.getDimSize(1);
    int64_t hid = c.hidden;

    // The new h, and where the loop writes it into Y.
    Value hNew = yield.getOperand(0);
    if (auto copy = hNew.getDefiningOp<linalg::CopyOp>();
        copy && copy.hasPureTensorSemantics() && copy.getOutputs()[0] == c.h)
      hNew = copy.getInputs()[0];
    auto lastArg = loop.getRegionIterArgs().back();
    auto yType = dyn_cast<RankedTensorType>(lastArg.getType());
    m.hasY = yType && yType.getRank() == 4;
    unsigned numStates = loop.getNumRegionIterArgs() - (m.hasY ? 1 : 0);
    bool lstm = numStates == 2;
    if (numStates < 1 || numStates > 2)
      return failure();
    if (lstm)
      c.c = loop.getRegionIterArgs()[1];
    Value t;
    if (m.hasY) {
      auto insert =
          yield.getOperands().back().getDefiningOp<tensor::InsertSliceOp>();
      if (!insert || insert.getDest() != lastArg ||
          insert.getSource() != yield.getOperand(0) || !insert.hasUnitStride())
        return failure();
      SmallVector<OpFoldResult> offsets = insert.getMixedOffsets(),
                                sizes = insert.getMixedSizes();
      if (!isConstantIntValue(sizes[0], 1) ||
          !isConstantIntValue(sizes[1], 1) ||
          !isConstantIntValue(offsets[2], 0) ||
          !isConstantIntValue(offsets[3], 0) || !isSizeOf(sizes[3], c.h0, 1) ||
          !isSizeOf(sizes[2], c.h0, 0) || !isa<Value>(offsets[0]))
        return failure();
      t = cast<Value>(offsets[0]);
      m.direction = offsets[1];
      if (!getConstantIntValue(m.direction))
        return failure();
    }

    // The gate generic that computes the new h.
    auto gates = hNew.getDefiningOp<linalg::GenericOp>();
    if (!gates || !GateBody(gates).isElementwise())
      return failure();
    GateBody body(gates);
    unsigned hIndex = cast<OpResult>(hNew).getResultNumber();

    // The input projection: the operand of a gate that is a row block of a
    // matmul defined outside the loop.
    for (Value in : gates.getDpsInputs()) {
      SliceBlock b = resolveBlock(in, getContext());
      if (plainMatmul(b.source) &&
          !loop->isAncestor(b.source.getDefiningOp()) &&
          !isConstantIntValue(b.row, 0)) {
        c.xw = b.source;
        c.xwRow = b.row;
        break;
      }
    }
    // (A sequence of one step reads row 0: then the row check below fails
    // for the induction variable unless it is that constant; leave it.)
    if (!c.xw)
      return (why = "no input projection", failure());
    // Its row offset is t * N.
    Value row = dyn_cast<Value>(c.xwRow);
    Value tFromRow;
    if (auto mul = row ? row.getDefiningOp<arith::MulIOp>() : arith::MulIOp()) {
      for (auto [a, b] : {std::pair(mul.getLhs(), mul.getRhs()),
                          std::pair(mul.getRhs(), mul.getLhs())})
        if (isSizeOf(b, c.h0, 0) && (!t || a == t)) {
          tFromRow = a;
          break;
        }
    } else if (row && hType.getDimSize(0) == 1 && (!t || row == t)) {
      tFromRow = row;
    }
    if (!tFromRow)
      return (why = "input projection rows are not the step's", failure());
    t = tFromRow;
    std::optional<bool> reverse = isReverse(loop, t);
    if (!reverse)
      return (why = "step index is neither i nor T - 1 - i", failure());
    m.reverse = *reverse;

    linalg::MatmulOp inProj = plainMatmul(c.xw);
    auto collapse =
        inProj.getInputs()[0].getDefiningOp<tensor::CollapseShapeOp>();
    // [T, N..., I...] read as [T*N, I]: the source is viewed as [T, N, I]
    // (the [T, D, N, H] output of the layer below, whose unit or
    // bidirectional D joins N or I).
    SmallVector<ReassociationIndices> reassoc;
    if (collapse)
      reassoc = collapse.getReassociationIndices();
    // With a batch of one the canonicalizer folds the unit batch into I:
    // [T, 1, I...] read as [T, I] is [T, N, I] with N = 1.
    bool unitBatch = collapse && reassoc.size() == 2 &&
                     reassoc[0].size() == 1 && reassoc[1].size() >= 2 &&
                     collapse.getSrcType().getDimSize(1) == 1;
    if (!collapse || reassoc.size() != 2 ||
        (reassoc[0].size() < 2 && !unitBatch) || reassoc[0][0] != 0)
      return (why = "input projection does not read [T, N, I]", failure());
    m.input = collapse.getSrc();
    m.batchDims = unitBatch ? 1 : reassoc[0].size() - 1;
    auto srcType = cast<RankedTensorType>(m.input.getType());
    int64_t batchStatic = 1;
    std::optional<int64_t> dynamicBatchDim;
    for (int64_t i = 1; i <= m.batchDims; ++i) {
      if (srcType.isDynamicDim(i)) {
        if (dynamicBatchDim)
          return (why = "more than one dynamic batch dimension", failure());
        dynamicBatchDim = i;
      } else {
        batchStatic *= srcType.getDimSize(i);
      }
    }
    int64_t n0 = cast<ShapedType>(c.h0.getType()).getDimSize(0);
    bool batchOk =
        dynamicBatchDim
            ? batchStatic == 1 && sameDim(c.h0, 0, m.input, *dynamicBatchDim)
            : n0 == batchStatic;
    if (!isSizeOf(getAsOpFoldResult(loop.getUpperBound()), m.input, 0) ||
        !batchOk)
      return (why = "loop does not cover the sequence", failure());
    FailureOr<Value> inBias = rowBias(inProj.getOutputs()[0]);
    if (failed(inBias))
      return (why = "input projection accumulates into a non-bias", failure());
    m.bias = *inBias;

    m.gates.clear();
    if (lstm) {
      if (hIndex != 0 || gates.getNumDpsInits() != 2 ||
          gates.getDpsInits()[1] != c.c ||
          yield.getOperand(1) != gates.getResult(1))
        return failure();
      Value hr = recurrentProjection(gates.getDpsInputs(), loop, c.h);
      if (!hr)
        return (why = "no recurrent projection", failure());
      // c' = sig(f) * c + sig(i) * tanh(g); h' = sig(o) * tanh(c').
      Value cNew = body.yielded(1);
      std::optional<int64_t> ki, kf, kg, ko;
      bool ok = GateBody::binary<arith::AddFOp>(cNew, [&](Value p, Value q) {
        bool forget =
            GateBody::binary<arith::MulFOp>(p, [&](Value s, Value cc) {
              kf = body.operand(cc) == c.c
                       ? preactivation(c, body, GateBody::sigmoidOf(s), hr)
                       : std::nullopt;
              return kf.has_value();
            });
        bool input = GateBody::binary<arith::MulFOp>(q, [&](Value s, Value g) {
          ki = preactivation(c, body, GateBody::sigmoidOf(s), hr);
          kg = preactivation(c, body, GateBody::tanhOf(g), hr);
          return ki && kg;
        });
        return forget && input;
      });
      ok = ok && GateBody::binary<arith::MulFOp>(
                     body.yielded(0), [&](Value s, Value th) {
                       ko = preactivation(c, body, GateBody::sigmoidOf(s), hr);
                       return ko && GateBody::tanhOf(th) == cNew;
                     });
      if (!ok)
        return (why = "gate arithmetic is not an LSTM cell's", failure());
      m.gates = {*ki, *kf, *kg, *ko};
      m.cell = RnnCell::lstm;
      if (failed(matchRecurrentWeights(hr, m, why)))
        return failure();
      m.initialC = loop.getInitArgs()[1];
    } else {
      if (gates.getNumDpsInits() != 1 || gates.getDpsInits()[0] != c.h)
        return failure();
      Value hc, z;
      if (!gruUpdate(body, body.yielded(0), c.h, hc, z))
        return (why = "state update is not a GRU's", failure());
      Value pre = GateBody::tanhOf(hc);
      if (!pre)
        return (why = "no tanh candidate", failure());
      // Linear before reset: tanh(x_h + r * hr_h), hr = h * R^T (+ rb).
      Value xh, rTimesHh;
      GateBody::binary<arith::AddFOp>(pre, [&](Value a, Value b) {
        if (!blockOf(c, body.operand(a), c.xw, true) ||
            !b.getDefiningOp<arith::MulFOp>())
          return false;
        xh = a;
        rTimesHh = b;
        return true;
      });
      std::optional<int64_t> kz, kr, kh;
      if (rTimesHh) {
        Value hr = recurrentProjection(gates.getDpsInputs(), loop, c.h);
        if (!hr)
          return (why = "no recurrent projection", failure());
        kz = preactivation(c, body, GateBody::sigmoidOf(z), hr);
        GateBody::binary<arith::MulFOp>(rTimesHh, [&](Value s, Value hh) {
          kr = preactivation(c, body, GateBody::sigmoidOf(s), hr);
          std::optional<int64_t> kx = blockOf(c, body.operand(xh), c.xw, true);
          std::optional<int64_t> khr = blockOf(c, body.operand(hh), hr, false);
          kh = kx && khr && *kx == *khr ? kx : std::nullopt;
          return kr && kh;
        });
        if (!kz || !kr || !kh)
          return (why = "gate arithmetic is not a GRU cell's", failure());
        m.cell = RnnCell::lbr_gru;
        if (failed(matchRecurrentWeights(hr, m, why)))
          return failure();
      } else {
        // tanh(x_h + hh), hh = (r * h) * Rh^T; z and r * h from a first
        // generic over x_zr + h * Rzr^T.
        Value hhOperand;
        GateBody::binary<arith::AddFOp>(pre, [&](Value a, Value b) {
          if (!blockOf(c, body.operand(a), c.xw, true) ||
              !plainMatmul(body.operand(b)))
            return false;
          xh = a;
          hhOperand = body.operand(b);
          return true;
        });
        auto zResult = dyn_cast_or_null<OpResult>(body.operand(z));
        auto first = zResult ? dyn_cast<linalg::GenericOp>(zResult.getOwner())
                             : linalg::GenericOp();
        if (!hhOperand || !first || !GateBody(first).isElementwise())
          return (why = "gate arithmetic is not a GRU cell's", failure());
        linalg::MatmulOp hhMatmul = plainMatmul(hhOperand);
        auto rhResult = dyn_cast<OpResult>(hhMatmul.getInputs()[0]);
        FailureOr<Value> hhInit = rowBias(hhMatmul.getOutputs()[0]);
        if (!rhResult || rhResult.getOwner() != first.getOperation() ||
            failed(hhInit) || *hhInit)
          return (why = "gate arithmetic is not a GRU cell's", failure());
        GateBody firstBody(first);
        Value hzr = recurrentProjection(first.getDpsInputs(), loop, c.h);
        if (!hzr)
          return (why = "no recurrent projection", failure());
        linalg::MatmulOp zrMatmul = plainMatmul(hzr);
        FailureOr<Value> zrInit = rowBias(zrMatmul.getOutputs()[0]);
        if (failed(zrInit) || *zrInit)
          return (why = "recurrent projection accumulates", failure());
        std::optional<int64_t> kzLocal = preactivation(
            c, firstBody,
            GateBody::sigmoidOf(firstBody.yielded(zResult.getResultNumber())),
            hzr);
        std::optional<int64_t> krLocal;
        GateBody::binary<arith::MulFOp>(
            firstBody.yielded(rhResult.getResultNumber()),
            [&](Value s, Value hv) {
              if (firstBody.operand(hv) != c.h)
                return false;
              krLocal =
                  preactivation(c, firstBody, GateBody::sigmoidOf(s), hzr);
              return krLocal.has_value();
            });
        std::optional<int64_t> kx = blockOf(c, body.operand(xh), c.xw, true);
        if (!kzLocal || !krLocal || !kx)
          return (why = "gate arithmetic is not a GRU cell's", failure());
        // R's z/r rows and its h rows, as slices of one [3H, H] matrix.
        Value rzr = untransposedSlice(zrMatmul.getInputs()[1]);
        Value rh = untransposedSlice(hhMatmul.getInputs()[1]);
        auto zrSlice = rzr ? rzr.getDefiningOp<tensor::ExtractSliceOp>()
                           : tensor::ExtractSliceOp();
        auto hSlice = rh ? rh.getDefiningOp<tensor::ExtractSliceOp>()
                         : tensor::ExtractSliceOp();
        if (!zrSlice || !hSlice ||
            failed(joinGruWeights(zrSlice, hSlice, hid, m)))
          return (why = "recurrent weights are not one matrix", failure());
        // R's blocks are those of its z/r rows (0, 1) and h rows (2); W's
        // must be the same.
        kz = *kzLocal;
        kr = *krLocal;
        kh = *kx;
        if (*kh != 2)
          return (why = "gate blocks of W and R differ", failure());
        m.cell = RnnCell::gru;
      }
      m.gates = {*kz, *kr, *kh};
    }
    if (m.gruRows)
      m.recurrentWeights = Value();
    // Biases added before the input projection (W's and R's, as the importer
    // writes them) go in apart: the runtime adds them into oneDNN's bias,
    // and no generated loop runs for the sum.
    if (m.cell != RnnCell::lbr_gru && !m.recurrentBias)
      if (std::optional<std::pair<Value, Value>> sum = vectorSum(m.bias))
        std::tie(m.bias, m.recurrentBias) = *sum;
    // Every gate reads a different block.
    SmallVector<int64_t> sorted(m.gates);
    llvm::sort(sorted);
    for (auto [i, k] : llvm::enumerate(sorted))
      if (k != static_cast<int64_t>(i))
        return (why = "gates do not read one block each", failure());
    m.initialH = loop.getInitArgs()[0];
    m.weights = inProj.getInputs()[1];
    m.hidden = hid;
    if (cast<ShapedType>(m.weights.getType()).getDimSize(1) !=
            static_cast<int64_t>(m.gates.size()) * hid ||
        (!m.recurrentWeights && !m.gruRows))
      return (why = "projection widths differ from G*H", failure());
    return success();
  }

  /// The [rows, H] slice whose transpose `rhs` is (a linalg.transpose of a
  /// tensor.extract_slice).
  static Value untransposedSlice(Value rhs) {
    auto transpose = rhs.getDefiningOp<linalg::TransposeOp>();
    if (!transpose || transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
      return Value();
    return transpose.getInput();
  }

  /// For a GRU without linear_before_reset: the z/r rows [2H, H] and the h
  /// rows [H, H] of R, when they are adjacent slices of one tensor (zr
  /// first), become one [3H, H] slice of it.
  static LogicalResult joinGruWeights(tensor::ExtractSliceOp zr,
                                      tensor::ExtractSliceOp h, int64_t hid,
                                      RecurrentMatch &m) {
    if (zr.getSource() != h.getSource() || !zr.hasUnitStride() ||
        !h.hasUnitStride())
      return failure();
    auto srcType = zr.getSourceType();
    int64_t rank = srcType.getRank();
    if (rank < 2 || srcType.getDimSize(rank - 1) != hid)
      return failure();
    SmallVector<OpFoldResult> zo = zr.getMixedOffsets(),
                              ho = h.getMixedOffsets(), zs = zr.getMixedSizes(),
                              hs = h.getMixedSizes();
    std::optional<int64_t> zRow = getConstantIntValue(zo[rank - 2]),
                           hRow = getConstantIntValue(ho[rank - 2]);
    if (!zRow || !hRow || *zRow != 0 || *hRow != 2 * hid ||
        !isConstantIntValue(zs[rank - 2], 2 * hid) ||
        !isConstantIntValue(hs[rank - 2], hid))
      return failure();
    for (int64_t i = 0; i < rank; ++i) {
      if (i == rank - 2)
        continue;
      if (zo[i] != ho[i] || zs[i] != hs[i])
        return failure();
    }
    m.gruRows = zr;
    return success();
  }

  void rewrite(scf::ForOp loop, PatternRewriter &rewriter,
               RecurrentMatch &m) const {
    Location loc = loop.getLoc();
    rewriter.setInsertionPoint(loop);
    int64_t rank = cast<ShapedType>(m.input.getType()).getRank();
    if (rank != 3 || m.batchDims != 1) {
      ReassociationIndices batchGroup, features;
      for (int64_t i = 1; i <= m.batchDims; ++i)
        batchGroup.push_back(i);
      for (int64_t i = m.batchDims + 1; i < rank; ++i)
        features.push_back(i);
      m.input = tensor::CollapseShapeOp::create(
          rewriter, loc, m.input,
          SmallVector<ReassociationIndices>{{0}, batchGroup, features});
    }
    int64_t g = static_cast<int64_t>(m.gates.size()), hid = m.hidden;
    Type f32 = rewriter.getF32Type();
    Value weights = untransposed(rewriter, loc, m.weights);
    Value recurrent;
    if (m.gruRows) {
      tensor::ExtractSliceOp zr = m.gruRows;
      int64_t rank = zr.getSourceType().getRank();
      SmallVector<OpFoldResult> sizes = zr.getMixedSizes();
      sizes[rank - 2] = rewriter.getIndexAttr(3 * hid);
      recurrent = tensor::ExtractSliceOp::create(
          rewriter, loc, RankedTensorType::get({3 * hid, hid}, f32),
          zr.getSource(), zr.getMixedOffsets(), sizes, zr.getMixedStrides());
    } else {
      recurrent = untransposed(rewriter, loc, m.recurrentWeights);
    }
    Value bias = m.bias;
    if (!bias) {
      Value empty = tensor::EmptyOp::create(rewriter, loc, {g * hid}, f32);
      Value zero = arith::ConstantOp::create(rewriter, loc,
                                             rewriter.getF32FloatAttr(0.0f));
      bias = linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
    }
    OpFoldResult seq = tensor::getMixedSize(rewriter, loc, m.input, 0);
    OpFoldResult batch = tensor::getMixedSize(rewriter, loc, m.input, 1);
    OpFoldResult hidF = rewriter.getIndexAttr(hid);
    SmallVector<Value> inits = {
        tensor::EmptyOp::create(rewriter, loc, {seq, batch, hidF}, f32),
        tensor::EmptyOp::create(rewriter, loc, {batch, hidF}, f32)};
    if (m.cell == RnnCell::lstm)
      inits.push_back(
          tensor::EmptyOp::create(rewriter, loc, {batch, hidF}, f32));
    auto rnn =
        RnnOp::create(rewriter, loc, ValueRange(inits).getTypes(),
                      RnnCellAttr::get(rewriter.getContext(), m.cell), m.input,
                      weights, recurrent, bias, m.recurrentBias, m.initialH,
                      m.initialC, inits, rewriter.getDenseI64ArrayAttr(m.gates),
                      m.reverse ? rewriter.getUnitAttr() : UnitAttr());
    SmallVector<Value> results = {rnn.getResult()[1]};
    if (m.cell == RnnCell::lstm)
      results.push_back(rnn.getResult()[2]);
    if (m.hasY) {
      // Y[:, d] = y: the loop's Y with this direction's slice replaced.
      Value yIn = loop.getInitArgs().back();
      OpFoldResult zero = rewriter.getIndexAttr(0),
                   one = rewriter.getIndexAttr(1);
      results.push_back(tensor::InsertSliceOp::create(
          rewriter, loc, rnn.getResult()[0], yIn,
          SmallVector<OpFoldResult>{zero, m.direction, zero, zero},
          SmallVector<OpFoldResult>{seq, one, batch, hidF},
          SmallVector<OpFoldResult>(4, one)));
    }
    rewriter.replaceOp(loop, results);
  }
};

/// A lathe.rnn whose input is a [1, 0, 2] transpose of [N, T, I] and whose
/// y only reaches a transpose to batch-major order (through the insertion
/// into a [T, 1, N, H] Y of one direction) reads and writes the batch-major
/// tensors itself (`batch_first`): both copies go.
struct FoldBatchFirstIntoRnn : public OpRewritePattern<RnnOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RnnOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getBatchFirst() || op.hasPureBufferSemantics())
      return failure();
    auto inT = op.getInput().getDefiningOp<linalg::TransposeOp>();
    if (!inT || inT.getPermutation() != ArrayRef<int64_t>{1, 0, 2})
      return rewriter.notifyMatchFailure(op, "input is not transposed");
    Value y = op.getResult()[0];
    if (!y.hasOneUse())
      return rewriter.notifyMatchFailure(op, "y has several uses");
    auto insert = dyn_cast<tensor::InsertSliceOp>(*y.getUsers().begin());
    auto yType = insert ? insert.getDestType() : RankedTensorType();
    if (!insert || insert.getSource() != y || yType.getRank() != 4 ||
        yType.getDimSize(1) != 1 ||
        !insert.getDest().getDefiningOp<tensor::EmptyOp>() ||
        !insert->hasOneUse() ||
        !llvm::all_of(insert.getMixedOffsets(),
                      [](OpFoldResult o) { return isConstantIntValue(o, 0); }))
      return rewriter.notifyMatchFailure(op, "y is not all of a [T, 1, N, H]");
    // Either a rank-4 transpose whose order of T (0), N (2) and H (3) is
    // N, T, H (the unit dimension anywhere), or a collapse of the unit
    // dimension followed by a [1, 0, 2] transpose.
    Operation *user = *insert->getUsers().begin();
    linalg::TransposeOp outT;
    tensor::CollapseShapeOp squeeze;
    int64_t unitPos = -1;
    if ((squeeze = dyn_cast<tensor::CollapseShapeOp>(user))) {
      if (squeeze.getResultType() != y.getType() || !squeeze->hasOneUse())
        return rewriter.notifyMatchFailure(op, "Y is not squeezed");
      outT = dyn_cast<linalg::TransposeOp>(*squeeze->getUsers().begin());
      if (!outT || outT.getPermutation() != ArrayRef<int64_t>{1, 0, 2})
        return rewriter.notifyMatchFailure(op, "Y is not transposed");
    } else {
      outT = dyn_cast<linalg::TransposeOp>(user);
      if (!outT)
        return rewriter.notifyMatchFailure(op, "Y is not transposed");
      SmallVector<int64_t> order;
      for (auto [i, d] : llvm::enumerate(outT.getPermutation())) {
        if (d == 1)
          unitPos = i;
        else
          order.push_back(d);
      }
      if (order != SmallVector<int64_t>{2, 0, 3})
        return rewriter.notifyMatchFailure(op,
                                           "Y is not transposed to [N, T, H]");
    }
    if (!cast<RankedTensorType>(outT.getResult()[0].getType()).hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    Location loc = op.getLoc();
    Value input = inT.getInput();
    OpFoldResult batch = tensor::getMixedSize(rewriter, loc, input, 0);
    OpFoldResult seq = tensor::getMixedSize(rewriter, loc, input, 1);
    int64_t hid =
        cast<ShapedType>(op.getRecurrentWeights().getType()).getDimSize(1);
    SmallVector<Value> inits(op.getInits());
    inits[0] = tensor::EmptyOp::create(rewriter, loc,
                                       {batch, seq, rewriter.getIndexAttr(hid)},
                                       rewriter.getF32Type());
    auto folded = RnnOp::create(
        rewriter, loc, ValueRange(inits).getTypes(), op.getCellAttr(), input,
        op.getWeights(), op.getRecurrentWeights(), op.getBias(),
        op.getRecurrentBias(), op.getInitialH(), op.getInitialC(), inits,
        op.getGatesAttr(), op.getReverseAttr(), rewriter.getUnitAttr());
    Value result = folded.getResult()[0];
    if (!squeeze) {
      // [N, T, H] with the unit dimension where the transpose put it.
      SmallVector<ReassociationIndices> reassoc;
      for (int64_t i = 0; i < 4; ++i)
        if (i != unitPos)
          reassoc.push_back({i});
      if (unitPos == 0)
        reassoc.front().insert(reassoc.front().begin(), 0);
      else
        reassoc[unitPos - 1].push_back(unitPos);
      result = tensor::ExpandShapeOp::create(
          rewriter, loc, cast<RankedTensorType>(outT.getResult()[0].getType()),
          result, reassoc);
    }
    rewriter.replaceOp(outT, result);
    if (squeeze)
      rewriter.eraseOp(squeeze);
    rewriter.eraseOp(insert);
    for (auto [from, to] : llvm::zip(op.getResult().drop_front(),
                                     folded.getResult().drop_front()))
      rewriter.replaceAllUsesWith(from, to);
    rewriter.eraseOp(op);
    return success();
  }
};

struct LatheCPUFormRecurrent
    : public lathe::impl::LatheCPUFormRecurrentBase<LatheCPUFormRecurrent> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFormRecurrentPatterns(patterns);
    unsigned before = 0, after = 0;
    getOperation().walk([&](RnnOp) { ++before; });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    getOperation().walk([&](RnnOp) { ++after; });
    numRnns += after - before;
  }
};

} // namespace

void mlir::lathe::populateFormRecurrentPatterns(RewritePatternSet &patterns) {
  patterns.add<FormRecurrent, FoldBatchFirstIntoRnn>(patterns.getContext());
}
