//===- FormRowKernels.cpp - Row-wise kernels found by what generics compute ===//
//
// A layer norm or a softmax reaches the CPU backend as a handful of
// linalg.generics (sums, maxima, means, exponentials, normalisation),
// spelled in as many ways as there are frontends. Rather than matching one
// spelling, this pattern takes an element-wise generic, collects the generics
// between it and a candidate input row tensor, *interprets* them on sample
// rows in double precision, and checks the result against
//   softmax:    exp(x - max) / sum(exp(x - max))      -> linalg.softmax
//   layer norm: (x - mean) / sqrt(var + eps) * gamma + beta
//                                                     -> lathe.layer_norm
// (eps >= 0 solved for on one sample, checked on the others). What the IR
// computes, not how it is written, decides.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

#include <algorithm>
#include <cmath>
#include <optional>

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// What a tensor holds for one row of the normalised input: a value per
/// column (`Row`: the input and element-wise results), one value (`Scalar`:
/// row statistics) or a per-column parameter shared by all rows (`Column`).
enum class Kind { Row, Scalar, Column };

struct RowValue {
  Kind kind;
  std::vector<double> values; // N entries for Row/Column, 1 for Scalar.
  double at(int64_t j) const {
    return kind == Kind::Scalar ? values[0] : values[j];
  }
};

/// How a generic's operand is indexed relative to its loops.
enum class Access { Full, RowsOnly, LastOnly, Unsupported };

/// The sizes of `shape` other than 1 (unit dimensions carry no data layout:
/// keep-dims reductions and reshapes that add them are the same rows).
static SmallVector<int64_t> nonUnit(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> dims;
  for (int64_t d : shape)
    if (d != 1)
      dims.push_back(d);
  return dims;
}

/// Classifies `map` of an operand of shape `shape` against `loops`, the
/// generic's loops of size other than 1 in order: operand dimensions of size
/// 1 are ignored (whatever they are indexed with), every other one must be
/// indexed by one of those loops. `full` tells whether the loops include the
/// normalised (last) dimension.
static Access classifyMap(AffineMap map, ArrayRef<int64_t> shape,
                          ArrayRef<unsigned> loops, bool full) {
  SmallVector<unsigned> used;
  for (auto [expr, size] : llvm::zip(map.getResults(), shape)) {
    if (size == 1)
      continue;
    auto dim = dyn_cast<AffineDimExpr>(expr);
    if (!dim || !llvm::is_contained(loops, dim.getPosition()))
      return Access::Unsupported;
    used.push_back(dim.getPosition());
  }
  ArrayRef<unsigned> all(loops);
  if (full) {
    if (used == all)
      return Access::Full;
    if (ArrayRef<unsigned>(used) == all.drop_back())
      return Access::RowsOnly;
    if (used.size() == 1 && used[0] == all.back())
      return Access::LastOnly;
  } else if (ArrayRef<unsigned>(used) == all) {
    return Access::RowsOnly;
  }
  return Access::Unsupported;
}

/// Evaluates the scalar body of a generic in double precision. Values
/// defined outside the body must be float constants.
static std::optional<double> evalBody(Block &body, ArrayRef<double> args) {
  llvm::DenseMap<Value, double> env;
  for (auto [arg, v] : llvm::zip(body.getArguments(), args))
    env[arg] = v;
  auto get = [&](Value v) -> std::optional<double> {
    auto it = env.find(v);
    if (it != env.end())
      return it->second;
    FloatAttr attr;
    if (matchPattern(v, m_Constant(&attr)))
      return attr.getValueAsDouble();
    return std::nullopt;
  };
  for (Operation &op : body.without_terminator()) {
    SmallVector<double, 2> in;
    for (Value operand : op.getOperands()) {
      std::optional<double> v = get(operand);
      if (!v)
        return std::nullopt;
      in.push_back(*v);
    }
    if (op.getNumResults() != 1)
      return std::nullopt;
    double r;
    if (isa<arith::ConstantOp>(op)) {
      std::optional<double> v = get(op.getResult(0));
      if (!v)
        return std::nullopt;
      r = *v;
    } else if (isa<arith::AddFOp>(op))
      r = in[0] + in[1];
    else if (isa<arith::SubFOp>(op))
      r = in[0] - in[1];
    else if (isa<arith::MulFOp>(op))
      r = in[0] * in[1];
    else if (isa<arith::DivFOp>(op))
      r = in[0] / in[1];
    else if (isa<arith::NegFOp>(op))
      r = -in[0];
    else if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op))
      r = std::max(in[0], in[1]);
    else if (isa<arith::MinimumFOp, arith::MinNumFOp>(op))
      r = std::min(in[0], in[1]);
    else if (isa<math::ExpOp>(op))
      r = std::exp(in[0]);
    else if (isa<math::SqrtOp>(op))
      r = std::sqrt(in[0]);
    else if (isa<math::RsqrtOp>(op))
      r = 1.0 / std::sqrt(in[0]);
    else if (isa<math::PowFOp>(op))
      r = std::pow(in[0], in[1]);
    else if (isa<arith::ExtFOp>(op))
      r = in[0];
    else if (isa<arith::TruncFOp>(op))
      r = static_cast<float>(in[0]);
    else
      return std::nullopt;
    env[op.getResult(0)] = r;
  }
  return get(body.getTerminator()->getOperand(0));
}

/// `operand` is an init of `generic` whose block argument the body never
/// reads (an element-wise op that overwrites its output).
static bool isUnreadInit(linalg::GenericOp generic, OpOperand &operand) {
  return generic.isDpsInit(&operand) &&
         generic.getMatchingBlockArgument(&operand).use_empty();
}

/// Interprets the generics that compute a value from one input row.
class RowInterpreter {
public:
  RowInterpreter(Value input, unsigned rank, int64_t n)
      : input(input), rank(rank), n(n) {}

  /// Collects the computation of `value`; false if it uses anything the
  /// interpreter cannot model.
  bool collect(Value value, unsigned depth = 0) {
    if (value == input || columns.count(value) || known.count(value))
      return true;
    if (depth > 12)
      return false;
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || !type.getElementType().isF32())
      return false;
    if (auto fill = value.getDefiningOp<linalg::FillOp>()) {
      FloatAttr attr;
      if (!matchPattern(fill.getInputs()[0], m_Constant(&attr)))
        return false;
      known[value] = {Kind::Scalar, {attr.getValueAsDouble()}};
      return true;
    }
    if (value.getDefiningOp<tensor::EmptyOp>()) {
      known[value] = {Kind::Scalar, {NAN}}; // Reading it poisons the row.
      return true;
    }
    // Reshapes that only add or drop unit dimensions keep the same rows.
    Operation *def = value.getDefiningOp();
    if (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def)) {
      Value src = def->getOperand(0);
      auto srcType = dyn_cast<RankedTensorType>(src.getType());
      if (srcType && nonUnit(srcType.getShape()) == nonUnit(type.getShape())) {
        if (!collect(src, depth + 1))
          return false;
        order.insert(def);
        return true;
      }
    }
    auto generic = value.getDefiningOp<linalg::GenericOp>();
    if (!generic) {
      // A per-column parameter: [N], indexed by the last loop only.
      if (type.getRank() == 1 && type.getDimSize(0) == n) {
        columns.insert(value);
        return true;
      }
      return false;
    }
    if (!generic.hasPureTensorSemantics() || generic.getNumDpsInits() != 1 ||
        generic->getNumResults() != 1)
      return false;
    for (OpOperand &operand : generic->getOpOperands()) {
      // An init whose value the body never reads needs no modelling.
      if (isUnreadInit(generic, operand))
        continue;
      if (!collect(operand.get(), depth + 1))
        return false;
    }
    order.insert(generic);
    return true;
  }

  /// Runs the collected generics on `row` with the given column parameters;
  /// returns `value` for the row.
  std::optional<RowValue> run(Value value, ArrayRef<double> row,
                              ArrayRef<std::vector<double>> columnValues) {
    llvm::DenseMap<Value, RowValue> env(known.begin(), known.end());
    env[input] = {Kind::Row, std::vector<double>(row.begin(), row.end())};
    for (auto [col, vals] : llvm::zip(columns, columnValues))
      env[col] = {Kind::Column, vals};
    for (Operation *op : order) {
      if (!isa<linalg::GenericOp>(op)) { // A unit-dim reshape.
        auto it = env.find(op->getOperand(0));
        if (it == env.end())
          return std::nullopt;
        RowValue copy = it->second;
        env[op->getResult(0)] = std::move(copy);
        continue;
      }
      std::optional<RowValue> r =
          runGeneric(cast<linalg::GenericOp>(op), env);
      if (!r)
        return std::nullopt;
      env[op->getResult(0)] = std::move(*r);
    }
    auto it = env.find(value);
    if (it == env.end())
      return std::nullopt;
    return it->second;
  }

  ArrayRef<Value> getColumns() const { return columns.getArrayRef(); }

private:
  std::optional<RowValue> runGeneric(linalg::GenericOp generic,
                                     llvm::DenseMap<Value, RowValue> &env) {
    // The loops that are not of size 1, in order; with the normalised
    // dimension they are `rank` many, without it (row statistics) one fewer.
    SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
    SmallVector<unsigned> loops;
    for (auto [i, range] : llvm::enumerate(ranges))
      if (range != 1)
        loops.push_back(i);
    bool full = loops.size() == rank;
    if (!full && loops.size() + 1 != rank)
      return std::nullopt;
    if (full && ranges[loops.back()] != n)
      return std::nullopt;
    auto iterators = generic.getIteratorTypesArray();
    bool reduction = false;
    for (auto [i, iterator] : llvm::enumerate(iterators)) {
      if (iterator != utils::IteratorType::reduction || ranges[i] == 1)
        continue;
      if (!full || i != loops.back())
        return std::nullopt;
      reduction = true;
    }
    SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
    SmallVector<const RowValue *> operands;
    static const RowValue unread{Kind::Scalar, {NAN}};
    for (auto [opOperand, map] : llvm::zip(generic->getOpOperands(), maps)) {
      Value operand = opOperand.get();
      if (isUnreadInit(generic, opOperand)) {
        operands.push_back(&unread);
        continue;
      }
      auto it = env.find(operand);
      if (it == env.end())
        return std::nullopt;
      auto shape = cast<ShapedType>(operand.getType()).getShape();
      Access access = classifyMap(map, shape, loops, full);
      Kind kind = it->second.kind;
      // A constant-filled tensor is one value whatever its shape.
      bool uniform = kind == Kind::Scalar && known.count(operand);
      bool ok = uniform ||
                (access == Access::Full && kind == Kind::Row) ||
                (access == Access::RowsOnly && kind == Kind::Scalar) ||
                (access == Access::LastOnly && kind == Kind::Column);
      if (!ok)
        return std::nullopt;
      operands.push_back(&it->second);
    }
    Access outAccess =
        classifyMap(maps.back(),
                    cast<ShapedType>(generic->getResult(0).getType()).getShape(),
                    loops, full);
    Block &body = generic.getRegion().front();
    SmallVector<double> args(operands.size());
    if (full && !reduction) {
      if (outAccess != Access::Full)
        return std::nullopt;
      RowValue out{Kind::Row, std::vector<double>(n)};
      for (int64_t j = 0; j < n; ++j) {
        for (size_t i = 0; i < operands.size(); ++i)
          args[i] = operands[i]->at(j);
        std::optional<double> v = evalBody(body, args);
        if (!v)
          return std::nullopt;
        out.values[j] = *v;
      }
      return out;
    }
    if (outAccess != Access::RowsOnly)
      return std::nullopt;
    if (reduction) {
      double acc = operands.back()->at(0);
      for (int64_t j = 0; j < n; ++j) {
        for (size_t i = 0; i + 1 < operands.size(); ++i)
          args[i] = operands[i]->at(j);
        args.back() = acc;
        std::optional<double> v = evalBody(body, args);
        if (!v)
          return std::nullopt;
        acc = *v;
      }
      return RowValue{Kind::Scalar, {acc}};
    }
    // Row statistics only (no normalised dimension).
    for (size_t i = 0; i < operands.size(); ++i) {
      if (operands[i]->kind != Kind::Scalar)
        return std::nullopt;
      args[i] = operands[i]->at(0);
    }
    std::optional<double> v = evalBody(body, args);
    if (!v)
      return std::nullopt;
    return RowValue{Kind::Scalar, {*v}};
  }

  Value input;
  unsigned rank;
  int64_t n;
  llvm::SetVector<Value> columns;
  llvm::DenseMap<Value, RowValue> known;
  llvm::SetVector<Operation *> order; // Generics and unit-dim reshapes.
};

/// Deterministic samples in [-1, 1).
class Samples {
public:
  double next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / static_cast<double>(1ULL << 52) -
           1.0;
  }

private:
  uint64_t state = 0x2545F4914F6CDD1DULL;
};

/// Sample rows with different offsets and spreads (the small spread makes a
/// layer norm's eps matter), run through the interpreted computation.
struct Trial {
  std::vector<double> row;
  std::vector<std::vector<double>> columns;
  std::vector<double> out;
};

static std::optional<std::vector<Trial>>
runTrials(RowInterpreter &interp, Value output, int64_t n) {
  Samples samples;
  const std::pair<double, double> shapes[] = {{0.3, 1.0}, {-1.0, 0.03},
                                              {2.0, 4.0}};
  std::vector<Trial> trials;
  for (auto [offset, spread] : shapes) {
    Trial t;
    for (int64_t j = 0; j < n; ++j)
      t.row.push_back(offset + spread * samples.next());
    for (size_t c = 0; c < interp.getColumns().size(); ++c) {
      std::vector<double> col;
      for (int64_t j = 0; j < n; ++j)
        col.push_back(1.0 + 0.5 * samples.next());
      t.columns.push_back(col);
    }
    std::optional<RowValue> out = interp.run(output, t.row, t.columns);
    if (!out || out->kind != Kind::Row)
      return std::nullopt;
    t.out = out->values;
    trials.push_back(std::move(t));
  }
  return trials;
}

/// The computation is a softmax of the row over the last dimension.
static bool isSoftmax(ArrayRef<Trial> trials) {
  for (const Trial &t : trials) {
    if (!t.columns.empty())
      return false;
    double max = *std::max_element(t.row.begin(), t.row.end()), sum = 0;
    for (double x : t.row)
      sum += std::exp(x - max);
    for (size_t j = 0; j < t.row.size(); ++j) {
      double ref = std::exp(t.row[j] - max) / sum;
      if (!(std::abs(t.out[j] - ref) <= 1e-6 * (std::abs(ref) + 1e-3)))
        return false;
    }
  }
  return true;
}

struct LayerNormMatch {
  Value input;
  std::optional<unsigned> gamma, beta; // Indices into the column params.
  double epsilon;
};

/// Checks the output of the interpreted computation against layer norm on
/// the sample rows; solves eps on the first one.
static std::optional<LayerNormMatch>
checkLayerNorm(ArrayRef<Trial> trials, size_t numColumns, Value input,
               int64_t n) {
  if (numColumns > 2 || n < 2)
    return std::nullopt;
  SmallVector<std::optional<unsigned>> roles = {std::nullopt};
  for (unsigned c = 0; c < numColumns; ++c)
    roles.push_back(c);
  for (std::optional<unsigned> gamma : roles) {
    for (std::optional<unsigned> beta : roles) {
      if (gamma && beta && *gamma == *beta)
        continue;
      if (static_cast<size_t>((gamma ? 1 : 0) + (beta ? 1 : 0)) != numColumns)
        continue;
      auto stats = [&](const Trial &t) {
        double mean = 0, var = 0;
        for (double x : t.row)
          mean += x;
        mean /= n;
        for (double x : t.row)
          var += (x - mean) * (x - mean);
        return std::make_pair(mean, var / n);
      };
      auto g = [&](const Trial &t, int64_t j) {
        return gamma ? t.columns[*gamma][j] : 1.0;
      };
      auto b = [&](const Trial &t, int64_t j) {
        return beta ? t.columns[*beta][j] : 0.0;
      };
      // Solve eps on the second (small-spread) row, at its largest deviation.
      const Trial &t0 = trials[1];
      auto [mean0, var0] = stats(t0);
      int64_t jmax = 0;
      for (int64_t j = 1; j < n; ++j)
        if (std::abs(t0.row[j] - mean0) > std::abs(t0.row[jmax] - mean0))
          jmax = j;
      double scaled = (t0.out[jmax] - b(t0, jmax)) / g(t0, jmax);
      if (scaled == 0 || !std::isfinite(scaled))
        continue;
      double root = (t0.row[jmax] - mean0) / scaled;
      double eps = root * root - var0;
      if (!std::isfinite(eps) || root <= 0 || eps < -1e-9 * var0)
        continue;
      eps = std::max(eps, 0.0);
      bool all = true;
      for (const Trial &t : trials) {
        auto [mean, var] = stats(t);
        double inv = 1.0 / std::sqrt(var + eps);
        for (int64_t j = 0; j < n && all; ++j) {
          double ref = (t.row[j] - mean) * inv * g(t, j) + b(t, j);
          all = std::abs(t.out[j] - ref) <= 1e-6 * (std::abs(ref) + 1.0);
        }
      }
      if (all)
        return LayerNormMatch{input, gamma, beta, eps};
    }
  }
  return std::nullopt;
}

/// An element-wise generic computing a softmax or a layer norm of some row
/// tensor of its backward slice becomes linalg.softmax or lathe.layer_norm.
struct RaiseRowKernel : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
        op->getNumResults() != 1 ||
        op.getNumParallelLoops() != op.getNumLoops())
      return rewriter.notifyMatchFailure(op, "not element-wise");
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!type || !type.getElementType().isF32() || type.getRank() < 2 ||
        ShapedType::isDynamic(type.getShape().back()) ||
        type.getShape().back() == 1 ||
        !op.getIndexingMapsArray().back().isIdentity())
      return rewriter.notifyMatchFailure(op, "not a static f32 row tensor");
    // Unit dimensions do not count: rank is that of the rows without them.
    SmallVector<int64_t> rowShape = nonUnit(type.getShape());
    unsigned rank = rowShape.size();
    int64_t n = type.getShape().back();

    // Candidate inputs: row tensors of the result's type that a reduction in
    // the backward slice reads (the data whose statistics are taken).
    SmallVector<Value> candidates;
    SmallVector<Operation *> worklist = {op};
    llvm::SmallPtrSet<Operation *, 16> seen;
    while (!worklist.empty() && seen.size() < 16) {
      Operation *current = worklist.pop_back_val();
      if (!seen.insert(current).second)
        continue;
      // Statistics may reach the output through unit-dim reshapes.
      if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(current)) {
        if (Operation *def = current->getOperand(0).getDefiningOp())
          worklist.push_back(def);
        continue;
      }
      auto generic = dyn_cast<linalg::GenericOp>(current);
      if (!generic)
        continue;
      bool isReduction = generic.getNumReductionLoops() > 0;
      for (Value operand : generic.getDpsInputs()) {
        // The data itself, or it seen through a reshape that only adds or
        // drops unit dimensions (keep-dims reductions).
        Value data = operand;
        Operation *def = operand.getDefiningOp();
        if (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(
                def) &&
            def->getOperand(0).getType() == type &&
            nonUnit(cast<ShapedType>(operand.getType()).getShape()) ==
                rowShape)
          data = def->getOperand(0);
        if (isReduction && data.getType() == type &&
            !llvm::is_contained(candidates, data))
          candidates.push_back(data);
        if (Operation *def = operand.getDefiningOp())
          worklist.push_back(def);
      }
    }
    for (Value input : candidates) {
      RowInterpreter interp(input, rank, n);
      if (!interp.collect(op->getResult(0)))
        continue;
      std::optional<std::vector<Trial>> trials =
          runTrials(interp, op->getResult(0), n);
      if (!trials)
        continue;
      if (isSoftmax(*trials)) {
        auto softmax = linalg::SoftmaxOp::create(
            rewriter, op.getLoc(), TypeRange{type}, input, op.getDpsInits()[0],
            type.getRank() - 1);
        rewriter.replaceOp(op, softmax->getResults());
        return success();
      }
      std::optional<LayerNormMatch> match =
          checkLayerNorm(*trials, interp.getColumns().size(), input, n);
      if (!match)
        continue;
      ArrayRef<Value> columns = interp.getColumns();
      Value gamma = match->gamma ? columns[*match->gamma] : Value();
      Value beta = match->beta ? columns[*match->beta] : Value();
      auto norm = LayerNormOp::create(
          rewriter, op.getLoc(), TypeRange{type}, input, gamma, beta,
          op.getDpsInits()[0],
          rewriter.getF32FloatAttr(static_cast<float>(match->epsilon)));
      rewriter.replaceOp(op, norm.getResults());
      return success();
    }
    return rewriter.notifyMatchFailure(op, "computes no known row kernel");
  }
};

} // namespace

void mlir::lathe::populateFormRowKernelPatterns(RewritePatternSet &patterns) {
  patterns.add<RaiseRowKernel>(patterns.getContext());
}
